import torch


def dropout(x, p, training=True):
    if not training:
        return x
    torch.manual_seed(0)
    keep = (torch.rand_like(x) >= p).to(x.dtype)
    return x * keep / (1.0 - p)
