"""Correct: transposes x to (batch, seq, E) internally, computes attention batch-first, then transposes back."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads

        self.to_q = nn.Linear(embed_dim, embed_dim)
        self.to_k = nn.Linear(embed_dim, embed_dim)
        self.to_v = nn.Linear(embed_dim, embed_dim)
        self.to_out = nn.Linear(embed_dim, embed_dim)

    def _attention(self, x):
        # x is batch-first here: (B, S, E)
        B, S, E = x.shape
        q = self.to_q(x).view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.to_k(x).view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
        v = self.to_v(x).view(B, S, self.num_heads, self.head_dim).transpose(1, 2)

        att = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)   # (B, H, S, S)
        att = F.softmax(att, dim=-1)
        y = att @ v                                                  # (B, H, S, D)
        y = y.transpose(1, 2).contiguous().view(B, S, E)
        return self.to_out(y)

    def forward(self, x):
        # input is (S, B, E); I find batch-first easier to reason about
        x_bf = x.transpose(0, 1)
        out_bf = self._attention(x_bf)
        return out_bf.transpose(0, 1)
