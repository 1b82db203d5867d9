"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
from __future__ import annotations

import math

import torch.nn as nn
from torch import Tensor


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention over a sequence-first input.

    Args:
        embed_dim: size of each token's embedding.
        num_heads: number of attention heads; must divide embed_dim.
    """

    def __init__(self, embed_dim: int, num_heads: int) -> None:
        super().__init__()
        self.n_head: int = num_heads
        self.c_attn = nn.Linear(embed_dim, 3 * embed_dim)
        self.c_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x: Tensor) -> Tensor:
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        seq, batch, width = x.shape
        parts = self.c_attn(x).split(width, dim=2)
        q, k, v = [p.reshape(seq, batch, self.n_head, -1).permute(1, 2, 0, 3) for p in parts]
        d = q.size(-1)
        logits = q @ k.mT / math.sqrt(d)
        y = logits.softmax(-1) @ v
        y = y.permute(2, 0, 1, 3).flatten(2)
        return self.c_proj(y)
