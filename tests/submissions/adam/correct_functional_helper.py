import torch


def _adam_update(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    if weight_decay:
        grad = grad + weight_decay * param
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    new_param = param - lr * m_hat / (v_hat.sqrt() + eps)
    return new_param, m, v


class Adam:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params = list(params)
        self.hyper = {"lr": float(lr), "beta1": float(betas[0]), "beta2": float(betas[1]),
                      "eps": float(eps), "weight_decay": float(weight_decay)}
        n = len(self.params)
        self.m = [None] * n
        self.v = [None] * n
        self.t = [0] * n

    def step(self):
        for k, p in enumerate(self.params):
            if p.grad is None:
                continue
            if self.m[k] is None:
                self.m[k] = torch.zeros_like(p, dtype=torch.float64)
                self.v[k] = torch.zeros_like(p, dtype=torch.float64)
            self.t[k] += 1
            with torch.no_grad():
                new_p, self.m[k], self.v[k] = _adam_update(
                    p.detach().double(), p.grad.detach().double(), self.m[k], self.v[k],
                    self.t[k], **self.hyper,
                )
                p.copy_(new_p.to(p.dtype))

    def zero_grad(self):
        for p in self.params:
            p.grad = None
