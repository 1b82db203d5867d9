import math

import torch
from torch import nn


class CausalSelfAttention(nn.Module):
    def __init__(self, embed_dim: int, num_heads: int):
        super().__init__()
        self.h = num_heads
        self.dk = embed_dim // num_heads
        self.wq = nn.Linear(embed_dim, embed_dim, bias=False)
        self.wk = nn.Linear(embed_dim, embed_dim, bias=False)
        self.wv = nn.Linear(embed_dim, embed_dim, bias=False)
        self.wo = nn.Linear(embed_dim, embed_dim, bias=False)

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor = None) -> torch.Tensor:
        bsz, seqlen, _ = x.shape
        q = self.wq(x).unflatten(-1, (self.h, self.dk))
        k = self.wk(x).unflatten(-1, (self.h, self.dk))
        v = self.wv(x).unflatten(-1, (self.h, self.dk))

        logits = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(self.dk)

        pos = torch.arange(seqlen, device=x.device)
        allowed = pos[None, :] <= pos[:, None]          # (query, key)
        allowed = allowed.expand(bsz, 1, seqlen, seqlen)
        if key_padding_mask is not None:
            allowed = allowed & ~key_padding_mask.bool()[:, None, None, :]

        neg = torch.finfo(logits.dtype).min
        logits = torch.where(allowed, logits, torch.full_like(logits, neg))
        probs = logits.softmax(dim=-1)

        ctx = torch.einsum("bhqk,bkhd->bqhd", probs, v).flatten(-2)
        return self.wo(ctx)
