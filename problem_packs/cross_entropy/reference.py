"""Reference of the cross-entropy problem, with its catalogue of mistakes as flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from harness.kit import Flags, Mistake, Reference

MISTAKES = [
    Mistake("sum_instead_of_mean", ("mean_reduction",),
            "The loss is summed over the batch instead of averaged: divide by N (use .mean()).", group="reduction"),
    Mistake("softmax_over_batch", ("normalised_over_classes",),
            "The softmax normalises over the batch axis (dim 0); each sample's logits must be normalised over its "
            "classes (dim 1).", group="axis"),
    Mistake("all_pairs_targets", ("picks_target_class",),
            "logits[:, targets] takes every sample's logit for every target, an (N, N) block; pick one entry per "
            "sample with logits[torch.arange(N), targets] or gather.", group="pick"),
    Mistake("no_max_subtraction", ("numerically_stable",),
            "exp(logits) overflows (or underflows) for large logits, giving inf or NaN: subtract each row's maximum "
            "before exponentiating.", group="stability", dtype_faithful=True),
    Mistake("log_of_softmax", ("numerically_stable",),
            "log(softmax(z)) is -inf when a target's probability underflows in float32: compute the log-probability "
            "directly as (z - max) - log(sum(exp(z - max))).", group="stability", dtype_faithful=True),
]


def compute(call: str, inputs: dict[str, torch.Tensor], values: dict[str, Any], weights: Any,
            mistakes: Flags) -> torch.Tensor:
    """The mean negative log-likelihood, as each combination of mistakes computes it."""
    logits, targets = inputs["logits"], inputs["targets"]
    axis = 0 if "softmax_over_batch" in mistakes else 1
    if "log_of_softmax" in mistakes:
        log_probs = torch.log(torch.softmax(logits, dim=axis))
    else:
        shifted = logits if "no_max_subtraction" in mistakes else logits - logits.amax(dim=axis, keepdim=True)
        log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=axis, keepdim=True))
    if "all_pairs_targets" in mistakes:
        picked = log_probs[:, targets]
    else:
        picked = log_probs.gather(1, targets.unsqueeze(1)).squeeze(1)
    return -picked.sum() if "sum_instead_of_mean" in mistakes else -picked.mean()


REFERENCE = Reference(compute=compute, mistakes=MISTAKES, solution=Path(__file__).with_name("solution.py"))
