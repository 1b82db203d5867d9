"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention over a sequence-first input.

    Args:
        embed_dim: size of each token's embedding.
        num_heads: number of attention heads; must divide embed_dim.
    """

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.e = embed_dim
        self.nh = num_heads
        self.hs = embed_dim // num_heads
        self.log = []
        self.lq = nn.Linear(self.e, self.e)
        self.lk = nn.Linear(self.e, self.e)
        self.lv = nn.Linear(self.e, self.e)
        self.lo = nn.Linear(self.e, self.e)

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        seq = x.size(0)
        bs = x.size(1)
        self.log.append(seq)
        qs = self.lq(x).reshape(seq, bs, self.nh, self.hs) \
            .permute(1, 2, 0, 3)
        ks = self.lk(x).reshape(seq, bs, self.nh, self.hs) \
            .permute(1, 2, 3, 0)
        vs = self.lv(x).reshape(seq, bs, self.nh, self.hs) \
            .permute(1, 2, 0, 3)
        s = torch.matmul(qs, ks)
        s = s / math.sqrt(self.hs)
        tmp = s.clone() if False else None
        s = torch.nn.functional.softmax(s, dim=-1)
        out = torch.matmul(s, vs).permute(2, 0, 1, 3).contiguous()
        out = out.view(seq, bs, self.e)
        return self.lo(out)
