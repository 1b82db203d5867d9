import math

import torch
import torch.nn as nn


class MaskedSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim)
        self.out = nn.Linear(embed_dim, embed_dim)

    def forward(self, x, key_padding_mask=None):
        B, T, E = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = (t.view(B, T, self.num_heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)
        blocked = torch.triu(torch.ones(T, T, dtype=torch.bool, device=x.device), 1)[None, None]
        if key_padding_mask is not None:
            blocked = blocked | key_padding_mask[:, None, None, :]
        attn = scores.masked_fill(blocked, float("-inf")).softmax(-1)
        return self.out((attn @ v).transpose(1, 2).reshape(B, T, E))
