"""The reference solution, written as a submission; MISTAKES switches on catalogued mistakes for the self-test."""

import os

import torch

MISTAKES: frozenset[str] = frozenset()


def dropout(x, p, training=True):
    if not training and "ignores_training_flag" not in MISTAKES:
        return x
    drop = 1 - p if "drops_keep_probability" in MISTAKES else p
    if "fixed_mask" in MISTAKES:
        torch.manual_seed(0)
    if "own_generator" in MISTAKES:
        private = torch.Generator().manual_seed(int.from_bytes(os.urandom(7), "big"))
        noise = torch.rand(x.shape, generator=private).to(dtype=x.dtype, device=x.device)
    else:
        noise = torch.rand(x.shape, dtype=x.dtype, device=x.device)
    keep = (noise >= drop).to(x.dtype)
    if "no_scaling" in MISTAKES:
        return x * keep
    if "scale_by_keep_prob" in MISTAKES:
        return x * keep * (1 - p)
    return x * keep / (1 - p)
