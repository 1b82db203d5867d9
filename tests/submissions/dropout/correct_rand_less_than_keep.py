import torch


def dropout(x, p, training=True):
    if not training:
        return x
    keep = 1.0 - p
    mask = (torch.rand(x.shape, device=x.device) < keep).to(x.dtype)
    return x * mask / keep
