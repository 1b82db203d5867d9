"""Unknown mistake: sigmoid of the scaled scores in place of a softmax."""
import math
import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.h = num_heads
        self.d = embed_dim // num_heads
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim)
        self.out = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        s, b, e = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        split = lambda t: t.reshape(s, b, self.h, self.d).permute(1, 2, 0, 3)
        q, k, v = split(q), split(k), split(v)
        w = torch.sigmoid(q @ k.transpose(-1, -2) / math.sqrt(self.d))
        return self.out((w @ v).permute(2, 0, 1, 3).reshape(s, b, e))
