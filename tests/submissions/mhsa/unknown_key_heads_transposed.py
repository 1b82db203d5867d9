"""Unknown mistake: the keys are split into heads as (head_dim, heads) instead of (heads, head_dim)."""
import math
import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.h = num_heads
        self.d = embed_dim // num_heads
        self.wq = nn.Linear(embed_dim, embed_dim)
        self.wk = nn.Linear(embed_dim, embed_dim)
        self.wv = nn.Linear(embed_dim, embed_dim)
        self.wo = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        s, b, e = x.shape
        q = self.wq(x).view(s, b, self.h, self.d).permute(1, 2, 0, 3)
        k = self.wk(x).view(s, b, self.d, self.h).transpose(-1, -2).permute(1, 2, 0, 3)
        v = self.wv(x).view(s, b, self.h, self.d).permute(1, 2, 0, 3)
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.d), dim=-1)
        return self.wo((w @ v).permute(2, 0, 1, 3).reshape(s, b, e))
