"""The trusted reference: a pure function of the inputs and the bound weights, with the mistakes as flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from harness.kit import DefaultBinder, Flags, Mistake, Reference, Role

MISTAKES = [
    Mistake("no_bias", ("uses_bias",), "The bias is never added: return x * weight + bias."),
]


def compute(call: str, inputs: dict[str, torch.Tensor], values: dict[str, Any], weights: Any,
            mistakes: Flags) -> torch.Tensor:
    """The output under the candidate's parameters (read by the binder as ``weight`` and ``bias``)."""
    scaled = inputs["x"] * weights["weight"]
    return scaled if "no_bias" in mistakes else scaled + weights["bias"]


BINDER = DefaultBinder({"weight": Role(("F",), hints=("weight", "scale", "gamma")),
                        "bias": Role(("F",), hints=("bias", "shift", "beta"))})

REFERENCE = Reference(compute=compute, mistakes=MISTAKES, binder=BINDER,
                      solution=Path(__file__).with_name("solution.py"))
