"""Correct: Linear layers named query/key/value/combine, declared in the unusual order combine, value, query, key."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        # I like to declare the output layer first, then the inputs
        self.combine = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        L, B, E = x.shape
        H, D = self.num_heads, self.head_dim

        def to_heads(t):
            # (L, B, E) -> (B, H, L, D)
            return t.reshape(L, B, H, D).transpose(0, 1).transpose(1, 2)

        q = to_heads(self.query(x))
        k = to_heads(self.key(x))
        v = to_heads(self.value(x))

        w = torch.softmax(q.matmul(k.transpose(-1, -2)) / math.sqrt(D), dim=-1)
        heads = w.matmul(v)  # (B, H, L, D)

        merged = heads.transpose(1, 2).transpose(0, 1).reshape(L, B, E)
        return self.combine(merged)
