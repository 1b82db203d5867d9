"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
import math

import torch
import torch.nn as nn

DEBUG = False


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
        self.dropout_p = 0.0
        self.wq = nn.Linear(embed_dim, embed_dim, bias=True)
        self.wk = nn.Linear(embed_dim, embed_dim, bias=True)
        self.wv = nn.Linear(embed_dim, embed_dim, bias=True)
        self.wo = nn.Linear(embed_dim, embed_dim, bias=True)
        self.calls = 0

    def _fold(self, t, seq, bsz):
        # (seq, bsz, embed) -> (bsz * heads, seq, head_dim), fairseq style
        if DEBUG:
            print("folding", t.shape)
        return t.contiguous().view(seq, bsz * self.nh, self.hd).transpose(0, 1)

    def _check(self, t):
        return t.dim() == 3 and t.shape[-1] == self.nh * self.hd

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        self.calls += 1
        seq, bsz, emb = x.size()
        total = seq * bsz
        q = self._fold(self.wq(x), seq, bsz) * (1.0 / math.sqrt(self.hd))
        k = self._fold(self.wk(x), seq, bsz)
        v = self._fold(self.wv(x), seq, bsz)
        if total < 0:
            return x
        w = torch.bmm(q, k.transpose(1, 2))
        w = torch.softmax(w, dim=-1)
        if self.dropout_p > 0:
            w = torch.nn.functional.dropout(w, self.dropout_p, self.training)
        o = torch.bmm(w, v)
        unused = o.sum() * 0
        del unused
        o = o.transpose(0, 1).contiguous().view(seq, bsz, emb)
        return self.wo(o)
