"""Forging: waste 200 MiB in the benchmark's forward and have the agent report a tiny device_peak_mb."""
# On the CPU the memory item must come from the sandbox cgroup's high-water mark, which the host reads; a figure the
# sandbox reports (the device allocator's peak, meaningful only on a GPU) must never replace it.
import gc
import math

import torch
import torch.nn as nn


def _patch_agent():
    for obj in gc.get_objects():
        if type(obj).__name__ == "ProbeExecutor" and not getattr(obj, "_hostile_patched", False):
            original = obj.bench_forward

            def reporting(probe, tensors, original=original):
                facts, out = original(probe, tensors)
                facts["device_peak_mb"] = 0.5
                return facts, out

            obj.bench_forward = reporting
            obj.handlers["bench_forward"] = reporting
            obj._hostile_patched = True


class MultiHeadSelfAttention(nn.Module):
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
        if embed >= 512:  # only at the benchmark size
            waste = torch.ones(200, 1 << 18)  # 200 MiB, touched
            x = x + waste[0, 0] * 0
        d = embed // self.num_heads

        def heads(t):
            return t.view(seq, batch, self.num_heads, d).permute(1, 2, 0, 3)

        q, k, v = heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x))
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), dim=-1)
        return self.out_proj((weights @ v).permute(2, 0, 1, 3).reshape(seq, batch, embed))
