"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention over a sequence-first input.

    Args:
        embed_dim: size of each token's embedding.
        num_heads: number of attention heads; must divide embed_dim.
    """

    def __init__(self, embed_dim: int, num_heads: int) -> None:
        """Create the four projections."""
        super().__init__()
        self.heads: int = num_heads
        self.size: int = embed_dim // num_heads
        self.query: nn.Linear = nn.Linear(embed_dim, embed_dim, bias=True)
        self.key: nn.Linear = nn.Linear(embed_dim, embed_dim, bias=True)
        self.value: nn.Linear = nn.Linear(embed_dim, embed_dim, bias=True)
        self.out: nn.Linear = nn.Linear(embed_dim, embed_dim, bias=True)

    def _fold(self, t: Tensor, seq: int, bsz: int) -> Tensor:
        """Reshape a projection so that each head is its own batch entry."""
        return t.contiguous().view(seq, bsz * self.heads, self.size).transpose(0, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        seq: int
        bsz: int
        emb: int
        seq, bsz, emb = x.size()
        q: Tensor = self._fold(self.query(x), seq, bsz) * (1.0 / math.sqrt(self.size))
        k: Tensor = self._fold(self.key(x), seq, bsz)
        v: Tensor = self._fold(self.value(x), seq, bsz)
        w: Tensor = torch.bmm(q, k.transpose(1, 2))
        w = torch.softmax(w, dim=-1)
        o: Tensor = torch.bmm(w, v)
        o = o.transpose(0, 1).contiguous().view(seq, bsz, emb)
        return self.out(o)
