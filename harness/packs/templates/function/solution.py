"""The reference written as a submission; the self-test switches MISTAKES on to synthesise each mistake."""

import torch

MISTAKES: frozenset[str] = frozenset()


def relu(x):
    negative = 0.01 * x if "leaky" in MISTAKES else torch.zeros_like(x)
    return torch.where(x > 0, x, negative)
