"""Network: is the sandbox's loopback up? (A raised loopback lets processes of one submission talk over it.)"""
# sockets are refused by seccomp, so the state is read from /proc: with the loopback up, 127.0.0.1 is a local
# address in the routing trie and ::1 an IPv6 address of lo. Prints LOOPBACK-UP or LOOPBACK-DOWN.
import math

import torch
import torch.nn as nn


def _loopback_up():
    try:
        with open("/proc/net/fib_trie") as handle:
            if "127.0.0.1" in handle.read():
                return True
    except OSError:
        pass
    try:
        with open("/proc/net/if_inet6") as handle:
            return any(line.split()[-1] == "lo" for line in handle)
    except OSError:
        return False


print("LOOPBACK-UP" if _loopback_up() else "LOOPBACK-DOWN", flush=True)


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
