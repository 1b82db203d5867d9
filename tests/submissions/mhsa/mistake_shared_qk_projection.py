"""Mistake (shared_qk_projection): one nn.Linear is used for both the queries and the keys (separate value and output projections)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.qk = nn.Linear(embed_dim, embed_dim)  # queries and keys live in the same space
        self.v = nn.Linear(embed_dim, embed_dim)
        self.o = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        x = x.permute(1, 0, 2)  # batch-first
        B, T, E = x.shape
        H, D = self.num_heads, self.head_dim

        qk = self.qk(x).view(B, T, H, D).transpose(1, 2)
        q = qk
        k = qk
        v = self.v(x).view(B, T, H, D).transpose(1, 2)

        att = F.softmax(torch.einsum("bhid,bhjd->bhij", q, k) / math.sqrt(D), dim=-1)
        y = torch.einsum("bhij,bhjd->bhid", att, v)
        y = y.transpose(1, 2).reshape(B, T, E)
        return self.o(y).permute(1, 0, 2)
