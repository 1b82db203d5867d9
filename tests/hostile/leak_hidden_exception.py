"""Leaking: on a shape not in the statement, raises an exception whose class, message and function carry it."""
# Leaking: for any input shape not given in the statement, raises an exception whose class name and message carry the
# shape, from a function named after the shape compiled under the submission's file name (so that the traceback shows
# that name and whatever line the file has there), hoping the feedback quotes them; otherwise a correct module.
import math

import torch
import torch.nn as nn

PUBLIC = {(5, 3, 8), (7, 3, 32), (1, 4, 16), (6, 1, 24), (6, 2, 12), (5, 2, 6), (10, 32, 512), (128, 16, 512)}


def _raise_shape(seq, batch, embed):
    name = f"Leak_{seq}x{batch}x{embed}"
    error = type(name, (Exception,), {})(f"LEAK {seq}x{batch}x{embed} torch.Size([{seq}, {batch}, {embed}])")
    # A "function" named after the shape, under this file's name.
    code = compile(f"def {name}(e):\n    raise e\n", __file__, "exec")
    scope = {}
    exec(code, scope)
    scope[name](error)


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
        if (seq, batch, embed) not in PUBLIC:
            _raise_shape(seq, batch, embed)
        q = self._split_heads(self.q_proj(x))
        k = self._split_heads(self.k_proj(x))
        v = self._split_heads(self.v_proj(x))
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        out = torch.matmul(torch.softmax(scores, dim=-1), v)
        out = out.permute(2, 0, 1, 3).reshape(seq, batch, embed)
        return self.out_proj(out)
