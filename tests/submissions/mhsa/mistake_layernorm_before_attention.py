"""Mistake (layernorm_before_attention): normalises x with an nn.LayerNorm(embed_dim) before the Q/K/V projections (pre-norm), with no residual."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        assert embed_dim % num_heads == 0
        self.heads = num_heads
        self.head_size = embed_dim // num_heads
        self.ln = nn.LayerNorm(embed_dim)
        self.to_query = nn.Linear(embed_dim, embed_dim)
        self.to_key = nn.Linear(embed_dim, embed_dim)
        self.to_value = nn.Linear(embed_dim, embed_dim)
        self.to_output = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        seq, batch, dim = x.shape
        h = self.ln(x)  # pre-norm for stable training

        def heads(t):
            return t.view(seq, batch, self.heads, self.head_size).permute(1, 2, 0, 3)

        q, k, v = heads(self.to_query(h)), heads(self.to_key(h)), heads(self.to_value(h))
        a = F.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size), dim=-1)
        o = torch.matmul(a, v).permute(2, 0, 1, 3).reshape(seq, batch, dim)
        return self.to_output(o)
