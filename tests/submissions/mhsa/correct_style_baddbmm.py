"""Correct: Megatron/BLOOM-style scores via torch.baddbmm(empty, q, k^T, beta=0.0, alpha=1/sqrt(head_dim)) on (seq, batch*heads) views, with a fused query_key_value Linear and a dense output Linear."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.hidden_size = embed_dim
        self.num_attention_heads = num_heads
        self.hidden_size_per_attention_head = embed_dim // num_heads
        self.norm_factor = math.sqrt(self.hidden_size_per_attention_head)

        # q, k and v stacked as three consecutive (E, E) blocks of one weight
        self.query_key_value = nn.Linear(embed_dim, 3 * embed_dim)
        self.dense = nn.Linear(embed_dim, embed_dim)

    def forward(self, hidden_states):
        # hidden_states: [sq, b, h]
        sq, b, _ = hidden_states.shape
        np_, hn = self.num_attention_heads, self.hidden_size_per_attention_head

        mixed = self.query_key_value(hidden_states)
        query_layer, key_layer, value_layer = torch.split(mixed, self.hidden_size, dim=-1)

        # [sq, b, np * hn] -> [sq, b * np, hn] -> [b * np, sq, hn]
        query_layer = query_layer.reshape(sq, b * np_, hn).transpose(0, 1)
        key_layer = key_layer.reshape(sq, b * np_, hn).transpose(0, 1)
        value_layer = value_layer.reshape(sq, b * np_, hn).transpose(0, 1)

        # preallocated result buffer; beta=0 means its contents are ignored
        matmul_result = torch.empty(
            b * np_, sq, sq, dtype=query_layer.dtype, device=query_layer.device
        )
        attention_scores = torch.baddbmm(
            matmul_result,
            query_layer,
            key_layer.transpose(1, 2),
            beta=0.0,
            alpha=1.0 / self.norm_factor,
        )
        attention_probs = torch.softmax(attention_scores, dim=-1)

        context_layer = torch.bmm(attention_probs, value_layer)  # [b * np, sq, hn]
        context_layer = context_layer.transpose(0, 1).reshape(sq, b, self.hidden_size)
        return self.dense(context_layer)
