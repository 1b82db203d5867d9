"""The reference written as a submission; the self-test switches MISTAKES on to synthesise each mistake."""

import torch

MISTAKES: frozenset[str] = frozenset()


class SGD:
    def __init__(self, params, lr=0.1):
        self.params = list(params)
        self.lr = -lr if "ascent" in MISTAKES else lr

    @torch.no_grad()
    def step(self):
        for param in self.params:
            if param.grad is not None:
                param.sub_(self.lr * param.grad)

    def zero_grad(self):
        for param in self.params:
            param.grad = None
