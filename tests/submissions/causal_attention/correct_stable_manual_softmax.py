import math

import torch
import torch.nn as nn


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.d_k = d_model // n_heads
        self.to_q = nn.Linear(d_model, d_model)
        self.to_k = nn.Linear(d_model, d_model)
        self.to_v = nn.Linear(d_model, d_model)
        self.to_out = nn.Linear(d_model, d_model)

    def forward(self, x, key_padding_mask=None):
        b, t, d = x.shape
        # fold heads into the batch dimension: (b * heads, t, d_k)
        def fold(z):
            return z.reshape(b, t, self.n_heads, self.d_k).permute(0, 2, 1, 3).reshape(b * self.n_heads, t, self.d_k)

        q, k, v = fold(self.to_q(x)), fold(self.to_k(x)), fold(self.to_v(x))
        scores = torch.baddbmm(
            torch.zeros(b * self.n_heads, t, t, dtype=x.dtype, device=x.device),
            q, k.transpose(1, 2), alpha=1.0 / math.sqrt(self.d_k),
        )

        keep = torch.tril(torch.ones(t, t, dtype=x.dtype, device=x.device)).expand(b, self.n_heads, t, t)
        if key_padding_mask is not None:
            keep = keep * (~key_padding_mask).to(x.dtype)[:, None, None, :]
        keep = keep.reshape(b * self.n_heads, t, t)

        # softmax restricted to the kept entries, shifted by the row max for stability
        masked = scores.masked_fill(keep == 0, -math.inf)
        row_max = masked.amax(dim=-1, keepdim=True)
        row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
        e = torch.exp(masked - row_max) * keep
        probs = e / e.sum(dim=-1, keepdim=True).clamp_min(1e-30)

        out = torch.bmm(probs, v)
        out = out.reshape(b, self.n_heads, t, self.d_k).permute(0, 2, 1, 3).reshape(b, t, d)
        return self.to_out(out)
