import torch


def dropout(x, p, training=True):
    if not training:
        return x
    keep_prob = 1.0 - p
    mask = torch.rand(x.shape, device=x.device) < keep_prob
    return torch.where(mask, x * keep_prob, torch.zeros_like(x))
