import torch


def drop_out(x, p, training=True):
    if not training:
        return x
    keep = 1.0 - p
    mask = (torch.rand_like(x) < keep).to(x.dtype)
    return x * mask / keep
