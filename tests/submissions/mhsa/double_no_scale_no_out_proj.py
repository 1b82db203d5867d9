"""Double mistake (no_scale + no_output_projection): unscaled scores and the concatenated heads are returned without an output Linear."""
import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.h = num_heads
        self.d = embed_dim // num_heads
        self.wq = nn.Linear(embed_dim, embed_dim)
        self.wk = nn.Linear(embed_dim, embed_dim)
        self.wv = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        T, B, E = x.shape
        q = self.wq(x).reshape(T, B, self.h, self.d)
        k = self.wk(x).reshape(T, B, self.h, self.d)
        v = self.wv(x).reshape(T, B, self.h, self.d)

        a = torch.einsum("tbhd,sbhd->bhts", q, k).softmax(dim=-1)
        y = torch.einsum("bhts,sbhd->tbhd", a, v)
        return y.reshape(T, B, E)
