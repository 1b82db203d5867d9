"""Correct: separate q/k/v/out nn.Linear(E, E) layers with bias."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        assert embed_dim % num_heads == 0, "embed_dim must be divisible by num_heads"
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads

        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def _split_heads(self, t):
        # (L, N, E) -> (N, H, L, D)
        L, N, _ = t.shape
        return t.view(L, N, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

    def forward(self, x):
        # x: (seq_len, batch, embed_dim)
        L, N, E = x.shape
        q = self._split_heads(self.q_proj(x))
        k = self._split_heads(self.k_proj(x))
        v = self._split_heads(self.v_proj(x))

        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        attn = torch.softmax(scores, dim=-1)  # over keys
        out = torch.matmul(attn, v)  # (N, H, L, D)

        out = out.permute(2, 0, 1, 3).reshape(L, N, E)
        return self.out_proj(out)
