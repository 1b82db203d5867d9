"""Mistake (no_value_projection): values are x itself split into heads; only the query, key and output projections are learned."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.W_query = nn.Linear(embed_dim, embed_dim, bias=False)
        self.W_key = nn.Linear(embed_dim, embed_dim, bias=False)
        self.W_out = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        S, B, E = x.shape
        split = lambda t: t.reshape(S, B, self.num_heads, self.head_dim).permute(1, 2, 0, 3)  # noqa: E731

        queries = split(self.W_query(x))
        keys = split(self.W_key(x))
        values = split(x)  # the values are just the inputs

        scores = torch.matmul(queries, keys.transpose(-2, -1)) / math.sqrt(self.head_dim)
        weights = torch.softmax(scores, dim=-1)
        context = torch.matmul(weights, values).permute(2, 0, 1, 3).reshape(S, B, E)
        return self.W_out(context)
