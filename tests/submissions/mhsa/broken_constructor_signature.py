"""Broken (interface_error): __init__ takes only (self, d_model) with a hard-coded head count, so MultiHeadSelfAttention(E, H) raises TypeError."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    NUM_HEADS = 4

    def __init__(self, d_model):
        super().__init__()
        self.d_model = d_model
        self.num_heads = self.NUM_HEADS
        self.d_head = d_model // self.num_heads
        self.W_q = nn.Linear(d_model, d_model)
        self.W_k = nn.Linear(d_model, d_model)
        self.W_v = nn.Linear(d_model, d_model)
        self.W_o = nn.Linear(d_model, d_model)

    def forward(self, x):
        L, N, E = x.shape
        q = self.W_q(x).view(L, N, self.num_heads, self.d_head).permute(1, 2, 0, 3)
        k = self.W_k(x).view(L, N, self.num_heads, self.d_head).permute(1, 2, 0, 3)
        v = self.W_v(x).view(L, N, self.num_heads, self.d_head).permute(1, 2, 0, 3)
        attn = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.d_head), dim=-1)
        out = (attn @ v).permute(2, 0, 1, 3).reshape(L, N, E)
        return self.W_o(out)
