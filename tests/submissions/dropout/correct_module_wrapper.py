import torch
from torch import nn


class InvertedDropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if p < 0 or p >= 1:
            raise ValueError("p must lie in [0, 1)")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        mask = torch.empty_like(x).bernoulli_(1 - self.p)
        return mask * x * (1.0 / (1 - self.p))

    def extra_repr(self):
        return f"p={self.p}"


def dropout(x, p, training=True):
    layer = InvertedDropout(p)
    layer.train(training)
    return layer(x)
