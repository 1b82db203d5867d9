"""Correct: per-head weight tensors (H, E, head_dim) for q/k/v and (H, head_dim, E) for the output, applied with torch.einsum."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        assert embed_dim % num_heads == 0
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = hd = embed_dim // num_heads

        # Each head h has its own slice of the projection: W_q[h] is (E, hd).
        # Equivalent to projecting the whole embedding and then splitting.
        self.wq = nn.Parameter(torch.empty(num_heads, embed_dim, hd))
        self.wk = nn.Parameter(torch.empty(num_heads, embed_dim, hd))
        self.wv = nn.Parameter(torch.empty(num_heads, embed_dim, hd))
        self.bq = nn.Parameter(torch.zeros(num_heads, hd))
        self.bk = nn.Parameter(torch.zeros(num_heads, hd))
        self.bv = nn.Parameter(torch.zeros(num_heads, hd))
        # output projection: sum over heads of head_h @ wo[h]
        self.wo = nn.Parameter(torch.empty(num_heads, hd, embed_dim))
        self.bo = nn.Parameter(torch.zeros(embed_dim))

        for w in (self.wq, self.wk, self.wv, self.wo):
            nn.init.normal_(w, std=1.0 / math.sqrt(embed_dim))

    def forward(self, x):
        # x: (seq, batch, embed)  -> letters: s/t = positions, b = batch, h = head
        q = torch.einsum("sbe,hed->bhsd", x, self.wq) + self.bq[None, :, None, :]
        k = torch.einsum("sbe,hed->bhsd", x, self.wk) + self.bk[None, :, None, :]
        v = torch.einsum("sbe,hed->bhsd", x, self.wv) + self.bv[None, :, None, :]

        scores = torch.einsum("bhsd,bhtd->bhst", q, k) / math.sqrt(self.head_dim)
        attn = scores.softmax(dim=-1)
        heads = torch.einsum("bhst,bhtd->bhsd", attn, v)

        out = torch.einsum("bhsd,hde->sbe", heads, self.wo) + self.bo
        return out
