"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
import math

import torch
import torch.nn as nn


def transpose_qkv(X, num_heads):
    X = X.reshape(X.shape[0], X.shape[1], num_heads, -1)
    # move the head axis next to the batch axis
    X = X.permute(0, 2, 1, 3)
    # and fold it into the batch so bmm sees independent heads
    return X.reshape(-1, X.shape[2], X.shape[3])


def transpose_output(X, num_heads):
    """Undo transpose_qkv: unfold the heads and concatenate them on the feature axis."""
    X = X.reshape(-1, num_heads, X.shape[1], X.shape[2])
    X = X.permute(0, 2, 1, 3)
    return X.reshape(X.shape[0], X.shape[1], -1)


class DotProductAttention(nn.Module):
    """Scaled dot-product attention (the scale is 1/sqrt(d) as in Vaswani et al.)."""

    def forward(self, queries, keys, values):
        d = queries.shape[-1]
        scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(d)
        # keep the weights around for plotting later
        self.attention_weights = nn.functional.softmax(scores, dim=-1)
        return torch.bmm(self.attention_weights, values)


class MultiHeadSelfAttention(nn.Module):
    """My multi-head attention. Input is (seq, batch, embed)."""

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.attention = DotProductAttention()
        # lazy layers infer the input size on the first call
        self.W_q = nn.LazyLinear(embed_dim)
        self.W_k = nn.LazyLinear(embed_dim)
        self.W_v = nn.LazyLinear(embed_dim)
        self.W_o = nn.LazyLinear(embed_dim)

    def forward(self, x):
        X = x.permute(1, 0, 2)  # I prefer batch first
        queries = transpose_qkv(self.W_q(X), self.num_heads)
        keys = transpose_qkv(self.W_k(X), self.num_heads)
        values = transpose_qkv(self.W_v(X), self.num_heads)
        output = self.attention(queries, keys, values)
        output_concat = transpose_output(output, self.num_heads)
        # back to sequence first
        return self.W_o(output_concat).permute(1, 0, 2)
