"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class MultiHeadSelfAttention(nn.Module):
    # my implementation, worked on it all weekend

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        # projections first
        self.value = nn.Linear(embed_dim, embed_dim)
        self.query = nn.Linear(embed_dim, embed_dim)
        self.output = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        # then the sizes
        self.size = embed_dim // num_heads
        self.n_heads = num_heads

    def forward(self, x):
        # batch goes first for bmm
        xb = x.transpose(0, 1)
        Q, K, V = self.query(xb), self.key(xb), self.value(xb)
        heads = []
        # one head at a time
        for i in range(self.n_heads):
            lo, hi = i * self.size, (i + 1) * self.size
            q, k, v = Q[:, :, lo:hi], K[:, :, lo:hi], V[:, :, lo:hi]
            s = q.bmm(k.transpose(1, 2)) / math.sqrt(self.size)  # scaled scores
            heads.append(F.softmax(s, dim=2).bmm(v))
        joined = torch.cat(heads, dim=2)  # glue the heads together
        return self.output(joined).transpose(0, 1)
