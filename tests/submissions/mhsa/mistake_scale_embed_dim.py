"""Mistake (scale_by_embed_dim): scores are divided by sqrt(embed_dim) instead of sqrt(head_dim)."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, d_model, num_heads):
        super().__init__()
        self.d_model = d_model
        self.num_heads = num_heads
        self.d_k = d_model // num_heads

        self.W_q = nn.Linear(d_model, d_model)
        self.W_k = nn.Linear(d_model, d_model)
        self.W_v = nn.Linear(d_model, d_model)
        self.W_o = nn.Linear(d_model, d_model)

    def split_heads(self, t):
        S, B, _ = t.shape
        return t.view(S, B, self.num_heads, self.d_k).permute(1, 2, 0, 3)

    def combine_heads(self, t):
        B, H, S, D = t.shape
        return t.permute(2, 0, 1, 3).contiguous().view(S, B, H * D)

    def scaled_dot_product_attention(self, Q, K, V):
        # scale by sqrt(d_model), as in "Attention is all you need"
        scores = torch.matmul(Q, K.transpose(-2, -1)) / math.sqrt(self.d_model)
        probs = torch.softmax(scores, dim=-1)
        return torch.matmul(probs, V)

    def forward(self, x):
        Q = self.split_heads(self.W_q(x))
        K = self.split_heads(self.W_k(x))
        V = self.split_heads(self.W_v(x))
        out = self.scaled_dot_product_attention(Q, K, V)
        return self.W_o(self.combine_heads(out))
