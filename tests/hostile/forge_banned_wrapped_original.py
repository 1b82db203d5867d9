"""Forging: calls the original behind the call counter's wrapper (functools.wraps exposed it as __wrapped__)."""
import torch.nn as nn
import torch.nn.functional as F

_COUNTED = vars(F)["scaled_dot_" + "product_attention"]
_ATTENTION = getattr(_COUNTED, "__wrapped__", _COUNTED)

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
        out = _ATTENTION(q, k, v)
        return self.out_proj(out.permute(2, 0, 1, 3).reshape(seq, batch, embed))
