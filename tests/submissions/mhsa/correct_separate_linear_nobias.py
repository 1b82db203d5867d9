"""Correct: separate q/k/v/out nn.Linear(E, E) layers without bias (bias=False)."""
import math

import torch
from torch import nn


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention, no biases anywhere."""

    def __init__(self, d_model, n_heads):
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError("d_model must be divisible by n_heads")
        self.d_model = d_model
        self.n_heads = n_heads
        self.d_head = d_model // n_heads

        self.W_q = nn.Linear(d_model, d_model, bias=False)
        self.W_k = nn.Linear(d_model, d_model, bias=False)
        self.W_v = nn.Linear(d_model, d_model, bias=False)
        self.W_o = nn.Linear(d_model, d_model, bias=False)

    def forward(self, x):
        seq_len, batch, d_model = x.size()
        H, D = self.n_heads, self.d_head

        Q = self.W_q(x).reshape(seq_len, batch, H, D)
        K = self.W_k(x).reshape(seq_len, batch, H, D)
        V = self.W_v(x).reshape(seq_len, batch, H, D)

        # scores[b, h, i, j] = <Q_i, K_j> / sqrt(D)
        scores = torch.einsum("ibhd,jbhd->bhij", Q, K) / math.sqrt(D)
        weights = scores.softmax(dim=-1)
        context = torch.einsum("bhij,jbhd->ibhd", weights, V)

        context = context.reshape(seq_len, batch, d_model)
        return self.W_o(context)
