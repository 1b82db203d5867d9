"""Mistake (builtin_attention): q/k/v/out Linear layers, but the attention itself is F.scaled_dot_product_attention (numerically right)."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
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

        out = F.scaled_dot_product_attention(q, k, v)  # (N, H, L, D)
        out = out.permute(2, 0, 1, 3).reshape(L, N, E)
        return self.out_proj(out)
