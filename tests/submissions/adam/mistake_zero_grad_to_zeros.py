import torch


class Adam:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params = list(params)
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.state = [None] * len(self.params)

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad.zero_()

    def step(self):
        beta1, beta2 = self.betas
        with torch.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                grad = p.grad
                if self.weight_decay != 0:
                    grad = grad.add(p, alpha=self.weight_decay)
                if self.state[i] is None:
                    self.state[i] = [0, torch.zeros_like(p), torch.zeros_like(p)]
                st = self.state[i]
                st[0] += 1
                st[1].mul_(beta1).add_(grad, alpha=1 - beta1)
                st[2].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                m_hat = st[1] / (1 - beta1 ** st[0])
                v_hat = st[2] / (1 - beta2 ** st[0])
                p.addcdiv_(m_hat, v_hat.sqrt().add_(self.eps), value=-self.lr)
