"""Correct: cross-attention-style module (separate to_q Linear(E, E) and a fused to_kv Linear(E, 2E) chunked in 2) used as self-attention when no context is passed."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def default(val, d):
    return val if val is not None else d


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.dim_head = embed_dim // num_heads
        self.to_q = nn.Linear(embed_dim, embed_dim)
        self.to_kv = nn.Linear(embed_dim, 2 * embed_dim)
        self.to_out = nn.Linear(embed_dim, embed_dim)

    def _heads(self, t):
        # (len, batch, h*d) -> (batch, h, len, d)
        length, batch, _ = t.shape
        return t.view(length, batch, self.num_heads, self.dim_head).permute(1, 2, 0, 3)

    def forward(self, x, context=None):
        # self-attention unless a separate context sequence is given
        context = default(context, x)

        q = self._heads(self.to_q(x))
        k, v = self.to_kv(context).chunk(2, dim=-1)
        k, v = self._heads(k), self._heads(v)

        sim = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dim_head)
        attn = F.softmax(sim, dim=-1)
        out = torch.matmul(attn, v)  # (batch, h, len_q, d)

        len_q, batch = x.shape[0], x.shape[1]
        out = out.permute(2, 0, 1, 3).reshape(len_q, batch, self.num_heads * self.dim_head)
        return self.to_out(out)
