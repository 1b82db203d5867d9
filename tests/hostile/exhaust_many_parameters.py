"""Exhaustion: 200 tiny (embed, embed) parameters, so that every reading of them is a permutation of 200 names."""
# The readings the host tries are permutations of the parameters of each shape: unbounded, 200 square matrices make
# billions of them (60 already cost minutes and gigabytes). The module itself is correct and uses four of them.
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.decoys = nn.ParameterList([nn.Parameter(torch.zeros(embed_dim, embed_dim)) for _ in range(196)])
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=False)
        self.k_proj = nn.Linear(embed_dim, embed_dim, bias=False)
        self.v_proj = nn.Linear(embed_dim, embed_dim, bias=False)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=False)

    def forward(self, x):
        seq, batch, embed = x.shape
        d = embed // self.num_heads

        def heads(t):
            return t.view(seq, batch, self.num_heads, d).permute(1, 2, 0, 3)

        q, k, v = heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x))
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), dim=-1)
        return self.out_proj((weights @ v).permute(2, 0, 1, 3).reshape(seq, batch, embed))
