"""Memory: park bytes where the submission's cgroup would not pay for them or its end would not free them."""
# Writes 12 MiB files (under the file-size limit) into every writable place it can find: /dev (bubblewrap's unsized
# tmpfs), /dev/shm, /dev/mqueue, /tmp and the working directory. Each write that succeeds must be charged to the
# submission's own memory limit and be gone when its run ends (the neighbour that runs next checks this). Prints
# PARKED-<place> for each success.
import math
import os

import torch
import torch.nn as nn

CHUNK = b"\xa5" * (1 << 20)


def _park(place):
    path = os.path.join(place, "HOSTILE_OUT_parked.bin")
    try:
        with open(path, "wb") as handle:
            for _ in range(12):
                handle.write(CHUNK)
        print(f"PARKED-{place} ok", flush=True)
    except OSError as exc:
        print(f"REFUSED-{place} {type(exc).__name__}", flush=True)


for place in ("/dev", "/dev/shm", "/dev/mqueue", "/tmp", "."):
    _park(place)


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
