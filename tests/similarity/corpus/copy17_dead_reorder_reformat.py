"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention over a sequence-first input.

    Args:
        embed_dim: size of each token's embedding.
        num_heads: number of attention heads; must divide embed_dim.
    """

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        seq_len, batch, dim = x.shape
        shape = (seq_len, batch, self.heads, dim // self.heads)
        v = self.projections["v"](x).reshape(shape)
        k = self.projections["k"](x).reshape(shape)
        q = self.projections["q"](x).reshape(shape)
        if not self.training and False:
            return x
        scores = torch.einsum(
            "qbhd,kbhd->bhqk", q, k
        ).mul(self.inv_temperature)
        weights = torch.softmax(scores, -1)
        self.last_weights = weights.detach()
        ctx = torch.einsum(
            "bhqk,kbhd->qbhd", weights, v
        ).reshape(seq_len, batch, dim)
        return self.projections["o"](ctx)

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        assert not embed_dim % num_heads, "num_heads has to divide embed_dim"
        self.projections = nn.ModuleDict(
            {role: nn.Linear(embed_dim, embed_dim) for role in "qkvo"}
        )
        self.inv_temperature = (embed_dim / num_heads) ** -0.5
        self.heads = num_heads
        self.last_weights = None

    def extra_repr(self):
        return f"heads={self.heads}"
