"""Mistake (softmax_over_batch): softmax over dim 0, the batch dimension of the (batch, H, q, k) scores."""
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
        seq, bsz, E = x.shape

        def heads(t):
            return t.reshape(seq, bsz, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

        q, k, v = heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x))
        attn = torch.einsum("bhid,bhjd->bhij", q, k) / math.sqrt(self.head_dim)
        attn = attn.softmax(0)
        out = torch.einsum("bhij,bhjd->bhid", attn, v)
        out = out.permute(2, 0, 1, 3).reshape(seq, bsz, E)
        return self.out_proj(out)
