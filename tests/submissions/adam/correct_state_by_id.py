import torch


class Adam:
    """Adam optimiser (Kingma & Ba, 2015) with optional L2 penalty."""

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0):
        self.params = [p for p in params]
        self.lr = lr
        self.betas = tuple(betas)
        self.eps = eps
        self.wd = weight_decay
        self._state = {}

    def _get_state(self, p):
        key = id(p)
        st = self._state.get(key)
        if st is None:
            st = {"step": 0, "exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)}
            self._state[key] = st
        return st

    def step(self):
        b1, b2 = self.betas
        for p in self.params:
            if p.grad is None:
                continue
            with torch.no_grad():
                grad = p.grad.detach()
                if self.wd:
                    grad = grad + self.wd * p.detach()
                st = self._get_state(p)
                st["step"] += 1
                k = st["step"]
                st["exp_avg"] = b1 * st["exp_avg"] + (1.0 - b1) * grad
                st["exp_avg_sq"] = b2 * st["exp_avg_sq"] + (1.0 - b2) * grad.pow(2)
                mhat = st["exp_avg"] / (1.0 - b1 ** k)
                vhat = st["exp_avg_sq"] / (1.0 - b2 ** k)
                new_p = p - self.lr * mhat / (vhat.sqrt() + self.eps)
                p.copy_(new_p)

    def zero_grad(self):
        for p in self.params:
            p.grad = None
