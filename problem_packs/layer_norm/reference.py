"""Reference of the layer-normalisation problem, with its mistakes as flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from harness.kit import DefaultBinder, Flags, Mistake, Reference, Role

MISTAKES = [
    Mistake("unbiased_variance", ("biased_variance",),
            "The variance is the unbiased estimate (divided by D - 1); layer normalisation uses the biased one "
            "(divided by D): x.var(-1, unbiased=False)."),
    Mistake("eps_outside_sqrt", ("eps_inside_sqrt",),
            "eps is added after the square root; it belongs inside: sqrt(var + eps).", group="eps"),
    Mistake("eps_missing", ("eps_inside_sqrt",),
            "eps is never added, so a row of (nearly) constant values is divided by (nearly) zero: use "
            "sqrt(var + eps).", group="eps"),
    Mistake("wrong_axis", ("last_axis",),
            "The mean and variance are taken over the first axis; layer normalisation normalises each row over "
            "its last axis (dim=-1)."),
    Mistake("no_affine", ("affine",),
            "weight and bias are never applied: multiply the normalised value by weight and add bias."),
    Mistake("bad_init", ("parameters",),
            "weight must start as ones and bias as zeros.", named_when={"failed": ["parameters"]}),
]


def compute(call: str, inputs: dict[str, torch.Tensor], values: dict[str, Any], weights: Any,
            mistakes: Flags) -> torch.Tensor:
    """Layer normalisation as each combination of mistakes computes it."""
    x, eps = inputs["x"], float(values["eps"])
    axis = 0 if "wrong_axis" in mistakes else -1
    mean = x.mean(dim=axis, keepdim=True)
    var = x.var(dim=axis, unbiased="unbiased_variance" in mistakes, keepdim=True)
    if "eps_missing" in mistakes:
        denominator = torch.sqrt(var)
    elif "eps_outside_sqrt" in mistakes:
        denominator = torch.sqrt(var) + eps
    else:
        denominator = torch.sqrt(var + eps)
    normalised = (x - mean) / denominator
    if "no_affine" in mistakes:
        return normalised
    return normalised * weights["weight"] + weights["bias"]


BINDER = DefaultBinder({
    "weight": Role(("D",), hints=("weight", "gamma", "scale", "g", "w", "alpha", "gain")),
    "bias": Role(("D",), hints=("bias", "beta", "shift", "b", "offset")),
})

REFERENCE = Reference(compute=compute, mistakes=MISTAKES, binder=BINDER,
                      solution=Path(__file__).with_name("solution.py"))
