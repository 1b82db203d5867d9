"""The reference written as a submission; the self-test switches MISTAKES on to synthesise each mistake."""

import torch
from torch import nn

MISTAKES: frozenset[str] = frozenset()


class Affine(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(features))
        self.bias = nn.Parameter(torch.zeros(features))

    def forward(self, x):
        scaled = x * self.weight
        return scaled if "no_bias" in MISTAKES else scaled + self.bias
