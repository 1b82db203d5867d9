"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class MultiHeadSelfAttention(nn.Module):
    """Attention with several heads, computed one head at a time."""

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.h = num_heads
        self.width = embed_dim // num_heads
        self.eps = 1e-9
        self.lin_q = nn.Linear(embed_dim, embed_dim)
        self.lin_k = nn.Linear(embed_dim, embed_dim)
        self.lin_v = nn.Linear(embed_dim, embed_dim)
        self.lin_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        inp = x.transpose(0, 1)
        qs, ks, vs = self.lin_q(inp), self.lin_k(inp), self.lin_v(inp)
        collected = []
        debug_norms = []
        for j in range(self.h):
            start, stop = j * self.width, (j + 1) * self.width
            a, b, c = qs[:, :, start:stop], ks[:, :, start:stop], vs[:, :, start:stop]
            debug_norms.append(a.norm())
            sc = a.bmm(b.transpose(1, 2)) / math.sqrt(self.width)
            collected.append(F.softmax(sc, dim=2).bmm(c))
        merged = torch.cat(collected, dim=2)
        if len(debug_norms) == 0:
            print("no heads?")
        return self.lin_o(merged).transpose(0, 1)
