import torch


class Adam:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params = list(params)
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.state = {}

    def step(self):
        b1, b2 = self.betas
        with torch.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                g = p.grad + self.weight_decay * p if self.weight_decay else p.grad
                if i not in self.state:
                    self.state[i] = (0, torch.zeros_like(p), torch.zeros_like(p))
                t, m, v = self.state[i]
                t += 1
                m = b1 * m + (1 - b1) * g
                v = b2 * v + (1 - b2) * g ** 2
                self.state[i] = (t, m, v)
                m_hat = m / (1 - b1 ** t)
                v_hat = v / (1 - b2 ** t)
                p.sub_(self.lr * m_hat / torch.sqrt(v_hat + self.eps))

    def zero_grad(self):
        for p in self.params:
            p.grad = None
