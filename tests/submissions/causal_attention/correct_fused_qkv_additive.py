import torch
import torch.nn as nn
import torch.nn.functional as F


class CausalSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        assert embed_dim % num_heads == 0
        self.n_head = num_heads
        self.d_head = embed_dim // num_heads
        self.c_attn = nn.Linear(embed_dim, 3 * embed_dim)
        self.c_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x, key_padding_mask=None):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, self.d_head).transpose(1, 2)
        k = k.view(B, T, self.n_head, self.d_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, self.d_head).transpose(1, 2)

        att = (q @ k.transpose(-2, -1)) * (self.d_head ** -0.5)

        # additive bias: 0 where allowed, large negative where not
        bias = torch.zeros(T, T, device=x.device, dtype=att.dtype)
        bias = bias + torch.triu(torch.full((T, T), -1e9, device=x.device, dtype=att.dtype), diagonal=1)
        att = att + bias
        if key_padding_mask is not None:
            pad = key_padding_mask.to(att.dtype) * -1e9
            att = att + pad.view(B, 1, 1, T)

        att = F.softmax(att, dim=-1)
        y = att @ v
        y = y.transpose(1, 2).reshape(B, T, C)
        return self.c_proj(y), att
