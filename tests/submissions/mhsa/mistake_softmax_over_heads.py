"""Mistake (softmax_over_heads): softmax normalises over the head dimension of the (batch, H, q, k) scores."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.o_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        L, B, E = x.shape
        q = self.q_proj(x).view(L, B, self.num_heads, self.head_dim).permute(1, 2, 0, 3)
        k = self.k_proj(x).view(L, B, self.num_heads, self.head_dim).permute(1, 2, 0, 3)
        v = self.v_proj(x).view(L, B, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        weights = torch.softmax(scores, dim=1)  # normalise the attention
        heads = torch.matmul(weights, v)

        heads = heads.permute(2, 0, 1, 3).reshape(L, B, E)
        return self.o_proj(heads)
