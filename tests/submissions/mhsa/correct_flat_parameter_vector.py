"""Correct, but every weight lives in one flat parameter vector sliced in forward: no binding can read it."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.e = embed_dim
        self.h = num_heads
        self.flat = nn.Parameter(torch.randn(4 * embed_dim * embed_dim + 4 * embed_dim) * 0.05)

    def _linear(self, x, index):
        e = self.e
        start = index * (e * e + e)
        weight = self.flat[start:start + e * e].view(e, e)
        bias = self.flat[start + e * e:start + e * e + e]
        return x @ weight.T + bias

    def forward(self, x):
        seq, batch, e = x.shape
        d = e // self.h

        def split(t):
            return t.reshape(seq, batch * self.h, d).transpose(0, 1)

        q, k, v = (split(self._linear(x, i)) for i in range(3))
        weights = torch.softmax(torch.bmm(q, k.transpose(1, 2)) / math.sqrt(d), dim=-1)
        out = torch.bmm(weights, v).transpose(0, 1).reshape(seq, batch, e)
        return self._linear(out, 3)
