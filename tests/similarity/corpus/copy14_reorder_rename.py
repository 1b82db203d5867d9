"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
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
        self.proj_out = nn.Linear(embed_dim, embed_dim)
        self.heads = num_heads
        self.dim = embed_dim
        self.w_in = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        nn.init.xavier_uniform_(self.w_in)
        self.b_in = nn.Parameter(torch.zeros(3 * embed_dim))

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        n_tok, n_batch, e = x.shape
        d = e // self.heads
        query, key, value = F.linear(x, self.w_in, self.b_in).split(e, dim=-1)
        query, key, value = (
            t.contiguous().view(n_tok, n_batch * self.heads, d).transpose(0, 1) for t in (query, key, value)
        )
        query = query * float(d) ** -0.5
        attn = torch.bmm(query, key.transpose(1, 2)).softmax(-1)
        ctx = torch.bmm(attn, value)
        ctx = ctx.transpose(0, 1).contiguous().view(n_tok, n_batch, e)
        return self.proj_out(ctx)
