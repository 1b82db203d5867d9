import math

import torch
import torch.nn as nn


class CausalSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.h = num_heads
        self.d = embed_dim // num_heads
        self.Wq = nn.Linear(embed_dim, embed_dim)
        self.Wk = nn.Linear(embed_dim, embed_dim)
        self.Wv = nn.Linear(embed_dim, embed_dim)
        self.Wo = nn.Linear(embed_dim, embed_dim)

    def forward(self, x, key_padding_mask=None):
        B, L, E = x.shape
        q = self.Wq(x).view(B, L, self.h, self.d).transpose(1, 2)
        k = self.Wk(x).view(B, L, self.h, self.d).transpose(1, 2)
        v = self.Wv(x).view(B, L, self.h, self.d).transpose(1, 2)

        att = torch.einsum("bhid,bhjd->bhij", q, k) / math.sqrt(self.d)

        mask = torch.tril(torch.ones(L, L, device=x.device)).view(1, 1, L, L)
        if key_padding_mask is not None:
            mask = mask * key_padding_mask.view(B, 1, 1, L).float()
        att = att.masked_fill(mask == 0, -1e9)

        att = att.softmax(dim=-1)
        y = torch.einsum("bhij,bhjd->bhid", att, v)
        y = y.transpose(1, 2).contiguous().view(B, L, E)
        return self.Wo(y)
