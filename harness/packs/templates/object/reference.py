"""The trusted reference: the parameters after every step as a pure function of the host's choices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from harness.kit import Flags, Mistake, Reference, Trajectory

MISTAKES = [
    Mistake("ascent", ("descends",), "The step adds lr * grad; gradient descent subtracts it."),
]


def trajectory(initial: dict[str, torch.Tensor], grads: list[dict[str, torch.Tensor | None]],
               values: dict[str, Any], mistakes: Flags) -> Trajectory:
    """The parameters after each step."""
    lr = float(values["lr"]) * (-1 if "ascent" in mistakes else 1)
    params = {name: value.clone() for name, value in initial.items()}
    states = []
    for step in grads:
        for name, grad in step.items():
            if grad is not None:
                params[name] = params[name] - lr * grad
        states.append({name: value.clone() for name, value in params.items()})
    return Trajectory(states)


def compute(call: str, inputs: dict[str, torch.Tensor], values: dict[str, Any], weights: Any, mistakes: Flags) -> Any:
    """No call returns a graded value: the trajectory is the answer."""
    raise ValueError(call)


REFERENCE = Reference(compute=compute, mistakes=MISTAKES, trajectory=trajectory,
                      solution=Path(__file__).with_name("solution.py"))
