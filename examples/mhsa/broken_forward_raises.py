"""Broken (runtime_error): forward calls torch.bmm on 4-D (batch, H, seq, head_dim) tensors, which always raises a RuntimeError."""
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
        q = self.q_proj(x).view(L, N, self.num_heads, self.head_dim).permute(1, 2, 0, 3)
        k = self.k_proj(x).view(L, N, self.num_heads, self.head_dim).permute(1, 2, 0, 3)
        v = self.v_proj(x).view(L, N, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

        # batched matmul over (batch, heads)
        scores = torch.bmm(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        attn = torch.softmax(scores, dim=-1)
        out = torch.bmm(attn, v)
        out = out.permute(2, 0, 1, 3).reshape(L, N, E)
        return self.out_proj(out)
