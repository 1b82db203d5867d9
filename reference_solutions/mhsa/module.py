"""The reference as an ordinary nn.Module, for measurements that must be taken the way a candidate's are.

It is run (as trusted code, never beside a candidate's) in a sandbox of its own to measure its peak memory, and in
the harness's process to time it against the candidate. It imports only torch and math.
"""

import math

import torch
from torch import nn


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention over (seq, batch, embed), computed with batched matrix products."""

    def __init__(self, embed_dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend over the sequence (first axis) independently for every batch element."""
        seq_len, batch, embed_dim = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(seq_len, batch * self.num_heads, self.head_dim).transpose(0, 1)

        q, k, v = heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x))
        weights = torch.softmax(torch.bmm(q, k.transpose(1, 2)) / math.sqrt(self.head_dim), dim=-1)
        context = torch.bmm(weights, v).transpose(0, 1).reshape(seq_len, batch, embed_dim)
        return self.out_proj(context)
