"""Reference of the Adam problem: the trajectory of torch.optim.Adam's update as a pure function, with mistakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from harness.engine.checks import ItemOutcome
from harness.kit import Flags, Mistake, Reference, Trajectory

MISTAKES = [
    Mistake("no_bias_correction", ("bias_correction",),
            "The moments are not bias-corrected: divide m by 1 - beta1**t and v by 1 - beta2**t."),
    Mistake("eps_inside_sqrt", ("eps_outside_sqrt",),
            "eps is added inside the square root; torch adds it after: sqrt(v_hat) + eps."),
    Mistake("decoupled_weight_decay", ("weight_decay",),
            "Weight decay is applied to the parameter directly (AdamW); Adam adds weight_decay * param to the "
            "gradient before the moments.", group="decay"),
    Mistake("weight_decay_ignored", ("weight_decay",),
            "weight_decay is never applied: add weight_decay * param to the gradient.", group="decay"),
    Mistake("updates_params_without_grad", ("skips_params_without_grad",),
            "A parameter whose .grad is None is still updated (as if its gradient were zero): skip it."),
    Mistake("betas_swapped", ("betas_order",),
            "beta1 and beta2 are used the wrong way round: the first moment uses beta1, the second beta2."),
    Mistake("zero_grad_to_zeros", ("zero_grad",),
            "zero_grad() fills the gradients with zeros; it must set them to None.",
            named_when={"failed": ["zero_grad"]}),
]


def trajectory(initial: dict[str, torch.Tensor], grads: list[dict[str, torch.Tensor | None]],
               values: dict[str, Any], mistakes: Flags) -> Trajectory:
    """The parameters after each step, as each combination of mistakes computes them."""
    lr, eps, decay = float(values["lr"]), float(values["eps"]), float(values["wd"])
    beta1, beta2 = float(values["beta1"]), float(values["beta2"])
    if "betas_swapped" in mistakes:
        beta1, beta2 = beta2, beta1
    params = {name: value.clone() for name, value in initial.items()}
    first = {name: torch.zeros_like(value) for name, value in initial.items()}
    second = {name: torch.zeros_like(value) for name, value in initial.items()}
    count = dict.fromkeys(initial, 0)
    states = []
    for step in grads:
        for name, grad in step.items():
            if grad is None:
                if "updates_params_without_grad" not in mistakes:
                    continue
                grad = torch.zeros_like(params[name])
            param = params[name]
            if decay and "decoupled_weight_decay" not in mistakes and "weight_decay_ignored" not in mistakes:
                grad = grad + decay * param
            if decay and "decoupled_weight_decay" in mistakes:
                param = param * (1 - lr * decay)
            count[name] += 1
            first[name] = beta1 * first[name] + (1 - beta1) * grad
            second[name] = beta2 * second[name] + (1 - beta2) * grad * grad
            m_hat, v_hat = first[name], second[name]
            if "no_bias_correction" not in mistakes:
                m_hat = m_hat / (1 - beta1 ** count[name])
                v_hat = v_hat / (1 - beta2 ** count[name])
            denominator = torch.sqrt(v_hat + eps) if "eps_inside_sqrt" in mistakes else torch.sqrt(v_hat) + eps
            params[name] = param - lr * m_hat / denominator
        states.append({name: value.clone() for name, value in params.items()})
    return Trajectory(states)


def grads_cleared(evidence: Any) -> ItemOutcome:
    """After zero_grad(), every parameter's .grad is None."""
    observed = [c for c in evidence.configs if c.grads_none_after is not None]
    if not observed:
        return ItemOutcome("failed", "Not verified: zero_grad() was never called successfully.",
                           details={"verified": False})
    left = sorted({name for c in observed for name, none in c.grads_none_after.items() if not none})
    if left:
        return ItemOutcome("failed", f"After zero_grad(), .grad is still set on {', '.join(left)}; it must be None.")
    return ItemOutcome("passed", "zero_grad() sets every gradient to None.", 1.0)


def compute(call: str, inputs: dict[str, torch.Tensor], values: dict[str, Any], weights: Any, mistakes: Flags) -> Any:
    """Adam has no calls with outputs: everything is in its trajectory."""
    raise ValueError(f"no call {call!r}")


REFERENCE = Reference(compute=compute, mistakes=MISTAKES, trajectory=trajectory,
                      checks={"grads_cleared": grads_cleared}, solution=Path(__file__).with_name("solution.py"))
