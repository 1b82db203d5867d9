import math

import torch


class Adam:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params = list(params)
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.state = [{} for _ in self.params]

    @torch.no_grad()
    def step(self):
        beta1, beta2 = self.betas
        for p, st in zip(self.params, self.state):
            if p.grad is None:
                continue
            if not st:
                st["step"] = 0
                st["exp_avg"] = torch.zeros_like(p)
                st["exp_avg_sq"] = torch.zeros_like(p)
            st["step"] += 1
            step = st["step"]

            if self.weight_decay != 0:
                p.mul_(1 - self.lr * self.weight_decay)

            grad = p.grad
            st["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
            st["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

            bc1 = 1 - beta1 ** step
            bc2 = 1 - beta2 ** step
            denom = (st["exp_avg_sq"].sqrt() / math.sqrt(bc2)).add_(self.eps)
            p.addcdiv_(st["exp_avg"], denom, value=-self.lr / bc1)

    def zero_grad(self):
        for p in self.params:
            p.grad = None
