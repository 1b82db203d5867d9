import math

import torch
import torch.nn as nn


class CausalSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        bound = 1.0 / math.sqrt(embed_dim)
        # x @ W layout: (in, out)
        self.W_qkv = nn.Parameter(torch.empty(embed_dim, 3 * embed_dim).uniform_(-bound, bound))
        self.b_qkv = nn.Parameter(torch.zeros(3 * embed_dim))
        self.W_o = nn.Parameter(torch.empty(embed_dim, embed_dim).uniform_(-bound, bound))
        self.b_o = nn.Parameter(torch.zeros(embed_dim))

    def forward(self, x, key_padding_mask=None):
        B, T, E = x.shape
        H, D = self.num_heads, self.head_dim

        qkv = x @ self.W_qkv + self.b_qkv                      # (B, T, 3E)
        qkv = qkv.reshape(B, T, 3, H, D).permute(2, 0, 3, 1, 4)  # (3, B, H, T, D)
        q, k, v = qkv[0], qkv[1], qkv[2]

        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(D)
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        scores = scores.masked_fill(causal, float("-inf"))
        if key_padding_mask is not None:
            scores = scores.masked_fill(key_padding_mask.view(B, 1, 1, T), float("-inf"))

        attn = scores.softmax(-1)
        out = torch.matmul(attn, v).permute(0, 2, 1, 3).reshape(B, T, E)
        return out @ self.W_o + self.b_o
