"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    """Raw matrices and einsum."""

    def __init__(self, embed_dim: int, num_heads: int) -> None:
        super().__init__()

        def weight() -> nn.Parameter:
            return nn.Parameter(torch.randn(embed_dim, embed_dim) / math.sqrt(embed_dim))

        self.heads = num_heads
        self.bq = nn.Parameter(torch.zeros(embed_dim))
        self.bk = nn.Parameter(torch.zeros(embed_dim))
        self.bv = nn.Parameter(torch.zeros(embed_dim))
        self.bo = nn.Parameter(torch.zeros(embed_dim))
        self.Wq, self.Wk, self.Wv, self.Wo = weight(), weight(), weight(), weight()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq, batch, width = x.shape
        dh = width // self.heads
        qs = (x @ self.Wq + self.bq).view(seq, batch * self.heads, dh)
        ks = (x @ self.Wk + self.bk).view(seq, batch * self.heads, dh)
        vs = (x @ self.Wv + self.bv).view(seq, batch * self.heads, dh)
        logits = torch.einsum("ijd,tjd->jit", qs, ks) / math.sqrt(dh)
        p = logits.softmax(dim=-1)
        y = torch.einsum("jit,tjd->ijd", p, vs).reshape(seq, batch, width)
        return y @ self.Wo + self.bo
