"""Mistake (single_head_copied): computes ONE head of size head_dim (q/k/v Linear(E, head_dim)) and concatenates num_heads copies of it."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q = nn.Linear(embed_dim, self.head_dim)
        self.k = nn.Linear(embed_dim, self.head_dim)
        self.v = nn.Linear(embed_dim, self.head_dim)
        self.o = nn.Linear(embed_dim, embed_dim)

    def attention_head(self, x):
        # x: (L, N, E) -> (L, N, head_dim)
        q = self.q(x).transpose(0, 1)  # (N, L, D)
        k = self.k(x).transpose(0, 1)
        v = self.v(x).transpose(0, 1)
        w = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(self.head_dim), dim=-1)
        return (w @ v).transpose(0, 1)

    def forward(self, x):
        head = self.attention_head(x)
        heads = [head for _ in range(self.num_heads)]
        return self.o(torch.cat(heads, dim=-1))
