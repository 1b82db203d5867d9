import torch


def dropout(x, p=0.5, training=True):
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability has to be in [0, 1), got {p}")
    if not training:
        return x.clone()

    scale = 1.0 / (1.0 - p)
    u = torch.rand_like(x)
    return torch.where(u >= p, x * scale, torch.zeros_like(x))
