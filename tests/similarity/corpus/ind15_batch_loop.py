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
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.lin_query = nn.Linear(embed_dim, embed_dim)
        self.lin_key = nn.Linear(embed_dim, embed_dim)
        self.lin_value = nn.Linear(embed_dim, embed_dim)
        self.lin_out = nn.Linear(embed_dim, embed_dim)

    def attend_one(self, seq):
        # seq: (length, embed) for a single batch element
        hd = self.embed_dim // self.num_heads
        outs = []
        for head in range(self.num_heads):
            cols = slice(head * hd, (head + 1) * hd)
            q = self.lin_query(seq)[:, cols]
            k = self.lin_key(seq)[:, cols]
            v = self.lin_value(seq)[:, cols]
            a = F.softmax(q @ k.t() / math.sqrt(hd), dim=1)
            outs.append(a @ v)
        return self.lin_out(torch.cat(outs, dim=1))

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        results = []
        for b in range(x.shape[1]):
            results.append(self.attend_one(x[:, b, :]))
        return torch.stack(results, dim=1)
