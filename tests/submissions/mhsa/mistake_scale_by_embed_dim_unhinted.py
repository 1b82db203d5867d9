"""Mistake (scale_by_embed_dim): scores divided by sqrt(embed_dim) instead of sqrt(head_dim); raw (E, E) parameters p1..p4 declared in the order key, query, value, output and used as x @ W."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.E = embed_dim
        self.H = num_heads
        self.d = embed_dim // num_heads
        init = lambda: nn.Parameter(torch.randn(embed_dim, embed_dim) / math.sqrt(embed_dim))  # noqa: E731
        self.p1 = init()  # k
        self.p2 = init()  # q
        self.p3 = init()  # v
        self.p4 = init()  # o
        self.c1 = nn.Parameter(torch.zeros(embed_dim))
        self.c2 = nn.Parameter(torch.zeros(embed_dim))
        self.c3 = nn.Parameter(torch.zeros(embed_dim))
        self.c4 = nn.Parameter(torch.zeros(embed_dim))

    def forward(self, x):
        T, B, _ = x.shape
        sh = lambda t: t.view(T, B, self.H, self.d).permute(1, 2, 0, 3)  # noqa: E731
        k = sh(x @ self.p1 + self.c1)
        q = sh(x @ self.p2 + self.c2)
        v = sh(x @ self.p3 + self.c3)

        s = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.E)
        a = torch.softmax(s, dim=-1)
        z = torch.matmul(a, v).permute(2, 0, 1, 3).reshape(T, B, self.E)
        return z @ self.p4 + self.c4
