"""Correct output, but forward scales its input tensor in place afterwards (when it needs no gradient)."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        seq, batch, embed = x.shape
        d = embed // self.num_heads

        def heads(t):
            return t.view(seq, batch, self.num_heads, d).permute(1, 2, 0, 3)

        q, k, v = heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x))
        attn = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1)
        out = self.out_proj((attn @ v).permute(2, 0, 1, 3).reshape(seq, batch, embed))
        if not x.requires_grad:
            x.mul_(0.5)  # "re-scale the residual stream" -- a side effect on the caller's tensor
        return out
