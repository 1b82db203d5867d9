"""Correct: one fused qkv Linear whose output is viewed head by head as (seq, batch, heads, 3, head_dim)."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        seq, batch, embed = x.shape
        qkv = self.qkv(x).view(seq, batch, self.num_heads, 3, self.head_dim)
        q, k, v = qkv.unbind(dim=3)  # each (seq, batch, heads, head_dim)
        q, k, v = (t.permute(1, 2, 0, 3) for t in (q, k, v))
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.head_dim), dim=-1)
        out = (weights @ v).permute(2, 0, 1, 3).reshape(seq, batch, embed)
        return self.proj(out)
