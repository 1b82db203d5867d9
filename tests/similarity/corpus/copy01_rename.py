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
        if embed_dim % num_heads != 0:
            raise ValueError("embed_dim must be divisible by num_heads")
        self.width = embed_dim
        self.n_heads = num_heads
        self.d_head = embed_dim // num_heads
        self.query_map = nn.Linear(embed_dim, embed_dim)
        self.key_map = nn.Linear(embed_dim, embed_dim)
        self.value_map = nn.Linear(embed_dim, embed_dim)
        self.final_map = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        length, bsz, _ = x.shape
        queries = self.query_map(x).view(length, bsz, self.n_heads, self.d_head)
        keys = self.key_map(x).view(length, bsz, self.n_heads, self.d_head)
        vals = self.value_map(x).view(length, bsz, self.n_heads, self.d_head)
        # (seq, batch, heads, dim) -> (batch, heads, seq, dim)
        queries = queries.permute(1, 2, 0, 3)
        keys = keys.permute(1, 2, 0, 3)
        vals = vals.permute(1, 2, 0, 3)
        logits = torch.matmul(queries, keys.transpose(-2, -1)) / math.sqrt(self.d_head)
        probs = F.softmax(logits, dim=-1)
        mixed = torch.matmul(probs, vals)
        mixed = mixed.permute(2, 0, 1, 3).reshape(length, bsz, self.width)
        return self.final_map(mixed)
