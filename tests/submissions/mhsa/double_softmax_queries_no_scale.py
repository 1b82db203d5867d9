"""Double mistake (softmax_over_queries + no_scale): unscaled scores normalised over the query axis (dim -2)."""
import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        L, N, E = x.shape
        q = self.q_proj(x).contiguous().view(L, N * self.num_heads, self.head_dim).transpose(0, 1)
        k = self.k_proj(x).contiguous().view(L, N * self.num_heads, self.head_dim).transpose(0, 1)
        v = self.v_proj(x).contiguous().view(L, N * self.num_heads, self.head_dim).transpose(0, 1)

        scores = torch.bmm(q, k.transpose(1, 2))       # (N*H, Lq, Lk)
        weights = torch.softmax(scores, dim=1)
        out = torch.bmm(weights, v)
        out = out.transpose(0, 1).contiguous().view(L, N, E)
        return self.out_proj(out)
