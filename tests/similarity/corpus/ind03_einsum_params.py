"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention over a sequence-first input.

    Args:
        embed_dim: size of each token's embedding.
        num_heads: number of attention heads; must divide embed_dim.
    """

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        d = embed_dim // num_heads
        if d * num_heads != embed_dim:
            raise ValueError(f"cannot split {embed_dim} into {num_heads} heads")
        self.heads, self.d = num_heads, d
        bound = 1 / math.sqrt(embed_dim)
        # per-head projection tensors: (embed, heads, head_dim)
        self.Wq = nn.Parameter(torch.empty(embed_dim, num_heads, d).uniform_(-bound, bound))
        self.Wk = nn.Parameter(torch.empty(embed_dim, num_heads, d).uniform_(-bound, bound))
        self.Wv = nn.Parameter(torch.empty(embed_dim, num_heads, d).uniform_(-bound, bound))
        self.Wo = nn.Parameter(torch.empty(num_heads, d, embed_dim).uniform_(-bound, bound))
        self.bo = nn.Parameter(torch.zeros(embed_dim))

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        Q = torch.einsum("sbe,ehd->bhsd", x, self.Wq)
        K = torch.einsum("sbe,ehd->bhsd", x, self.Wk)
        V = torch.einsum("sbe,ehd->bhsd", x, self.Wv)
        logits = torch.einsum("bhsd,bhtd->bhst", Q, K) / math.sqrt(self.d)
        A = torch.softmax(logits, dim=3)
        Z = torch.einsum("bhst,bhtd->sbhd", A, V)
        return torch.einsum("sbhd,hde->sbe", Z, self.Wo) + self.bo
