import torch
import torch.nn as nn


class CausalSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.nh = num_heads
        self.hd = embed_dim // num_heads
        self.attn_in = nn.Linear(embed_dim, 3 * embed_dim)
        self.attn_out = nn.Linear(embed_dim, embed_dim)

    def forward(self, x, key_padding_mask=None):
        B, T, E = x.shape
        q, k, v = self.attn_in(x).reshape(B, T, 3, self.nh, self.hd).permute(2, 0, 3, 1, 4).unbind(0)

        s = torch.einsum("bhtd,bhsd->bhts", q, k)
        ignore = torch.ones(T, T, dtype=torch.bool, device=x.device).tril(-1)
        if key_padding_mask is not None:
            ignore = ignore | key_padding_mask.bool()[:, None, None, :]
        s = s.masked_fill(ignore, -1e9)

        a = s.softmax(dim=-1)
        y = torch.einsum("bhts,bhsd->bhtd", a, v)
        return self.attn_out(y.transpose(1, 2).reshape(B, T, E))
