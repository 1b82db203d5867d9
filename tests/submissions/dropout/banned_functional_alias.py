import torch
from torch.nn.functional import dropout as _reference_dropout

_impl = _reference_dropout


def dropout(x, p, training=True):
    if not training:
        return x
    return _impl(x, p, True)
