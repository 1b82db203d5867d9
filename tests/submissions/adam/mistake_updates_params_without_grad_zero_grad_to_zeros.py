import torch


class Adam:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params = list(params)
        self.lr = lr
        self.b1, self.b2 = betas
        self.eps = eps
        self.wd = weight_decay
        self.state = []
        for p in self.params:
            self.state.append({"step": 0, "m": torch.zeros_like(p), "v": torch.zeros_like(p)})

    def zero_grad(self):
        for p in self.params:
            p.grad = torch.zeros_like(p)

    @torch.no_grad()
    def step(self):
        for p, s in zip(self.params, self.state):
            grad = torch.zeros_like(p) if p.grad is None else p.grad
            grad = grad + self.wd * p
            s["step"] += 1
            s["m"] = self.b1 * s["m"] + (1 - self.b1) * grad
            s["v"] = self.b2 * s["v"] + (1 - self.b2) * grad * grad
            m_hat = s["m"] / (1 - self.b1 ** s["step"])
            v_hat = s["v"] / (1 - self.b2 ** s["step"])
            p.copy_(p - self.lr * m_hat / (v_hat.sqrt() + self.eps))
