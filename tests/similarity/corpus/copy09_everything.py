"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
import math
import torch
import torch.nn as nn


class AttentionHead(nn.Module):
    """A single head."""

    def __init__(self, d_model, d_head):
        super().__init__()
        self.d_head = d_head
        self.wq = nn.Linear(d_model, d_head, bias=False)
        self.wk = nn.Linear(d_model, d_head, bias=False)
        self.wv = nn.Linear(d_model, d_head, bias=False)

    def forward(self, h):
        queries = self.wq(h)
        keys = self.wk(h)
        weights = queries @ keys.transpose(-2, -1) / math.sqrt(self.d_head)
        weights = torch.softmax(weights, dim=-1)
        debug = False
        if debug:
            print(weights.shape)
        return weights @ self.wv(h)


class MultiHeadSelfAttention(nn.Module):
    """Heads in a ModuleList, concatenated and projected."""

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        d_head = embed_dim // num_heads
        self.all_heads = nn.ModuleList([AttentionHead(embed_dim, d_head) for _ in range(num_heads)])
        self.mix = nn.Linear(d_head * num_heads, embed_dim)

    def forward(self, x):
        x = x.permute(1, 0, 2)  # to (batch, seq, embed)
        z = torch.cat([head(x) for head in self.all_heads], dim=-1)
        z = self.mix(z)
        return z.permute(1, 0, 2)
