"""Correct: reshapes to (batch*H, seq, head_dim) and uses torch.bmm, mirroring torch's own implementation."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise ValueError("embed_dim must be divisible by num_heads")

        self.q_linear = nn.Linear(embed_dim, embed_dim)
        self.k_linear = nn.Linear(embed_dim, embed_dim)
        self.v_linear = nn.Linear(embed_dim, embed_dim)
        self.out_linear = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        seq_len, bsz, embed_dim = x.shape
        H, D = self.num_heads, self.head_dim

        q = self.q_linear(x)
        k = self.k_linear(x)
        v = self.v_linear(x)

        # (L, N, E) -> (L, N*H, D) -> (N*H, L, D)
        q = q.contiguous().view(seq_len, bsz * H, D).transpose(0, 1)
        k = k.contiguous().view(seq_len, bsz * H, D).transpose(0, 1)
        v = v.contiguous().view(seq_len, bsz * H, D).transpose(0, 1)

        attn_scores = torch.bmm(q, k.transpose(1, 2)) / math.sqrt(D)  # (N*H, L, L)
        attn_probs = torch.softmax(attn_scores, dim=-1)
        attn_out = torch.bmm(attn_probs, v)                            # (N*H, L, D)

        attn_out = attn_out.transpose(0, 1).contiguous().view(seq_len, bsz, embed_dim)
        return self.out_linear(attn_out)
