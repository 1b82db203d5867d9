import torch


def dropout(x, p, training=True):
    keep = 1 - p
    mask = torch.rand_like(x) < keep
    return x * mask.float() / keep
