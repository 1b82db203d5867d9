import math

import torch
import torch.nn as nn


class CausalSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q = nn.Linear(embed_dim, embed_dim)
        self.k = nn.Linear(embed_dim, embed_dim)
        self.v = nn.Linear(embed_dim, embed_dim)
        self.o = nn.Linear(embed_dim, embed_dim)

    def forward(self, x, key_padding_mask=None):
        B, T, E = x.shape
        H, D = self.num_heads, self.head_dim
        q = self.q(x).view(B, T, H, D).transpose(1, 2)
        k = self.k(x).view(B, T, H, D).transpose(1, 2)
        v = self.v(x).view(B, T, H, D).transpose(1, 2)

        s = q @ k.transpose(2, 3) / math.sqrt(D)          # (B, H, T_q, T_k)
        blocked = torch.triu(torch.ones(T, T, dtype=torch.bool, device=x.device), diagonal=1)
        if key_padding_mask is not None:
            blocked = blocked[None, None] | key_padding_mask[:, None, None, :]
        s = s.masked_fill(blocked, -1e9)

        p = torch.softmax(s, dim=2)
        out = (p @ v).transpose(1, 2).reshape(B, T, E)
        return self.o(out)
