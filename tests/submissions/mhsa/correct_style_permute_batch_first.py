"""Correct: converts to batch-first with x.permute(1, 0, 2) right away, does all the work batch-first with a flattened (B*H) batch, and permutes back at the end."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.E = embed_dim
        self.nh = num_heads
        self.hs = embed_dim // num_heads
        self.query_proj = nn.Linear(embed_dim, embed_dim)
        self.key_proj = nn.Linear(embed_dim, embed_dim)
        self.value_proj = nn.Linear(embed_dim, embed_dim)
        self.output_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        x = x.permute(1, 0, 2)  # (seq, batch, E) -> (batch, seq, E)
        B, T, _ = x.shape

        def fold(t):
            # (B, T, E) -> (B, nh, T, hs) -> (B*nh, T, hs)
            return t.view(B, T, self.nh, self.hs).permute(0, 2, 1, 3).reshape(B * self.nh, T, self.hs)

        q = fold(self.query_proj(x))
        k = fold(self.key_proj(x))
        v = fold(self.value_proj(x))

        scores = torch.matmul(q, k.permute(0, 2, 1)) / math.sqrt(self.hs)
        probs = F.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v)  # (B*nh, T, hs)

        ctx = ctx.view(B, self.nh, T, self.hs).permute(0, 2, 1, 3).reshape(B, T, self.E)
        out = self.output_proj(ctx)
        return out.permute(1, 0, 2)  # back to (seq, batch, E)
