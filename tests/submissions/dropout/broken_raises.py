import torch


def dropout(x, p, training=True):
    shape = x.shape()
    if not training:
        return x
    keep = 1.0 - p
    mask = (torch.rand(shape, device=x.device) < keep).float()
    return x * mask / keep
