import torch
import torch.nn as nn


class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.zeros(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))

    def forward(self, inputs):
        d = inputs.size(-1)
        mu = inputs.sum(-1, keepdim=True) / d
        centred = inputs - mu
        var = centred.pow(2).sum(-1, keepdim=True) / d
        return centred / torch.sqrt(var + self.eps)
