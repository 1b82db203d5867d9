"""Correct: minGPT-style attention (c_attn Linear(E, 3E) split with .split(E, dim=2), c_proj, attn_dropout/resid_dropout modules), without the causal mask since this problem has none."""
import math

import torch
import torch.nn as nn
from torch.nn import functional as F


class MultiHeadSelfAttention(nn.Module):
    """
    A vanilla multi-head self-attention layer with a projection at the end.
    Same layout as minGPT's CausalSelfAttention, minus the causal mask.
    """

    def __init__(self, embed_dim, num_heads, attn_pdrop=0.1, resid_pdrop=0.1):
        super().__init__()
        assert embed_dim % num_heads == 0
        # key, query, value projections for all heads, but in a batch
        self.c_attn = nn.Linear(embed_dim, 3 * embed_dim)
        # output projection
        self.c_proj = nn.Linear(embed_dim, embed_dim)
        # regularization
        self.attn_dropout = nn.Dropout(attn_pdrop)
        self.resid_dropout = nn.Dropout(resid_pdrop)
        self.n_head = num_heads
        self.n_embd = embed_dim

    def forward(self, x):
        x = x.transpose(0, 1)  # (T, B, C) -> (B, T, C)
        B, T, C = x.size()  # batch size, sequence length, embedding dimensionality (n_embd)

        # calculate query, key, values for all heads in batch and move head forward to be the batch dim
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)

        # self-attend: (B, nh, T, hs) x (B, nh, hs, T) -> (B, nh, T, T)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = att @ v  # (B, nh, T, T) x (B, nh, T, hs) -> (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble all head outputs side by side

        # output projection
        y = self.resid_dropout(self.c_proj(y))
        return y.transpose(0, 1)
