"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention over a sequence-first input.

    Args:
        embed_dim: size of each token's embedding.
        num_heads: number of attention heads; must divide embed_dim.
    """

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.dim, self.n_heads = embed_dim, num_heads
        self.params = nn.ParameterDict()
        for role in ("q", "k", "v", "o"):
            m = torch.empty(embed_dim, embed_dim)
            nn.init.xavier_uniform_(m)
            self.params["w_" + role] = nn.Parameter(m)
            self.params["b_" + role] = nn.Parameter(torch.zeros(embed_dim))

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        S, B, _ = x.shape
        hd = self.dim // self.n_heads

        def split(t):
            return t.reshape(S, B * self.n_heads, hd).transpose(0, 1)

        q = split(F.linear(x, self.params["w_q"], self.params["b_q"]))
        k = split(F.linear(x, self.params["w_k"], self.params["b_k"]))
        v = split(F.linear(x, self.params["w_v"], self.params["b_v"]))
        attn = F.softmax(q @ k.transpose(1, 2) / math.sqrt(hd), dim=-1)
        combined = (attn @ v).transpose(0, 1).reshape(S, B, self.dim)
        return F.linear(combined, self.params["w_o"], self.params["b_o"])
