import torch
import torch.nn as nn


class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.d_model = normalized_shape
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(self.d_model))
        self.bias = nn.Parameter(torch.zeros(self.d_model))

    def forward(self, x):
        mean = torch.mean(x, dim=0, keepdim=True)
        var = torch.mean((x - mean) ** 2, dim=0, keepdim=True)
        out = (x - mean) / torch.sqrt(var + self.eps)
        return out * self.weight + self.bias
