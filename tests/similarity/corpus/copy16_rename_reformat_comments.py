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
        hd = embed_dim // num_heads
        if hd * num_heads != embed_dim:
            raise ValueError(f'cannot split {embed_dim} into {num_heads} heads')
        self.n_heads, self.hd = num_heads, hd
        limit = 1 / math.sqrt(embed_dim)
        self.P_query = nn.Parameter(
            torch.empty(embed_dim, num_heads, hd).uniform_(-limit, limit))
        self.P_key = nn.Parameter(
            torch.empty(embed_dim, num_heads, hd).uniform_(-limit, limit))
        self.P_value = nn.Parameter(
            torch.empty(embed_dim, num_heads, hd).uniform_(-limit, limit))
        self.P_out = nn.Parameter(
            torch.empty(num_heads, hd, embed_dim).uniform_(-limit, limit))
        self.bias_out = nn.Parameter(torch.zeros(embed_dim))

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        # project every position into each head's subspace directly with einsum
        q = torch.einsum('sbe,ehd->bhsd', x, self.P_query)
        k = torch.einsum('sbe,ehd->bhsd', x, self.P_key)
        v = torch.einsum('sbe,ehd->bhsd', x, self.P_value)
        # similarity of every query with every key
        sim = torch.einsum('bhsd,bhtd->bhst',
                           q, k) / math.sqrt(self.hd)
        att = torch.softmax(sim, dim=3)
        z = torch.einsum('bhst,bhtd->sbhd', att, v)
        return torch.einsum('sbhd,hde->sbe', z, self.P_out) + self.bias_out
