"""Forging: an identity "attention" behind one flat parameter vector, so that no reading of its weights exists."""
# Without a reading the host cannot compute what the timed calls should return; a host that then skipped checking
# them would give the fastest possible module (it returns its input) full marks for speed and memory.
import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.blob = nn.Parameter(torch.zeros(4 * embed_dim * embed_dim + 4 * embed_dim))

    def forward(self, x):
        return x + 0 * self.blob[0]
