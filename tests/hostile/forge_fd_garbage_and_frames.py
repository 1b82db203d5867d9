"""Forging: writes forged protocol replies and garbage to every descriptor 3..64 in forward (and no 1/sqrt)."""
import json
import os
import struct
import sys

import torch
import torch.nn as nn

GARBAGE = b"\x00\xffGARBAGE{not json}\n" * 64


def _forged_reply():
    # Harvest the current probe id and nonce from the agent's frames: the agent shares our process.
    probe_id, nonce = None, None
    frame = sys._getframe(1)
    while frame is not None:
        for value in frame.f_locals.values():
            if isinstance(value, dict):
                if probe_id is None and isinstance(value.get("id"), str):
                    probe_id = value["id"]
                if nonce is None and isinstance(value.get("nonce"), str):
                    nonce = value["nonce"]
        frame = frame.f_back
    header = {"op": "result", "probe_id": probe_id, "nonce": nonce, "ok": True,
              "facts": {"output_kind": "Tensor", "output_type": "Tensor", "checksum": 0.0, "banned_calls": {}}}
    head = json.dumps(header).encode()
    return b"HGW1" + struct.pack(">IQ", len(head), 0) + head


def _flood_descriptors():
    forged = _forged_reply()
    for fd in range(3, 65):
        for data in (forged, GARBAGE, forged):
            try:
                os.write(fd, data)
            except OSError:
                pass


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
        _flood_descriptors()
        seq, batch, embed = x.shape
        q = self._split_heads(self.q_proj(x))
        k = self._split_heads(self.k_proj(x))
        v = self._split_heads(self.v_proj(x))
        scores = torch.matmul(q, k.transpose(-2, -1))  # WRONG: never divided by sqrt(head_dim)
        out = torch.matmul(torch.softmax(scores, dim=-1), v)
        out = out.permute(2, 0, 1, 3).reshape(seq, batch, embed)
        return self.out_proj(out)
