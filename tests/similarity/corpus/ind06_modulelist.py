"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
import math

import torch
import torch.nn as nn


class Head(nn.Module):
    """One attention head with its own projections."""

    def __init__(self, embed_dim, head_size):
        super().__init__()
        self.to_q = nn.Linear(embed_dim, head_size, bias=False)
        self.to_k = nn.Linear(embed_dim, head_size, bias=False)
        self.to_v = nn.Linear(embed_dim, head_size, bias=False)
        self.head_size = head_size

    def forward(self, x):
        # x: (batch, seq, embed)
        q = self.to_q(x)
        k = self.to_k(x)
        att = q @ k.transpose(-2, -1) / math.sqrt(self.head_size)
        att = torch.softmax(att, dim=-1)
        return att @ self.to_v(x)


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention over a sequence-first input.

    Args:
        embed_dim: size of each token's embedding.
        num_heads: number of attention heads; must divide embed_dim.
    """

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        head_size = embed_dim // num_heads
        self.heads = nn.ModuleList([Head(embed_dim, head_size) for _ in range(num_heads)])
        self.proj = nn.Linear(head_size * num_heads, embed_dim)

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        x = x.permute(1, 0, 2)
        y = torch.cat([h(x) for h in self.heads], dim=-1)
        y = self.proj(y)
        return y.permute(1, 0, 2)
