import torch


def dropout(x, p, training=True):
    if not training:
        return x
    keep = torch.bernoulli(torch.full_like(x, 1.0 - p))
    return x * keep
