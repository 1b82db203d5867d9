import numbers

import torch
import torch.nn as nn


class LayerNorm(nn.Module):
    CHUNK_ROWS = 16384

    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(normalized_shape)
        if len(self.normalized_shape) != 1:
            raise ValueError("only a single trailing dimension is supported")
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(self.normalized_shape))
        self.bias = nn.Parameter(torch.zeros(self.normalized_shape))

    def _norm(self, rows):
        m = rows.mean(-1, keepdim=True)
        v = rows.sub(m).square().mean(-1, keepdim=True)
        return (rows - m) * (v + self.eps).rsqrt()

    def forward(self, x):
        if x.shape[-1] != self.normalized_shape[0]:
            raise ValueError(
                f"expected last dim {self.normalized_shape[0]}, got {x.shape[-1]}"
            )
        rows = x.reshape(-1, x.shape[-1])
        if rows.shape[0] <= self.CHUNK_ROWS:
            y = self._norm(rows)
        else:
            pieces = []
            for start in range(0, rows.shape[0], self.CHUNK_ROWS):
                pieces.append(self._norm(rows[start:start + self.CHUNK_ROWS]))
            y = torch.cat(pieces, dim=0)
        y = y * self.weight + self.bias
        return y.view(x.shape)
