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
        self.nheads = num_heads
        self.dh = embed_dim // num_heads
        self.Wqkv = nn.Linear(embed_dim, 3 * embed_dim)
        self.Wout = nn.Linear(embed_dim, embed_dim)
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.xavier_normal_(self.Wqkv.weight)
        nn.init.zeros_(self.Wqkv.bias)
        nn.init.xavier_normal_(self.Wout.weight)
        nn.init.zeros_(self.Wout.bias)

    def forward(self, x, key_padding_mask=None):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        sl, bs, hidden = x.shape
        packed = self.Wqkv(x).view(sl, bs * self.nheads, 3 * self.dh).transpose(0, 1)
        q, k, v = packed.chunk(3, dim=-1)
        base = torch.zeros(bs * self.nheads, sl, sl, dtype=x.dtype, device=x.device)
        if key_padding_mask is not None:
            base = base.masked_fill(key_padding_mask.repeat_interleave(self.nheads, 0)[:, None, :], float("-inf"))
        logits = torch.baddbmm(base, q, k.transpose(1, 2), alpha=1 / math.sqrt(self.dh))
        att = logits.softmax(dim=-1)
        ctx = torch.bmm(att, v).transpose(0, 1).reshape(sl, bs, hidden)
        return self.Wout(ctx)
