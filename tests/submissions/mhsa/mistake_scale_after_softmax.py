"""Mistake (scale_after_softmax): the softmax is taken of the raw QK^T scores and the attention weights are divided by sqrt(head_dim) afterwards."""
import math

import torch
from torch import nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super(MultiHeadSelfAttention, self).__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.depth = embed_dim // num_heads

        self.wq = nn.Linear(embed_dim, embed_dim)
        self.wk = nn.Linear(embed_dim, embed_dim)
        self.wv = nn.Linear(embed_dim, embed_dim)
        self.dense = nn.Linear(embed_dim, embed_dim)

    def split_heads(self, x, batch_size):
        """Split the last dimension into (num_heads, depth) -> (batch_size, num_heads, seq_len, depth)."""
        x = x.transpose(0, 1).reshape(batch_size, -1, self.num_heads, self.depth)
        return x.permute(0, 2, 1, 3)

    def forward(self, x):
        seq_len, batch_size, _ = x.shape
        q = self.split_heads(self.wq(x), batch_size)
        k = self.split_heads(self.wk(x), batch_size)
        v = self.split_heads(self.wv(x), batch_size)

        matmul_qk = torch.matmul(q, k.transpose(-1, -2))  # (..., seq_len_q, seq_len_k)
        attention_weights = torch.softmax(matmul_qk, dim=-1)
        attention_weights = attention_weights / math.sqrt(self.depth)

        scaled_attention = torch.matmul(attention_weights, v)  # (batch, heads, seq_len_q, depth)
        scaled_attention = scaled_attention.permute(0, 2, 1, 3)  # (batch, seq_len_q, heads, depth)
        concat_attention = scaled_attention.reshape(batch_size, seq_len, self.embed_dim)

        output = self.dense(concat_attention)
        return output.transpose(0, 1)
