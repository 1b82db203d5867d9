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
        assert embed_dim % num_heads == 0, "heads must divide the embedding"
        self.proj_o = nn.Linear(embed_dim, embed_dim)
        self.proj_qkv = nn.Linear(embed_dim, 3 * embed_dim)
        self.factor = (embed_dim // num_heads) ** -0.5
        self.nheads = num_heads

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        T, N, C = x.shape
        z = self.proj_qkv(x).reshape(T, N, 3, self.nheads, C // self.nheads)
        z = z.permute(2, 1, 3, 0, 4)  # 3, N, heads, T, d
        qq, kk, vv = z[0], z[1], z[2]
        a = (qq @ kk.transpose(-1, -2)) * self.factor
        a = a.softmax(dim=-1)
        r = a @ vv
        r = r.permute(2, 0, 1, 3).reshape(T, N, C)
        return self.proj_o(r)
