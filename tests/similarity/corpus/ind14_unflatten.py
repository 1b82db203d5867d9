"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
import math

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
        self.to_qkv = nn.Linear(embed_dim, embed_dim * 3, bias=True)
        self.to_out = nn.Sequential(nn.Linear(embed_dim, embed_dim))

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        head_dim = x.shape[-1] // self.num_heads
        # (S, B, 3E) -> (3, B, H, S, Dh)
        qkv = self.to_qkv(x).unflatten(-1, (3, self.num_heads, head_dim)).permute(2, 1, 3, 0, 4)
        q, k, v = qkv.unbind(0)
        sim = q.matmul(k.transpose(-1, -2)).div(math.sqrt(head_dim))
        out = sim.softmax(dim=-1).matmul(v)
        out = out.permute(2, 0, 1, 3).flatten(start_dim=2)
        return self.to_out(out)
