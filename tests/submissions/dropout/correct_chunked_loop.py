import torch

CHUNK = 4096


def dropout(x, p, training=True):
    if training is False:
        return x
    flat = x.reshape(-1)
    n = flat.numel()
    if n == 0:
        return x * 1.0
    pieces = []
    for start in range(0, n, CHUNK):
        part = flat[start:start + CHUNK]
        r = torch.rand(part.shape[0], device=x.device)
        keep = (r >= p).float()
        pieces.append(part * keep / (1 - p))
    return torch.cat(pieces).reshape(x.shape)
