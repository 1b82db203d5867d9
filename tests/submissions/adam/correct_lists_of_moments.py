import math

import torch


class Adam(object):

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        params = list(params)
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= betas[0] < 1.0 or not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid betas: {betas}")
        self.params = params
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay

        self.exp_avgs = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in params]
        self.exp_avg_sqs = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in params]
        self.steps = [0 for _ in params]

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad = None

    def step(self):
        beta1, beta2 = self.betas
        with torch.no_grad():
            for idx in range(len(self.params)):
                param = self.params[idx]
                grad = param.grad
                if grad is None:
                    continue

                if self.weight_decay:
                    grad = grad.add(param, alpha=self.weight_decay)

                self.steps[idx] += 1
                n = self.steps[idx]

                exp_avg = self.exp_avgs[idx]
                exp_avg_sq = self.exp_avg_sqs[idx]
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).add_(grad.square(), alpha=1 - beta2)

                bc1 = 1 - beta1 ** n
                bc2 = 1 - beta2 ** n

                denom = (exp_avg_sq / bc2).sqrt().add_(self.eps)
                param.add_(exp_avg / bc1 / denom, alpha=-self.lr)
