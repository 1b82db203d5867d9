import torch


def dropout(x, p, training=True):
    drop = torch.rand_like(x) < p
    out = x.masked_fill(drop, 0)
    return out
