import torch


def dropout(x, p, training=True):
    if not training:
        return x
    mask = (torch.rand_like(x) < p).to(x.dtype)
    return x * mask / (1 - p)
