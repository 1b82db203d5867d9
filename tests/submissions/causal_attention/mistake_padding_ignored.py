import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class CausalSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        assert embed_dim % num_heads == 0
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.to_qkv = nn.Linear(embed_dim, embed_dim * 3, bias=False)
        self.to_out = nn.Linear(embed_dim, embed_dim)
        self.register_buffer("_tri", torch.empty(0, dtype=torch.bool), persistent=False)

    def _causal(self, n, device):
        if self._tri.shape[0] < n or self._tri.device != device:
            self._tri = torch.ones(n, n, dtype=torch.bool, device=device).triu(1)
        return self._tri[:n, :n]

    def forward(self, x, key_padding_mask=None):
        b, n, e = x.shape
        qkv = self.to_qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.unbind(dim=2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))

        dots = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        dots = dots.masked_fill(self._causal(n, x.device), float("-inf"))
        attn = F.softmax(dots, dim=-1)

        out = torch.matmul(attn, v).transpose(1, 2).reshape(b, n, e)
        return self.to_out(out)
