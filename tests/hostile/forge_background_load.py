"""Forging: slow the host's reference timing with busy processes of its own session, so that a slow module passes."""
# At import the module starts four processes in new sessions that spin forever; on a small machine they compete with
# the host's own reference timing. Its forward is correct but spends five times its own computation busy-waiting.
# The sandbox must be frozen while the reference is timed, so the ratio stays what it is.
import math
import os
import time

import torch
import torch.nn as nn


def _spinners(count):
    for _ in range(count):
        if os.fork() == 0:
            os.setsid()
            while True:
                pass


_spinners(4)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        started = time.perf_counter()
        seq, batch, embed = x.shape
        d = embed // self.num_heads

        def heads(t):
            return t.view(seq, batch, self.num_heads, d).permute(1, 2, 0, 3)

        q, k, v = heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x))
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), dim=-1)
        out = self.out_proj((weights @ v).permute(2, 0, 1, 3).reshape(seq, batch, embed))
        until = time.perf_counter() + 5 * (time.perf_counter() - started)
        while time.perf_counter() < until:
            pass
        return out
