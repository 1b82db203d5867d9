"""The reference solution, written as a submission; MISTAKES switches on catalogued mistakes for the self-test."""

import math

import torch
from torch import nn

MISTAKES: frozenset[str] = frozenset()


class CausalSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x, key_padding_mask=None):
        batch, seq, embed = x.shape

        def split(t):
            return t.view(batch, seq, self.num_heads, self.head_dim).transpose(1, 2)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        scores = q @ k.transpose(-1, -2)
        if "scale_by_embed_dim" in MISTAKES:
            scores = scores / math.sqrt(embed)
        elif "no_scale" not in MISTAKES:
            scores = scores / math.sqrt(self.head_dim)
        if "no_causal_mask" in MISTAKES:
            blocked = torch.zeros(seq, seq, dtype=torch.bool, device=x.device)
        elif "anticausal_mask" in MISTAKES:
            blocked = torch.ones(seq, seq, dtype=torch.bool, device=x.device).tril(-1)
        else:
            blocked = torch.ones(seq, seq, dtype=torch.bool, device=x.device).triu(1)
        blocked = blocked.expand(batch, 1, seq, seq)
        if key_padding_mask is not None and "padding_ignored" not in MISTAKES:
            padded = ~key_padding_mask if "padding_inverted" in MISTAKES else key_padding_mask
            blocked = blocked | padded[:, None, None, :]
        scores = scores.masked_fill(blocked, float("-inf"))
        weights = torch.softmax(scores, dim=-2 if "softmax_over_queries" in MISTAKES else -1)
        context = (weights @ v).transpose(1, 2).reshape(batch, seq, embed)
        return self.out_proj(context)
