"""Correct: returns a tuple (output, attention weights averaged over heads), like nn.MultiheadAttention."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super(MultiHeadSelfAttention, self).__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads

        self.query_proj = nn.Linear(embed_dim, embed_dim)
        self.key_proj = nn.Linear(embed_dim, embed_dim)
        self.value_proj = nn.Linear(embed_dim, embed_dim)
        self.output_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        """x: (seq_len, batch, embed_dim) -> (output, avg_attn_weights)

        output: (seq_len, batch, embed_dim)
        avg_attn_weights: (batch, seq_len, seq_len), averaged over heads
        """
        seq_len, batch_size, _ = x.shape

        q = self.query_proj(x)
        k = self.key_proj(x)
        v = self.value_proj(x)

        # (seq, batch, E) -> (batch, heads, seq, head_dim)
        q = q.view(seq_len, batch_size, self.num_heads, self.head_dim).permute(1, 2, 0, 3)
        k = k.view(seq_len, batch_size, self.num_heads, self.head_dim).permute(1, 2, 0, 3)
        v = v.view(seq_len, batch_size, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

        scores = q @ k.transpose(2, 3) / math.sqrt(self.head_dim)
        attn_weights = F.softmax(scores, dim=-1)
        context = attn_weights @ v

        context = context.permute(2, 0, 1, 3).contiguous().view(seq_len, batch_size, self.embed_dim)
        output = self.output_proj(context)

        return output, attn_weights.mean(dim=1)
