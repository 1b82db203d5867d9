"""The trusted reference: a pure function of the inputs and configuration values, with the mistakes as flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from harness.kit import Flags, Mistake, Reference

MISTAKES = [
    Mistake("leaky", ("zeroes_negatives",),
            "Negative elements are scaled by a small slope instead of set to zero (that is leaky ReLU)."),
]


def compute(call: str, inputs: dict[str, torch.Tensor], values: dict[str, Any], weights: Any,
            mistakes: Flags) -> torch.Tensor:
    """The output of ``call`` as the combination ``mistakes`` computes it."""
    x = inputs["x"]
    return torch.where(x > 0, x, 0.01 * x if "leaky" in mistakes else torch.zeros_like(x))


REFERENCE = Reference(compute=compute, mistakes=MISTAKES, solution=Path(__file__).with_name("solution.py"))
