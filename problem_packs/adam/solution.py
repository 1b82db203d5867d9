"""The reference solution, written as a submission; MISTAKES switches on catalogued mistakes for the self-test."""

import torch

MISTAKES: frozenset[str] = frozenset()


class Adam:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params = list(params)
        self.lr, self.eps, self.weight_decay = lr, eps, weight_decay
        self.beta1, self.beta2 = (betas[1], betas[0]) if "betas_swapped" in MISTAKES else betas
        self.state = [{"step": 0, "m": torch.zeros_like(p), "v": torch.zeros_like(p)} for p in self.params]

    @torch.no_grad()
    def step(self):
        for param, state in zip(self.params, self.state):
            grad = param.grad
            if grad is None:
                if "updates_params_without_grad" not in MISTAKES:
                    continue
                grad = torch.zeros_like(param)
            if self.weight_decay and not {"decoupled_weight_decay", "weight_decay_ignored"} & MISTAKES:
                grad = grad + self.weight_decay * param
            if self.weight_decay and "decoupled_weight_decay" in MISTAKES:
                param.mul_(1 - self.lr * self.weight_decay)
            state["step"] += 1
            state["m"].mul_(self.beta1).add_(grad, alpha=1 - self.beta1)
            state["v"].mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
            m_hat, v_hat = state["m"], state["v"]
            if "no_bias_correction" not in MISTAKES:
                m_hat = m_hat / (1 - self.beta1 ** state["step"])
                v_hat = v_hat / (1 - self.beta2 ** state["step"])
            if "eps_inside_sqrt" in MISTAKES:
                denominator = (v_hat + self.eps).sqrt()
            else:
                denominator = v_hat.sqrt() + self.eps
            param.sub_(self.lr * m_hat / denominator)

    def zero_grad(self):
        for param in self.params:
            if "zero_grad_to_zeros" in MISTAKES:
                if param.grad is not None:
                    param.grad.zero_()
            else:
                param.grad = None
