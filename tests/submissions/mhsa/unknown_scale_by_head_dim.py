"""Unknown mistake: the scores are divided by head_dim itself rather than its square root."""
import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.h = num_heads
        self.d = embed_dim // num_heads
        self.q = nn.Linear(embed_dim, embed_dim)
        self.k = nn.Linear(embed_dim, embed_dim)
        self.v = nn.Linear(embed_dim, embed_dim)
        self.o = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        s, b, e = x.shape
        split = lambda t: t.view(s, b, self.h, self.d).permute(1, 2, 0, 3)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        w = torch.softmax(q @ k.transpose(-1, -2) / self.d, dim=-1)
        return self.o((w @ v).permute(2, 0, 1, 3).reshape(s, b, e))
