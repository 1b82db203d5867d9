"""Memory: a helper process grows until the kernel kills it at the memory limit, while the module answers."""
# Every probe is answered, so the conversation completes; the cgroup's OOM-kill counter still says the run went over
# its memory limit, and the verdict must say so (what was verified still counts).
import math
import os

import torch
import torch.nn as nn

if os.fork() == 0:
    hoard = []
    while True:
        hoard.append(bytearray(16 << 20))  # touched: bytearray zero-fills

os.wait()  # the helper dies at the limit before the module is even defined


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
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
