"""Comparisons of what a call returned with what the reference says: values, defined parts, laws, Python values.

A law is tested by support (every element equals one alternative) and rate (each alternative's count is
consistent with its probability). The rate test rejects when ``n * KL(k/n || q) > log(2 / alpha)``: by the Chernoff
bound a correct sample fails it with probability at most ``alpha``, with no approximation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from ..engine.compare import Comparison, compare
from ..kit import Choice, Defined
from ..models import Tolerance

INF = float("inf")
NOTHING_DEFINED = "nothing is defined to compare"


@dataclass(frozen=True)
class LawTest:
    """The outcome of testing a sample against a law."""

    support_ok: bool
    rates_ok: bool
    off_support: int
    counts: dict[str, int]
    expected: dict[str, float]
    total: int
    alpha: float = 1e-6

    def rate_of(self, name: str) -> bool:
        """Whether one alternative's count is consistent with its probability."""
        q = self.expected[name] / self.total if self.total else 0.0
        return rate_consistent(self.counts[name], self.total, q, self.alpha / max(1, len(self.counts)))

    @property
    def matches(self) -> bool:
        """Both tests passed."""
        return self.support_ok and self.rates_ok

    def evidence(self) -> dict[str, Any]:
        """Figures for a scorecard."""
        return {"elements": self.total, "off_support": self.off_support, "counts": self.counts,
                "expected_counts": {key: round(value, 1) for key, value in self.expected.items()}}


def _kl(rate: float, q: float) -> float:
    def term(a: float, b: float) -> float:
        if a == 0:
            return 0.0
        return INF if b == 0 else a * math.log(a / b)

    return term(rate, q) + term(1 - rate, 1 - q)


def rate_consistent(count: int, total: int, q: float, alpha: float) -> bool:
    """Whether ``count`` of ``total`` is consistent with probability ``q`` at false-rejection rate ``alpha``."""
    if total == 0:
        return True
    return total * _kl(count / total, q) <= math.log(2 / alpha)


def check_law(actual: torch.Tensor, law: Choice, alpha: float, tolerance: Tolerance) -> LawTest:
    """Support and rate tests of ``actual`` against ``law`` (alpha split over the alternatives)."""
    actual64 = actual.detach().double()
    total = actual64.numel()
    assigned = torch.zeros(actual64.shape, dtype=torch.bool)
    counts: dict[str, int] = {}
    for name, values, _ in law.alternatives:
        values64 = values.detach().double().expand_as(actual64)
        scale = torch.clamp(values64.abs(), min=1.0)
        hit = ((actual64 - values64).abs() <= tolerance.atol * scale + tolerance.rtol * values64.abs()) & ~assigned
        counts[name] = int(hit.sum())
        assigned |= hit
    off = total - int(assigned.sum())
    each = alpha / max(1, len(law.alternatives))
    rates = all(rate_consistent(counts[name], total, q, each) for name, _, q in law.alternatives)
    return LawTest(support_ok=off == 0, rates_ok=rates, off_support=off, counts=counts,
                   expected={name: q * total for name, _, q in law.alternatives}, total=total, alpha=alpha)


def _finite_pattern(actual: torch.Tensor, expected: torch.Tensor, tolerance: Tolerance) -> Comparison:
    """Agreement when both are non-finite at the same places (as a dtype-faithful variant predicts)."""
    bad_actual, bad_expected = ~torch.isfinite(actual), ~torch.isfinite(expected)
    if not torch.equal(bad_actual, bad_expected):
        return Comparison(False, INF, INF, "non-finite values where the reference has none, or the reverse")
    keep = ~bad_expected
    if not keep.any():
        return Comparison(True, 0.0, 0.0)
    return compare(actual[keep], expected[keep], tolerance)


def compare_value(actual: Any, expected: Any, tolerance: Tolerance, alpha: float = 1e-6,
                  finite_pattern: bool = False) -> Comparison | LawTest:
    """Compare a host-decoded output with the reference's expectation of it."""
    if isinstance(expected, Choice):
        if not isinstance(actual, torch.Tensor) or tuple(actual.shape) != tuple(expected.alternatives[0][1].shape):
            return Comparison(False, INF, INF, "not a tensor of the expected shape")
        return check_law(actual, expected, alpha, tolerance)
    if isinstance(expected, Defined):
        if not isinstance(actual, torch.Tensor) or tuple(actual.shape) != tuple(expected.value.shape):
            return Comparison(False, INF, INF, "not a tensor of the expected shape")
        mask = expected.mask
        while mask.dim() < expected.value.dim():
            mask = mask.unsqueeze(-1)
        mask = mask.expand_as(expected.value)
        if not mask.any():
            return Comparison(True, 0.0, 0.0, NOTHING_DEFINED)
        return compare_value(actual[mask], expected.value[mask], tolerance, alpha, finite_pattern)
    if isinstance(expected, torch.Tensor):
        if not isinstance(actual, torch.Tensor):
            return Comparison(False, INF, INF, f"returned {type(actual).__name__}, not a tensor")
        if finite_pattern and tuple(actual.shape) == tuple(expected.shape) and (
                not torch.isfinite(expected).all()):
            return _finite_pattern(actual.double(), expected.double(), tolerance)
        if tuple(actual.shape) != tuple(expected.shape) and actual.numel() == expected.numel() == 1:
            return compare(actual.reshape(expected.shape), expected, tolerance)  # a (1,) for a scalar: judged apart
        return compare(actual, expected, tolerance)
    if isinstance(expected, bool) or isinstance(expected, (int, str)) or expected is None:
        same = actual == expected and type(actual) is type(expected)
        return Comparison(bool(same), 0.0 if same else INF, 0.0 if same else INF,
                          "" if same else f"returned {actual!r}, expected {expected!r}")
    if isinstance(expected, float):
        if isinstance(actual, torch.Tensor) and actual.numel() == 1:
            actual = float(actual)
        if type(actual) not in (int, float):
            return Comparison(False, INF, INF, f"returned {type(actual).__name__}, not a number")
        return compare(torch.tensor([float(actual)]), torch.tensor([expected]), tolerance)
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            return Comparison(False, INF, INF, "a tuple of another length")
        results = [compare_value(a, e, tolerance, alpha, finite_pattern) for a, e in zip(actual, expected,
                                                                                       strict=True)]
        bad = [r for r in results if not r.matches]
        return bad[0] if bad else results[0] if results else Comparison(True, 0.0, 0.0)
    return Comparison(False, INF, INF, f"cannot compare with {type(expected).__name__}")
