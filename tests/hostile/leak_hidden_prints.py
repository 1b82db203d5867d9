"""Leaking: prints every configuration's sizes in __init__, in forward and from a thread 0.3 s later."""
# Leaking: prints every configuration's sizes (in __init__, in forward, and again from a thread 0.3 s later) to stdout
# and stderr, hoping the captured logs show the hidden configuration's; otherwise a correct module.
import math
import sys
import threading
import time

import torch
import torch.nn as nn


def _tell(text):
    print(text, flush=True)
    print(text, file=sys.stderr, flush=True)


def _tell_later(text):
    def later():
        time.sleep(0.3)
        _tell("LEAK-LATE " + text)

    threading.Thread(target=later, daemon=True).start()


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        _tell(f"LEAK-INIT {embed_dim}x{num_heads}")
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
        _tell(f"LEAK-SHAPE {seq}x{batch}x{embed}")
        _tell_later(f"{seq}x{batch}x{embed}")
        q = self._split_heads(self.q_proj(x))
        k = self._split_heads(self.k_proj(x))
        v = self._split_heads(self.v_proj(x))
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        out = torch.matmul(torch.softmax(scores, dim=-1), v)
        out = out.permute(2, 0, 1, 3).reshape(seq, batch, embed)
        return self.out_proj(out)
