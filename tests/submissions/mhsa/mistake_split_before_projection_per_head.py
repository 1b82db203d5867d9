"""Mistake (split_before_projection): raw x is split into heads first, then a separate Linear(head_dim, head_dim) per head (nn.ModuleList) for q/k/v."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        d = self.head_dim
        self.q_heads = nn.ModuleList([nn.Linear(d, d) for _ in range(num_heads)])
        self.k_heads = nn.ModuleList([nn.Linear(d, d) for _ in range(num_heads)])
        self.v_heads = nn.ModuleList([nn.Linear(d, d) for _ in range(num_heads)])
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        L, N, E = x.shape
        chunks = x.split(self.head_dim, dim=-1)  # H tensors of (L, N, D)

        head_outputs = []
        for h, xh in enumerate(chunks):
            q = self.q_heads[h](xh).transpose(0, 1)  # (N, L, D)
            k = self.k_heads[h](xh).transpose(0, 1)
            v = self.v_heads[h](xh).transpose(0, 1)
            scores = torch.bmm(q, k.transpose(1, 2)) / math.sqrt(self.head_dim)
            attn = torch.softmax(scores, dim=-1)
            head_outputs.append(torch.bmm(attn, v).transpose(0, 1))  # (L, N, D)

        concat = torch.cat(head_outputs, dim=-1)
        return self.out_proj(concat)
