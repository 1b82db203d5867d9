"""Mistake (output shape): attention is computed correctly, but the output is returned batch-first, shape (batch, seq, E)."""
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
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        L, N, E = x.shape
        x = x.transpose(0, 1)  # (N, L, E)
        q = self.q_proj(x).view(N, L, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(N, L, self.num_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(N, L, self.num_heads, self.head_dim).transpose(1, 2)

        attn = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.head_dim), dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(N, L, E)
        return self.out_proj(out)  # (batch, seq, embed)
