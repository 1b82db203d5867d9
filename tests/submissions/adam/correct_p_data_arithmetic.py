import torch


class Adam:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params = list(params)
        self.lr = lr
        self.b1 = betas[0]
        self.b2 = betas[1]
        self.eps = eps
        self.weight_decay = weight_decay
        self.m = {}
        self.v = {}
        self.t = {}

    def step(self):
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad.data
            if self.weight_decay > 0:
                g = g + self.weight_decay * p.data

            if i not in self.t:
                self.t[i] = 0
                self.m[i] = torch.zeros_like(p.data)
                self.v[i] = torch.zeros_like(p.data)

            self.t[i] = self.t[i] + 1
            self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * g
            self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * (g ** 2)

            m_hat = self.m[i] / (1 - self.b1 ** self.t[i])
            v_hat = self.v[i] / (1 - self.b2 ** self.t[i])

            p.data = p.data - self.lr * m_hat / (v_hat ** 0.5 + self.eps)

    def zero_grad(self):
        for p in self.params:
            p.grad = None
