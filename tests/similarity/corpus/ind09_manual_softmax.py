"""Assignment 3: multi-head self-attention.

Fill in MultiHeadSelfAttention below. Do not use nn.MultiheadAttention or F.scaled_dot_product_attention.
"""
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
        if embed_dim % num_heads:
            raise ValueError("bad head count")
        self.num_heads = num_heads
        self.dk = embed_dim // num_heads
        self.W_q = nn.Linear(embed_dim, embed_dim)
        self.W_k = nn.Linear(embed_dim, embed_dim)
        self.W_v = nn.Linear(embed_dim, embed_dim)
        self.W_o = nn.Linear(embed_dim, embed_dim)

    @staticmethod
    def stable_softmax(z):
        # subtract the row max before exponentiating so large scores do not overflow
        z = z - z.max(dim=-1, keepdim=True).values
        e = torch.exp(z)
        return e / e.sum(dim=-1, keepdim=True)

    def forward(self, x):
        """Attend over x of shape (seq_len, batch, embed_dim); return a tensor of the same shape."""
        T, B, C = x.shape
        h, dk = self.num_heads, self.dk
        q = self.W_q(x).view(T, B, h, dk).transpose(0, 2)  # (h, B, T, dk)
        k = self.W_k(x).view(T, B, h, dk).transpose(0, 2)
        v = self.W_v(x).view(T, B, h, dk).transpose(0, 2)
        energy = q.matmul(k.transpose(2, 3)) * dk ** -0.5
        p = self.stable_softmax(energy)
        y = p.matmul(v)  # (h, B, T, dk)
        y = y.transpose(0, 2).contiguous().view(T, B, C)
        return self.W_o(y)
