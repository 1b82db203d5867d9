import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class CausalSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.q_lin = nn.Linear(embed_dim, embed_dim)
        self.k_lin = nn.Linear(embed_dim, embed_dim)
        self.v_lin = nn.Linear(embed_dim, embed_dim)
        self.out_lin = nn.Linear(embed_dim, embed_dim)

    def forward(self, x, key_padding_mask=None):
        bs, n, dim = x.shape
        dph = dim // self.num_heads

        def shape(t):
            return t.view(bs, -1, self.num_heads, dph).transpose(1, 2)

        q = shape(self.q_lin(x)) / math.sqrt(dim)
        k = shape(self.k_lin(x))
        v = shape(self.v_lin(x))

        scores = torch.matmul(q, k.transpose(2, 3))
        if key_padding_mask is not None:
            scores = scores.masked_fill(key_padding_mask.view(bs, 1, 1, n), torch.finfo(scores.dtype).min)
        weights = F.softmax(scores, dim=-1)

        context = torch.matmul(weights, v).transpose(1, 2).contiguous().view(bs, -1, dim)
        return self.out_lin(context)
