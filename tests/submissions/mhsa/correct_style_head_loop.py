"""Correct: full Q/K/V projections, then a Python loop over heads taking column slices, per-head batched attention, torch.cat of the heads, output Linear."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super(MultiHeadSelfAttention, self).__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.Wq = nn.Linear(embed_dim, embed_dim)
        self.Wk = nn.Linear(embed_dim, embed_dim)
        self.Wv = nn.Linear(embed_dim, embed_dim)
        self.Wo = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        # project once for all heads, batch-first for the matmuls
        Q = self.Wq(x).transpose(0, 1)  # (batch, seq, embed)
        K = self.Wk(x).transpose(0, 1)
        V = self.Wv(x).transpose(0, 1)

        head_outputs = []
        for i in range(self.num_heads):
            cols = slice(i * self.head_dim, (i + 1) * self.head_dim)
            q_i, k_i, v_i = Q[..., cols], K[..., cols], V[..., cols]
            scores = torch.bmm(q_i, k_i.transpose(1, 2)) / math.sqrt(self.head_dim)
            probs = F.softmax(scores, dim=-1)
            head_outputs.append(torch.bmm(probs, v_i))  # (batch, seq, head_dim)

        concat = torch.cat(head_outputs, dim=-1)  # (batch, seq, embed)
        return self.Wo(concat).transpose(0, 1)
