"""Forging: skip the work in every timed call and have the agent report a NaN checksum, which compares as no error."""
# A NaN fails every comparison, so a check written as "mismatch when |got - want| > tolerance" lets it through.
import gc
import math

import torch
import torch.nn as nn


def _patch_agent():
    for obj in gc.get_objects():
        if type(obj).__name__ == "ProbeExecutor" and not getattr(obj, "_hostile_patched", False):

            def instant(probe, tensors):
                return {"output_kind": "Tensor", "output_type": "Tensor", "checksum": float("nan")}, {}

            obj.bench_forward = instant
            obj.handlers["bench_forward"] = instant
            obj._hostile_patched = True


class MultiHeadSelfAttention(nn.Module):
    """Correct, but slow (Python loops over batch, heads and positions), so only the forgery could earn speed."""

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        _patch_agent()
        self.num_heads = num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        seq, batch, embed = x.shape
        d = embed // self.num_heads

        def heads(t):
            return t.view(seq, batch, self.num_heads, d).permute(1, 2, 0, 3)

        q, k, v = heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x))
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), dim=-1)
        return self.out_proj((weights @ v).permute(2, 0, 1, 3).reshape(seq, batch, embed))
