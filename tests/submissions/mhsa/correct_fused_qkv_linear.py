"""Correct: one fused nn.Linear(E, 3E) for q, k, v (chunked in q, k, v order) plus an output Linear."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        assert dim % heads == 0
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = self.head_dim ** -0.5

        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        S, B, C = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)

        # -> (B, heads, S, head_dim)
        def heads_first(t):
            return t.reshape(S, B, self.heads, self.head_dim).permute(1, 2, 0, 3)

        q, k, v = heads_first(q), heads_first(k), heads_first(v)

        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)

        y = attn @ v                                   # (B, heads, S, head_dim)
        y = y.permute(2, 0, 1, 3).reshape(S, B, C)     # back to (S, B, C)
        return self.proj(y)
