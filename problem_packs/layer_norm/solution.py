"""The reference solution, written as a submission; MISTAKES switches on catalogued mistakes for the self-test."""

import torch
from torch import nn

MISTAKES: frozenset[str] = frozenset()


class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.eps = eps
        fill = torch.zeros if "bad_init" in MISTAKES else torch.ones
        self.weight = nn.Parameter(fill(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))

    def forward(self, x):
        axis = 0 if "wrong_axis" in MISTAKES else -1
        mean = x.mean(dim=axis, keepdim=True)
        var = x.var(dim=axis, unbiased="unbiased_variance" in MISTAKES, keepdim=True)
        if "eps_missing" in MISTAKES:
            denominator = torch.sqrt(var)
        elif "eps_outside_sqrt" in MISTAKES:
            denominator = torch.sqrt(var) + self.eps
        else:
            denominator = torch.sqrt(var + self.eps)
        normalised = (x - mean) / denominator
        if "no_affine" in MISTAKES:
            return normalised
        return normalised * self.weight + self.bias
