import numpy as np
import torch

_rng = np.random.default_rng()


def dropout(x, p, training=True):
    if not training:
        return x
    u = _rng.random(tuple(x.shape))
    keep = torch.as_tensor(u >= p).to(device=x.device, dtype=x.dtype)
    return x * keep / (1 - p)
