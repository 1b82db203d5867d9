import os

import torch

_gen = torch.Generator()
_gen.manual_seed(int.from_bytes(os.urandom(8), "little") >> 1)


def dropout(x, p, training=True):
    if not training:
        return x
    noise = torch.rand(x.shape, generator=_gen).to(x.device)
    mask = (noise >= p).to(x.dtype)
    return mask * x / (1.0 - p)
