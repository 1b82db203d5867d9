"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention over a sequence-first input.

    Args:
        embed_dim: size of each token's embedding.
        num_heads: number of attention heads; must divide embed_dim.
    """

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads

        def matrix():
            return nn.Parameter(torch.randn(embed_dim, embed_dim) / math.sqrt(embed_dim))

        self.A_q, self.A_k, self.A_v, self.A_o = matrix(), matrix(), matrix(), matrix()
        self.c_q = nn.Parameter(torch.zeros(embed_dim))
        self.c_k = nn.Parameter(torch.zeros(embed_dim))
        self.c_v = nn.Parameter(torch.zeros(embed_dim))
        self.c_o = nn.Parameter(torch.zeros(embed_dim))

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        n, b, e = x.shape
        hs = e // self.num_heads
        queries = (x @ self.A_q + self.c_q).view(n, b * self.num_heads, hs)
        keys = (x @ self.A_k + self.c_k).view(n, b * self.num_heads, hs)
        values = (x @ self.A_v + self.c_v).view(n, b * self.num_heads, hs)
        # scores[j, i, t] for stream j, query i, key t
        scores = torch.einsum("ijd,tjd->jit", queries, keys) / math.sqrt(hs)
        probs = scores.softmax(dim=-1)
        mixed = torch.einsum("jit,tjd->ijd", probs, values).reshape(n, b, e)
        return mixed @ self.A_o + self.c_o
