"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention over a sequence-first input.

    Args:
        embed_dim: size of each token's embedding.
        num_heads: number of attention heads; must divide embed_dim.
    """

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        assert embed_dim % num_heads == 0, 'heads must divide the embedding'
        self.n = num_heads
        self.temperature = (embed_dim // num_heads) ** -0.5
        self.in_layer = nn.Linear(embed_dim, 3*embed_dim)
        self.out_layer = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        L, N, D = x.shape
        packed = self.in_layer(x).reshape(L, N, 3,
                                          self.n, D // self.n)
        packed = packed.permute(2, 1, 3, 0, 4)
        query, key, value = packed[0], packed[1], packed[2]
        weights = (query @ key.transpose(-1, -2))*self.temperature
        weights = weights.softmax(dim=-1)
        res = weights @ value
        res = res.permute(2, 0, 1, 3).reshape(L, N, D)
        return self.out_layer(res)
