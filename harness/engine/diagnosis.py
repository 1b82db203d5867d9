"""Find the reading of the candidate's parameters and the forward-pass variant that reproduce its output.

First the correct computation under every plausible binding; if none reproduces the candidate, the known mistakes
(forward-pass variants, structural bindings, and their combinations), fewest mistakes first. All of it runs in the
harness's process at the small binding configuration, bounded by counts.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from ..models import Tolerance
from .compare import Comparison, compare
from .reference import ReferenceSolution

MISTAKE_SEARCH_BINDINGS = 64
MAX_MISTAKES_COMBINED = 3
"""The most mistakes one explanation combines (structural and forward-pass together): bounds the search."""
# The search is bounded by counts (bindings per family x variants), so its result does not depend on the
# machine's load; this wall-clock cap is only a safety net far above its normal cost (well under a second).
SEARCH_SECONDS = 60.0


@dataclass
class Match:
    """A binding and variant under which the reference reproduces the candidate."""

    binding: Any
    variant: Any
    comparison: Comparison
    extra_mistakes: tuple[str, ...] = ()
    """Mistakes found outside the search (dropout left on in eval mode, seen by switching it off)."""

    @property
    def mistakes(self) -> tuple[str, ...]:
        """Every mistake this match implies, structural ones first."""
        return tuple(self.binding.mistakes) + tuple(self.variant.mistakes) + self.extra_mistakes


@dataclass
class Search:
    """The outcome of the search on the binding configuration."""

    match: Match | None = None
    config: str | None = None
    tried: int = 0
    closest: Comparison | None = None
    """The closest the correct computation came, under any binding (evidence when the candidate is wrong)."""
    seconds: float = 0.0
    exhausted: bool = False
    """True when the search stopped at its time budget."""
    samples: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)


def _evaluate(reference: ReferenceSolution, params: Mapping[str, torch.Tensor], binding: Any, variant: Any,
              samples: list[tuple[torch.Tensor, torch.Tensor]], sizes: Mapping[str, int],
              tolerance: Tolerance) -> Comparison | None:
    """Compare on every sample input; the first comparison (or the first failing one) is returned."""
    first: Comparison | None = None
    for x, output in samples:
        try:
            expected = reference.forward(params, binding, x, sizes, variant)
        except (RuntimeError, IndexError, ValueError):
            return None
        comparison = compare(output, expected, tolerance)
        if not comparison.matches:
            return comparison
        first = first or comparison
    return first


def search(reference: ReferenceSolution, params: Mapping[str, torch.Tensor], sizes: Mapping[str, int],
           samples: list[tuple[torch.Tensor, torch.Tensor]], tolerance: Tolerance,
           budget_s: float = SEARCH_SECONDS) -> Search:
    """Search bindings and variants; ``samples`` are (float64 input, candidate output) pairs of one instance."""
    result = Search(samples=samples)
    started = time.monotonic()
    variants = list(reference.variants())
    correct = variants[0]
    candidates: list[Any] = []
    for binding in reference.bindings(params, sizes):
        result.tried += 1
        if len(candidates) < MISTAKE_SEARCH_BINDINGS:
            candidates.append(binding)
        comparison = _evaluate(reference, params, binding, correct, samples[:1], sizes, tolerance)
        if comparison is None:
            continue
        if result.closest is None or comparison.relative_error < result.closest.relative_error:
            result.closest = comparison
        if comparison.matches:
            full = _evaluate(reference, params, binding, correct, samples, sizes, tolerance)
            if full is not None and full.matches:
                result.match = Match(binding, correct, full)
                break
    if result.match is None:
        mistaken = list(reference.mistaken_bindings(params, sizes))
        result.match = _search_mistakes(reference, params, sizes, samples, tolerance, candidates + mistaken,
                                        variants, result, started + budget_s)
    result.seconds = time.monotonic() - started
    return result


def _search_mistakes(reference: ReferenceSolution, params: Mapping[str, torch.Tensor], sizes: Mapping[str, int],
                     samples: list[tuple[torch.Tensor, torch.Tensor]], tolerance: Tolerance, bindings: list[Any],
                     variants: list[Any], result: Search, deadline: float) -> Match | None:
    """Combinations of mistakes, fewest first, so that the simplest explanation of the output wins."""
    pairs = [(binding, variant) for binding, variant in itertools.product(bindings, variants)
             if 0 < len(binding.mistakes) + len(variant.mistakes) <= MAX_MISTAKES_COMBINED]
    pairs.sort(key=lambda pair: len(pair[0].mistakes) + len(pair[1].mistakes))
    for binding, variant in pairs:
        if time.monotonic() > deadline:
            result.exhausted = True
            return None
        result.tried += 1
        comparison = _evaluate(reference, params, binding, variant, samples[:1], sizes, tolerance)
        if comparison is not None and comparison.matches:
            full = _evaluate(reference, params, binding, variant, samples, sizes, tolerance)
            if full is not None and full.matches:
                return Match(binding, variant, full)
    return None


def _compare_each(reference: ReferenceSolution, params: Mapping[str, torch.Tensor], binding: Any, variant: Any,
                  samples: list[tuple[torch.Tensor, torch.Tensor]], sizes: Mapping[str, int],
                  tolerance: Tolerance) -> list[Comparison] | None:
    """One comparison per sample input (no early exit), or None if the reading does not fit the instance."""
    comparisons = []
    for x, output in samples:
        try:
            expected = reference.forward(params, binding, x, sizes, variant)
        except (RuntimeError, IndexError, ValueError):
            return None
        comparisons.append(compare(output, expected, tolerance))
    return comparisons


def rebind(reference: ReferenceSolution, match: Match, params: Mapping[str, torch.Tensor], sizes: Mapping[str, int],
           samples: list[tuple[torch.Tensor, torch.Tensor]],
           tolerance: Tolerance) -> tuple[Any, list[Comparison]] | None:
    """The same reading for another configuration's instance.

    The matched binding transferred to these sizes first; if it does not apply or does not reproduce the output,
    other bindings of the same family. Returns the binding and its comparison on each sample under the matched
    variant (the transferred binding's when nothing reproduces the output), or None if no binding of the family
    applies at all.
    """
    family = tuple(match.binding.mistakes)
    transferred = reference.transfer(match.binding, sizes)
    fallback: tuple[Any, list[Comparison]] | None = None
    if transferred.parameter_names() <= set(params):
        comparisons = _compare_each(reference, params, transferred, match.variant, samples, sizes, tolerance)
        if comparisons is not None:
            if all(c.matches for c in comparisons):
                return transferred, comparisons
            fallback = (transferred, comparisons)
    pool = reference.bindings(params, sizes) if not family else reference.mistaken_bindings(params, sizes)
    for binding in itertools.islice(pool, MISTAKE_SEARCH_BINDINGS):
        if tuple(binding.mistakes) != family:
            continue
        comparisons = _compare_each(reference, params, binding, match.variant, samples, sizes, tolerance)
        if comparisons is None:
            continue
        if all(c.matches for c in comparisons):
            return binding, comparisons
        if fallback is None:
            fallback = (binding, comparisons)
    return fallback
