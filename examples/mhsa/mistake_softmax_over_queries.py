"""Mistake (softmax_over_queries): softmax taken over dim -2 (the query axis) of the (..., q, k) scores."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.out = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        seq_len, batch, embed_dim = x.shape
        H, D = self.num_heads, self.head_dim

        q = self.query(x).reshape(seq_len, batch, H, D).permute(1, 2, 0, 3)
        k = self.key(x).reshape(seq_len, batch, H, D).permute(1, 2, 0, 3)
        v = self.value(x).reshape(seq_len, batch, H, D).permute(1, 2, 0, 3)

        scores = q @ k.transpose(-2, -1) / math.sqrt(D)   # (batch, H, q, k)
        attn = F.softmax(scores, dim=-2)
        ctx = attn @ v

        ctx = ctx.permute(2, 0, 1, 3).reshape(seq_len, batch, embed_dim)
        return self.out(ctx)
