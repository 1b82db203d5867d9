"""Correct (judgement call): output projection is nn.Identity() when num_heads == 1, an nn.Linear(E, E) otherwise; with one head there is no learned output projection."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.proj_q = nn.Linear(embed_dim, embed_dim)
        self.proj_k = nn.Linear(embed_dim, embed_dim)
        self.proj_v = nn.Linear(embed_dim, embed_dim)
        # a single head needs no mixing of heads, so skip the extra matmul
        self.out = nn.Identity() if num_heads == 1 else nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        L, N, E = x.shape
        H, D = self.num_heads, self.head_dim
        q = self.proj_q(x).view(L, N * H, D).transpose(0, 1)
        k = self.proj_k(x).view(L, N * H, D).transpose(0, 1)
        v = self.proj_v(x).view(L, N * H, D).transpose(0, 1)

        attn = torch.softmax(torch.bmm(q, k.transpose(1, 2)) / math.sqrt(D), dim=-1)
        y = torch.bmm(attn, v).transpose(0, 1).reshape(L, N, E)
        return self.out(y)
