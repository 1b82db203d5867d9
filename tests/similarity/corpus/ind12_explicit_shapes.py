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
        self.emb = embed_dim
        self.heads = num_heads
        self.per_head = embed_dim // num_heads
        self.query_layer = nn.Linear(self.emb, self.emb)
        self.key_layer = nn.Linear(self.emb, self.emb)
        self.value_layer = nn.Linear(self.emb, self.emb)
        self.final_layer = nn.Linear(self.emb, self.emb)

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        length = x.size(0)
        batch_size = x.size(1)
        # to (batch, heads, length, per_head)
        queries = self.query_layer(x).reshape(length, batch_size, self.heads, self.per_head).permute(1, 2, 0, 3)
        keys = self.key_layer(x).reshape(length, batch_size, self.heads, self.per_head).permute(1, 2, 3, 0)
        values = self.value_layer(x).reshape(length, batch_size, self.heads, self.per_head).permute(1, 2, 0, 3)
        dot = torch.matmul(queries, keys)  # keys already transposed
        dot = dot / math.sqrt(self.per_head)
        dot = torch.nn.functional.softmax(dot, dim=-1)
        result = torch.matmul(dot, values).permute(2, 0, 1, 3).contiguous()
        result = result.view(length, batch_size, self.emb)
        return self.final_layer(result)
