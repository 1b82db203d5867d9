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
        assert embed_dim % num_heads == 0
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.depth = embed_dim // num_heads
        self.linear_q = nn.Linear(embed_dim, embed_dim)
        self.linear_k = nn.Linear(embed_dim, embed_dim)
        self.linear_v = nn.Linear(embed_dim, embed_dim)
        self.dense = nn.Linear(embed_dim, embed_dim)

    def split_heads(self, t):
        """(batch, seq, embed) -> (batch, heads, seq, depth)"""
        batch_size = t.shape[0]
        t = t.reshape(batch_size, -1, self.num_heads, self.depth)
        return t.transpose(1, 2)

    def merge_heads(self, t):
        """(batch, heads, seq, depth) -> (batch, seq, embed)"""
        batch_size = t.shape[0]
        return t.transpose(1, 2).reshape(batch_size, -1, self.embed_dim)

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        inputs = x.transpose(0, 1)
        q = self.split_heads(self.linear_q(inputs))
        k = self.split_heads(self.linear_k(inputs))
        v = self.split_heads(self.linear_v(inputs))
        matmul_qk = torch.matmul(q, k.transpose(-1, -2))
        scaled = matmul_qk / math.sqrt(self.depth)
        attention_weights = F.softmax(scaled, dim=-1)
        output = torch.matmul(attention_weights, v)
        output = self.dense(self.merge_heads(output))
        return output.transpose(0, 1)
