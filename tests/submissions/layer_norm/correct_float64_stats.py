import torch
import torch.nn as nn


class LayerNorm(nn.Module):
    """Layer normalisation over the last dimension.

    Statistics are accumulated in double precision and the result is
    returned in the dtype of the input.
    """

    def __init__(self, normalized_shape: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(normalized_shape, dtype=torch.float32))
        self.bias = nn.Parameter(torch.zeros(normalized_shape, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        in_dtype = x.dtype
        xd = x.double()
        mean = xd.mean(-1, keepdim=True)
        var = (xd - mean).pow(2).mean(-1, keepdim=True)
        normed = (xd - mean) / torch.sqrt(var + self.eps)
        out = normed * self.weight.double() + self.bias.double()
        return out.to(in_dtype)
