import torch
import torch.nn as nn
import torch.nn.functional as F


class CausalSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x, key_padding_mask=None):
        B, T, C = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)

        # boolean attn_mask for sdpa: True means "may attend"
        allowed = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        allowed = allowed.expand(B, 1, T, T)
        if key_padding_mask is not None:
            allowed = allowed & ~key_padding_mask[:, None, None, :]

        y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        y = y.transpose(1, 2).reshape(B, T, C)
        return self.proj(y)
