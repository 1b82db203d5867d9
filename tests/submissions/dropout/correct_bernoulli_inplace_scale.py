import torch


def dropout(x, p, training=True):
    if not training:
        return x.clone()
    q = 1.0 - p
    m = torch.empty_like(x).bernoulli_(q)
    m.div_(q)
    return x * m
