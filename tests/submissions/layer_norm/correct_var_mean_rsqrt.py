import torch
from torch import nn


class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super(LayerNorm, self).__init__()
        self.eps = float(eps)
        self.weight = nn.Parameter(torch.empty(normalized_shape))
        self.bias = nn.Parameter(torch.empty(normalized_shape))
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.ones_(self.weight)
        nn.init.zeros_(self.bias)

    def forward(self, x):
        var, mu = torch.var_mean(x, dim=-1, correction=0, keepdim=True)
        inv_std = torch.rsqrt(var + self.eps)
        return torch.addcmul(self.bias, (x - mu) * inv_std, self.weight)

    def extra_repr(self):
        return f"{self.weight.shape[0]}, eps={self.eps}"
