"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    """Self-attention with several heads; x is (seq, batch, embed)."""

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        assert embed_dim % num_heads == 0, 'heads must divide the embedding'
        self.nh = num_heads
        self.factor = (embed_dim // num_heads) ** -0.5
        self.packed = nn.Linear(
            embed_dim,
            3 * embed_dim,
        )
        self.final = nn.Linear(
            embed_dim,
            embed_dim,
        )

    def forward(self, inp):
        L, N, D = inp.shape
        triple = self.packed(inp).reshape(
            L, N, 3, self.nh, D // self.nh
        )
        triple = triple.permute(
            2, 1, 3, 0, 4
        )
        a, b, c = triple[0], triple[1], triple[2]
        w = (a @ b.transpose(-1, -2)) * self.factor
        w = w.softmax(dim=-1)
        res = w @ c
        res = res.permute(2, 0, 1, 3).reshape(L, N, D)
        return self.final(res)
