"""Mistake (extra_residual_layernorm): returns LayerNorm(x + out_proj(attention)), i.e. a whole post-norm transformer sub-layer instead of just the attention."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.in_proj = nn.Linear(embed_dim, 3 * embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x):
        L, N, E = x.shape
        H, D = self.num_heads, self.head_dim
        q, k, v = self.in_proj(x).chunk(3, dim=-1)
        q = q.reshape(L, N * H, D).transpose(0, 1)
        k = k.reshape(L, N * H, D).transpose(0, 1)
        v = v.reshape(L, N * H, D).transpose(0, 1)

        weights = torch.softmax(torch.bmm(q, k.transpose(1, 2)) / math.sqrt(D), dim=-1)
        ctx = torch.bmm(weights, v).transpose(0, 1).reshape(L, N, E)
        attn_out = self.out_proj(ctx)

        # Add & Norm
        return self.norm(x + attn_out)
