"""Correct but slow: explicit Python loops over batch, heads and query positions (fails only the performance item)."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.wq = nn.Linear(embed_dim, embed_dim)
        self.wk = nn.Linear(embed_dim, embed_dim)
        self.wv = nn.Linear(embed_dim, embed_dim)
        self.wo = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        seq_len, batch, embed_dim = x.shape
        q = self.wq(x)
        k = self.wk(x)
        v = self.wv(x)
        scale = math.sqrt(self.head_dim)

        batch_outputs = []
        for b in range(batch):
            head_outputs = []
            for h in range(self.num_heads):
                lo = h * self.head_dim
                hi = lo + self.head_dim
                qh = q[:, b, lo:hi]  # (seq, head_dim)
                kh = k[:, b, lo:hi]
                vh = v[:, b, lo:hi]
                rows = []
                for i in range(seq_len):
                    # scores of query i against every key
                    scores = (kh @ qh[i]) / scale               # (seq,)
                    weights = torch.softmax(scores, dim=0)
                    rows.append(weights @ vh)                   # (head_dim,)
                head_outputs.append(torch.stack(rows))           # (seq, head_dim)
            batch_outputs.append(torch.cat(head_outputs, dim=-1))  # (seq, E)
        concat = torch.stack(batch_outputs, dim=1)                # (seq, batch, E)
        return self.wo(concat)
