import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class CausalSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super(CausalSelfAttention, self).__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x, key_padding_mask=None):
        T = x.shape[1]
        Q = self.query(x)
        K = self.key(x)
        V = self.value(x)

        mask = torch.ones(T, T, device=x.device).tril() == 0
        mask = mask.unsqueeze(0)
        if key_padding_mask is not None:
            mask = mask | key_padding_mask.unsqueeze(1)

        head_outputs = []
        for h in range(self.num_heads):
            lo = h * self.head_dim
            hi = lo + self.head_dim
            q = Q[:, :, lo:hi]
            k = K[:, :, lo:hi]
            v = V[:, :, lo:hi]
            s = torch.bmm(q, k.transpose(1, 2)) / math.sqrt(self.head_dim)
            s = s.masked_fill(mask, float("-inf"))
            a = F.softmax(s, dim=2)
            head_outputs.append(torch.bmm(a, v))

        return self.proj(torch.cat(head_outputs, dim=-1))
