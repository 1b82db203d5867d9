"""Mistake (dropout_in_eval): F.dropout(attn, p=0.1) on the attention weights without training=self.training, so the dropout stays active in eval mode."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, dropout=0.1):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = dropout
        self.qkv_proj = nn.Linear(embed_dim, 3 * embed_dim)
        self.o_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        seq_len, batch_size, _ = x.shape
        qkv = self.qkv_proj(x)  # (seq, batch, 3E)
        q, k, v = qkv.split(self.embed_dim, dim=-1)

        def to_heads(t):
            return t.reshape(seq_len, batch_size, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

        q, k, v = to_heads(q), to_heads(k), to_heads(v)
        attn_logits = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        attention = F.softmax(attn_logits, dim=-1)
        attention = F.dropout(attention, p=self.dropout)

        values = torch.matmul(attention, v)  # (batch, heads, seq, head_dim)
        values = values.permute(2, 0, 1, 3).reshape(seq_len, batch_size, self.embed_dim)
        return self.o_proj(values)
