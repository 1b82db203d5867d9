"""Mistake (causal_mask): adds an upper-triangular -inf (autoregressive) mask to the scores before the softmax, although this problem has no mask."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def generate_square_subsequent_mask(sz, device=None):
    """Float mask with -inf above the diagonal and 0.0 elsewhere."""
    return torch.triu(torch.full((sz, sz), float("-inf"), device=device), diagonal=1)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_lin = nn.Linear(embed_dim, embed_dim)
        self.k_lin = nn.Linear(embed_dim, embed_dim)
        self.v_lin = nn.Linear(embed_dim, embed_dim)
        self.o_lin = nn.Linear(embed_dim, embed_dim)

    def forward(self, src):
        S, N, E = src.shape
        H, D = self.num_heads, self.head_dim

        q = self.q_lin(src).reshape(S, N, H, D).permute(1, 2, 0, 3)
        k = self.k_lin(src).reshape(S, N, H, D).permute(1, 2, 0, 3)
        v = self.v_lin(src).reshape(S, N, H, D).permute(1, 2, 0, 3)

        scores = q @ k.transpose(-2, -1) / math.sqrt(D)
        # each position may only look at itself and earlier positions
        scores = scores + generate_square_subsequent_mask(S, device=src.device)
        attn = F.softmax(scores, dim=-1)

        out = (attn @ v).permute(2, 0, 1, 3).reshape(S, N, E)
        return self.o_lin(out)
