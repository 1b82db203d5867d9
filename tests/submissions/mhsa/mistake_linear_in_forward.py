"""Mistake (nondeterministic): the nn.Linear layers are created inside forward, so every call uses fresh random weights and the module has no parameters."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads

    def forward(self, x):
        L, N, E = x.shape
        q_proj = nn.Linear(E, E)
        k_proj = nn.Linear(E, E)
        v_proj = nn.Linear(E, E)
        out_proj = nn.Linear(E, E)

        q = q_proj(x).view(L, N, self.num_heads, self.head_dim).permute(1, 2, 0, 3)
        k = k_proj(x).view(L, N, self.num_heads, self.head_dim).permute(1, 2, 0, 3)
        v = v_proj(x).view(L, N, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

        attn = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.head_dim), dim=-1)
        out = (attn @ v).permute(2, 0, 1, 3).reshape(L, N, E)
        return out_proj(out)
