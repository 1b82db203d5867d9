"""Correct: The Annotated Transformer's MultiHeadedAttention (four Linear layers in a ModuleList `linears`, zip over the first three, a module-level attention() function, nn.Dropout(p=0.1) that is inactive in eval)."""
import math

import torch
import torch.nn as nn


def clones(make_module, N):
    "Produce N identical layers (each freshly initialised)."
    return nn.ModuleList([make_module() for _ in range(N)])


def attention(query, key, value, mask=None, dropout=None):
    "Compute 'Scaled Dot Product Attention'"
    d_k = query.size(-1)
    scores = torch.matmul(query, key.transpose(-2, -1)) / math.sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(mask == 0, -1e9)
    p_attn = scores.softmax(dim=-1)
    if dropout is not None:
        p_attn = dropout(p_attn)
    return torch.matmul(p_attn, value), p_attn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, dropout=0.1):
        "Take in model size and number of heads."
        super(MultiHeadSelfAttention, self).__init__()
        assert embed_dim % num_heads == 0
        # We assume d_v always equals d_k
        self.d_k = embed_dim // num_heads
        self.h = num_heads
        self.linears = clones(lambda: nn.Linear(embed_dim, embed_dim), 4)
        self.attn = None
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x):
        "x is (seq_len, batch, d_model); query, key and value are all x."
        x = x.transpose(0, 1)
        query = key = value = x
        nbatches = query.size(0)

        # 1) Do all the linear projections in batch from d_model => h x d_k
        query, key, value = [
            lin(t).view(nbatches, -1, self.h, self.d_k).transpose(1, 2)
            for lin, t in zip(self.linears, (query, key, value))
        ]

        # 2) Apply attention on all the projected vectors in batch.
        x, self.attn = attention(query, key, value, mask=None, dropout=self.dropout)

        # 3) "Concat" using a view and apply a final linear.
        x = x.transpose(1, 2).contiguous().view(nbatches, -1, self.h * self.d_k)
        del query
        del key
        del value
        return self.linears[-1](x).transpose(0, 1)
