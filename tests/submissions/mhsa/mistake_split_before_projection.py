"""Mistake (split_before_projection): raw x is split into heads first, then ONE shared Linear(head_dim, head_dim) per q/k/v is applied to every head."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        # projections work on a single head's slice (shared by all heads)
        self.q_proj = nn.Linear(self.head_dim, self.head_dim)
        self.k_proj = nn.Linear(self.head_dim, self.head_dim)
        self.v_proj = nn.Linear(self.head_dim, self.head_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        L, N, E = x.shape
        # split the input into heads first: (L, N, H, D)
        xh = x.view(L, N, self.num_heads, self.head_dim)

        q = self.q_proj(xh).permute(1, 2, 0, 3)  # (N, H, L, D)
        k = self.k_proj(xh).permute(1, 2, 0, 3)
        v = self.v_proj(xh).permute(1, 2, 0, 3)

        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        attn = torch.softmax(scores, dim=-1)
        out = torch.matmul(attn, v)

        out = out.permute(2, 0, 1, 3).reshape(L, N, E)
        return self.out_proj(out)
