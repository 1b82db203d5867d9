"""Broken (compile_error): SyntaxError on line 24 (missing closing parenthesis in the k projection line)."""
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
        H, D = self.num_heads, self.head_dim

        q = self.q_proj(x).view(L, N, H, D).permute(1, 2, 0, 3)
        k = self.k_proj(x.view(L, N, H, D).permute(1, 2, 0, 3)
        v = self.v_proj(x).view(L, N, H, D).permute(1, 2, 0, 3)

        attn = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(D), dim=-1)
        out = (attn @ v).permute(2, 0, 1, 3).reshape(L, N, E)
        return self.out_proj(out)
