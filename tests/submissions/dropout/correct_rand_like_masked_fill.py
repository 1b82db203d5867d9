import torch


def dropout(x, p, training=True):
    if not training or p == 0:
        return x
    dropped = torch.rand_like(x) < p
    return x.masked_fill(dropped, 0.0) / (1.0 - p)
