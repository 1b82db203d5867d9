"""Reference of the dropout problem: the law of each call's output, with the mistakes as flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from harness.engine.checks import ItemOutcome
from harness.engine.compare import compare
from harness.kit import Choice, Flags, Mistake, Reference
from harness.packs.compare import compare_value

MISTAKES = [
    Mistake("ignores_training_flag", ("eval_identity",),
            "Elements are dropped even when training is False: return x unchanged then."),
    Mistake("drops_keep_probability", ("drop_rate", "gradients"),
            "Elements are dropped with probability 1 - p instead of p: keep an element where rand >= p.",
            group="rate"),
    Mistake("no_scaling", ("kept_scaling", "gradients"),
            "The kept elements are not scaled: multiply them by 1 / (1 - p) so the expected output is x.",
            group="scale"),
    Mistake("scale_by_keep_prob", ("kept_scaling", "gradients"),
            "The kept elements are multiplied by 1 - p; they must be divided by it.", group="scale"),
    Mistake("fixed_mask", ("fresh_randomness", "seeded_by_global_generator"),
            "Every call drops the same elements (a fixed seed or a cached mask): draw a fresh mask from torch's "
            "global generator on every call.", named_when={"failed": ["fresh_randomness"]}),
    Mistake("own_generator", ("seeded_by_global_generator",),
            "The randomness does not come from torch's global generator (numpy, or a generator of your own), so "
            "torch.manual_seed cannot reproduce a run: use torch.rand or torch.bernoulli without a generator.",
            named_when={"failed": ["seeded_by_global_generator"], "passed": ["fresh_randomness"]}),
]


def compute(call: str, inputs: dict[str, torch.Tensor], values: dict[str, Any], weights: Any,
            mistakes: Flags) -> Any:
    """X itself when not training; else the law of each element: 0, or x scaled, with their probabilities."""
    x, p = inputs["x"], float(values["p"])
    if call == "eval" and "ignores_training_flag" not in mistakes:
        return x
    drop = 1 - p if "drops_keep_probability" in mistakes else p
    scale = 1.0 if "no_scaling" in mistakes else (1 - p if "scale_by_keep_prob" in mistakes else 1 / (1 - p))
    return Choice([("dropped", torch.zeros_like(x), drop), ("kept", x * scale, 1 - drop)])


def mask_gradient(evidence: Any) -> ItemOutcome:
    """The gradient through a correct forward is the upstream gradient where kept, times 1/(1-p), else 0."""
    total = passed = 0
    problems = []
    for config in evidence.configs:
        call = config.calls.get("first")
        if call is None or call.result is None:
            continue
        total += 1
        p = float(config.plan.values["p"])
        if not call.ok or not isinstance(call.value, torch.Tensor):
            problems.append(f"{config.label}: no output")
            continue
        if "grad_problem" in call.result.facts:
            problems.append(f"{config.label}: no gradient flows from the output to x")
            continue
        law = compute("first", {"x": config.plan.inputs["x"].double()}, config.plan.values, None, frozenset())
        if not compare_value(call.value, law, evidence.problem.tolerance, evidence.problem.alpha / 64).matches:
            problems.append(f"{config.label}: the forward output does not follow dropout's law, so its gradient "
                            "cannot be right")
            continue
        got, upstream = call.grads.get("x"), call.plan.upstream
        if got is None or upstream is None:
            problems.append(f"{config.label}: no gradient reached x")
            continue
        expected = upstream.double() * (call.value != 0).double() / (1 - p)
        result = compare(got, expected, evidence.problem.gradient_tolerance)
        if result.matches:
            passed += 1
        else:
            problems.append(f"{config.label}: the gradient is not the mask divided by (1 - p) "
                            f"(relative error {result.relative_error:.3g})")
    if not total:
        return ItemOutcome("failed", "Not verified: no call returned.")
    if passed == total:
        return ItemOutcome("passed", "Gradients flow through the mask, scaled by 1/(1-p).", 1.0)
    if any(evidence.reference.mistake(m).is_flag for m in evidence.diagnosis.named):
        passed = 0  # the forward pass has a named mistake: fix it first
    status = "partial" if passed else "failed"
    return ItemOutcome(status, "; ".join(problems[:2]) + ".", passed / total)


REFERENCE = Reference(compute=compute, mistakes=MISTAKES, checks={"mask_gradient": mask_gradient},
                      solution=Path(__file__).with_name("solution.py"))
