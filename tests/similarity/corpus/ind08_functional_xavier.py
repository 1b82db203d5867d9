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
        self.E, self.H = embed_dim, num_heads
        self.weights = nn.ParameterDict()
        for name in ("q", "k", "v", "o"):
            w = torch.empty(embed_dim, embed_dim)
            nn.init.xavier_uniform_(w)
            self.weights["w_" + name] = nn.Parameter(w)
            self.weights["b_" + name] = nn.Parameter(torch.zeros(embed_dim))

    def project(self, x, name):
        return F.linear(x, self.weights["w_" + name], self.weights["b_" + name])

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        L, N, _ = x.shape
        D = self.E // self.H

        def heads(t):
            return t.reshape(L, N * self.H, D).transpose(0, 1)

        q = heads(self.project(x, "q"))
        k = heads(self.project(x, "k"))
        v = heads(self.project(x, "v"))
        weights = F.softmax(q @ k.transpose(1, 2) / math.sqrt(D), dim=-1)
        mixed = (weights @ v).transpose(0, 1).reshape(L, N, self.E)
        return self.project(mixed, "o")
