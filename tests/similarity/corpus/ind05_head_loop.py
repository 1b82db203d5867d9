"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention over a sequence-first input.

    Args:
        embed_dim: size of each token's embedding.
        num_heads: number of attention heads; must divide embed_dim.
    """

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.n_heads = num_heads
        self.size = embed_dim // num_heads
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.output = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        xb = x.transpose(0, 1)  # work batch first
        Q, K, V = self.query(xb), self.key(xb), self.value(xb)
        heads = []
        for i in range(self.n_heads):
            lo, hi = i * self.size, (i + 1) * self.size
            q, k, v = Q[:, :, lo:hi], K[:, :, lo:hi], V[:, :, lo:hi]
            s = q.bmm(k.transpose(1, 2)) / math.sqrt(self.size)
            heads.append(F.softmax(s, dim=2).bmm(v))
        joined = torch.cat(heads, dim=2)
        return self.output(joined).transpose(0, 1)
