"""Correct: applies nn.Dropout(p=0.1) to the attention weights (identity in eval mode, so deterministic under .eval())."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, dropout=0.1):
        super().__init__()
        assert embed_dim % num_heads == 0
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads

        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        self.attn_dropout = nn.Dropout(p=dropout)

    def forward(self, x):
        L, N, E = x.shape

        def shape(t):
            return t.view(L, N, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

        q = shape(self.q_proj(x))
        k = shape(self.k_proj(x))
        v = shape(self.v_proj(x))

        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        probs = torch.softmax(scores, dim=-1)
        probs = self.attn_dropout(probs)  # regularisation, only active in train mode

        ctx = torch.matmul(probs, v).permute(2, 0, 1, 3).reshape(L, N, E)
        return self.out_proj(ctx)
