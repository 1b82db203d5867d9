import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))

    def forward(self, x):
        d = x.shape[-1]
        rows = x.reshape(-1, 1, d)
        y = F.group_norm(rows, num_groups=1, eps=self.eps)
        return y.reshape(x.shape) * self.weight + self.bias
