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
        self.E = embed_dim
        self.H = num_heads
        self.fq = nn.Linear(embed_dim, embed_dim)
        self.fk = nn.Linear(embed_dim, embed_dim)
        self.fv = nn.Linear(embed_dim, embed_dim)
        self.fo = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        per_item = []
        for i in range(x.shape[1]):
            sample = x[:, i, :]
            width = self.E // self.H
            pieces = []
            for hh in range(self.H):
                cols = slice(hh * width, (hh + 1) * width)
                q = self.fq(sample)[:, cols]
                k = self.fk(sample)[:, cols]
                v = self.fv(sample)[:, cols]
                a = F.softmax(q @ k.t() / math.sqrt(width), dim=1)
                pieces.append(a @ v)
            per_item.append(self.fo(torch.cat(pieces, dim=1)))
        return torch.stack(per_item, dim=1)
