"""Correct: torch.einsum throughout, with per-head q/k/v parameter tensors of shape (num_heads, embed_dim, head_dim) and an (E, E) output weight in nn.Linear's (out, in) convention."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        H, D = num_heads, embed_dim // num_heads
        self.H, self.D = H, D
        std = 1.0 / math.sqrt(embed_dim)
        self.query_w = nn.Parameter(torch.randn(H, embed_dim, D) * std)
        self.key_w = nn.Parameter(torch.randn(H, embed_dim, D) * std)
        self.value_w = nn.Parameter(torch.randn(H, embed_dim, D) * std)
        self.query_b = nn.Parameter(torch.zeros(H, D))
        self.key_b = nn.Parameter(torch.zeros(H, D))
        self.value_b = nn.Parameter(torch.zeros(H, D))
        self.out_w = nn.Parameter(torch.randn(embed_dim, embed_dim) * std)  # (out, in)
        self.out_b = nn.Parameter(torch.zeros(embed_dim))

    def forward(self, x):
        # x: (t, b, e); heads h, head width d
        q = torch.einsum("tbe,hed->bhtd", x, self.query_w) + self.query_b.unsqueeze(1)
        k = torch.einsum("tbe,hed->bhtd", x, self.key_w) + self.key_b.unsqueeze(1)
        v = torch.einsum("tbe,hed->bhtd", x, self.value_w) + self.value_b.unsqueeze(1)

        logits = torch.einsum("bhtd,bhsd->bhts", q, k) * (self.D ** -0.5)
        weights = torch.softmax(logits, dim=-1)  # over the key positions s
        ctx = torch.einsum("bhts,bhsd->tbhd", weights, v)

        t, b = x.shape[:2]
        ctx = ctx.reshape(t, b, self.H * self.D)  # head index next to d, head-major
        return torch.einsum("tbi,oi->tbo", ctx, self.out_w) + self.out_b
