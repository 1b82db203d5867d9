"""Correct: raw nn.Parameter (E, E) matrices applied as x @ W (transposed vs nn.Linear) with raw bias vectors b_q, b_k, b_v, b_o."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        assert embed_dim % num_heads == 0
        self.E = embed_dim
        self.H = num_heads
        self.d = embed_dim // num_heads

        bound = 1.0 / math.sqrt(embed_dim)
        # weights stored as (in, out) so that projection = x @ W + b
        self.W_q = nn.Parameter(torch.empty(embed_dim, embed_dim).uniform_(-bound, bound))
        self.W_k = nn.Parameter(torch.empty(embed_dim, embed_dim).uniform_(-bound, bound))
        self.W_v = nn.Parameter(torch.empty(embed_dim, embed_dim).uniform_(-bound, bound))
        self.W_o = nn.Parameter(torch.empty(embed_dim, embed_dim).uniform_(-bound, bound))
        self.b_q = nn.Parameter(torch.zeros(embed_dim))
        self.b_k = nn.Parameter(torch.zeros(embed_dim))
        self.b_v = nn.Parameter(torch.zeros(embed_dim))
        self.b_o = nn.Parameter(torch.zeros(embed_dim))

    def forward(self, x):
        T, B, E = x.shape
        Q = x @ self.W_q + self.b_q
        K = x @ self.W_k + self.b_k
        V = x @ self.W_v + self.b_v

        # (T, B, E) -> (B, H, T, d)
        Q = Q.view(T, B, self.H, self.d).permute(1, 2, 0, 3)
        K = K.view(T, B, self.H, self.d).permute(1, 2, 0, 3)
        V = V.view(T, B, self.H, self.d).permute(1, 2, 0, 3)

        A = torch.softmax(Q @ K.transpose(-2, -1) / math.sqrt(self.d), dim=-1)
        heads = A @ V  # (B, H, T, d)

        concat = heads.permute(2, 0, 1, 3).reshape(T, B, E)
        return concat @ self.W_o + self.b_o
