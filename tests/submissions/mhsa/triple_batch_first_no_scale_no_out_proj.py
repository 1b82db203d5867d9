"""Triple mistake (batch_first_input + no_scale + no_output_projection): reads x as (batch, seq, E), no scaling, no output Linear."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.n_heads = num_heads
        self.head_size = embed_dim // num_heads
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        batch_size, seq_len, d = x.shape
        q = self.query(x).view(batch_size, seq_len, self.n_heads, self.head_size).transpose(1, 2)
        k = self.key(x).view(batch_size, seq_len, self.n_heads, self.head_size).transpose(1, 2)
        v = self.value(x).view(batch_size, seq_len, self.n_heads, self.head_size).transpose(1, 2)

        weights = F.softmax(q @ k.transpose(-2, -1), dim=-1)
        out = weights @ v
        return out.transpose(1, 2).reshape(batch_size, seq_len, d)
