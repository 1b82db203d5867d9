"""Correct: lucidrains-style Attention (to_qkv Linear(E, 3E, bias=False) chunked in 3, einsum 'b h i d, b h j d -> b h i j', nn.Softmax attend, to_out Sequential(Linear, Dropout)), without einops."""
import torch
from torch import nn


def exists(val):
    return val is not None


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, dropout=0.0):
        super().__init__()
        dim_head = embed_dim // num_heads
        inner_dim = dim_head * num_heads

        self.heads = num_heads
        self.scale = dim_head ** -0.5

        self.attend = nn.Softmax(dim=-1)
        self.dropout = nn.Dropout(dropout)

        self.to_qkv = nn.Linear(embed_dim, inner_dim * 3, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner_dim, embed_dim), nn.Dropout(dropout))

    @staticmethod
    def _split_heads(t, h):
        # 'n b (h d) -> b h n d'
        n, b, hd = t.shape
        return t.reshape(n, b, h, hd // h).permute(1, 2, 0, 3)

    @staticmethod
    def _merge_heads(t):
        # 'b h n d -> n b (h d)'
        b, h, n, d = t.shape
        return t.permute(2, 0, 1, 3).reshape(n, b, h * d)

    def forward(self, x, mask=None):
        qkv = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = map(lambda t: self._split_heads(t, self.heads), qkv)

        dots = torch.einsum("b h i d, b h j d -> b h i j", q, k) * self.scale

        if exists(mask):
            dots = dots.masked_fill(~mask, -torch.finfo(dots.dtype).max)

        attn = self.attend(dots)
        attn = self.dropout(attn)

        out = torch.einsum("b h i j, b h j d -> b h i d", attn, v)
        out = self._merge_heads(out)
        return self.to_out(out)
