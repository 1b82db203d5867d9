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
        self.nh = num_heads
        self.hd = embed_dim // num_heads
        self.wq = nn.Linear(embed_dim, embed_dim, bias=True)
        self.wk = nn.Linear(embed_dim, embed_dim, bias=True)
        self.wv = nn.Linear(embed_dim, embed_dim, bias=True)
        self.wo = nn.Linear(embed_dim, embed_dim, bias=True)

    def _fold(self, t, seq, bsz):
        # (seq, bsz, embed) -> (bsz * heads, seq, head_dim), fairseq style
        return t.contiguous().view(seq, bsz * self.nh, self.hd).transpose(0, 1)

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        seq, bsz, emb = x.size()
        q = self._fold(self.wq(x), seq, bsz) * (1.0 / math.sqrt(self.hd))
        k = self._fold(self.wk(x), seq, bsz)
        v = self._fold(self.wv(x), seq, bsz)
        w = torch.bmm(q, k.transpose(1, 2))
        w = torch.softmax(w, dim=-1)
        o = torch.bmm(w, v)
        o = o.transpose(0, 1).contiguous().view(seq, bsz, emb)
        return self.wo(o)
