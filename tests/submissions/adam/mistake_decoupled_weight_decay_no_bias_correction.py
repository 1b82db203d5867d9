import torch


class Adam:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params = list(params)
        self.lr = lr
        self.beta1 = betas[0]
        self.beta2 = betas[1]
        self.eps = eps
        self.weight_decay = weight_decay
        self.m = {}
        self.v = {}

    def step(self):
        with torch.no_grad():
            for idx, p in enumerate(self.params):
                if p.grad is None:
                    continue
                if idx not in self.m:
                    self.m[idx] = torch.zeros_like(p)
                    self.v[idx] = torch.zeros_like(p)
                g = p.grad
                self.m[idx] = self.beta1 * self.m[idx] + (1 - self.beta1) * g
                self.v[idx] = self.beta2 * self.v[idx] + (1 - self.beta2) * g.pow(2)
                update = self.m[idx] / (self.v[idx].sqrt() + self.eps)
                p.sub_(self.lr * (update + self.weight_decay * p))

    def zero_grad(self):
        for p in self.params:
            p.grad = None
