"""Mistake (heads_merged_by_reshape): attn @ v of shape (batch, heads, seq, head_dim) is reshaped straight to (batch, seq, embed) without moving the head axis next to head_dim first, so heads and positions get scrambled."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.n_head = num_heads
        self.d_head = embed_dim // num_heads
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        T, B, C = x.shape
        xb = x.transpose(0, 1)  # (B, T, C)

        q = self.query(xb).view(B, T, self.n_head, self.d_head).transpose(1, 2)
        k = self.key(xb).view(B, T, self.n_head, self.d_head).transpose(1, 2)
        v = self.value(xb).view(B, T, self.n_head, self.d_head).transpose(1, 2)

        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.d_head), dim=-1)
        y = att @ v  # (B, nh, T, hs)
        y = y.reshape(B, T, C)  # concatenate the heads
        return self.proj(y).transpose(0, 1)
