"""Comparison of a candidate's tensor with the reference's, on the trusted side."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..models import Tolerance


@dataclass(frozen=True)
class Comparison:
    """How far a candidate tensor is from the expected one."""

    matches: bool
    max_abs_error: float
    relative_error: float
    reason: str = ""

    def evidence(self) -> dict[str, float | str]:
        """The figures for a scorecard's details, rounded to 3 significant digits."""
        data: dict[str, float | str] = {
            "max_abs_error": float(f"{self.max_abs_error:.3g}"),
            "relative_error": float(f"{self.relative_error:.3g}"),
        }
        if self.reason:
            data["reason"] = self.reason
        return data


def compare(actual: torch.Tensor, expected: torch.Tensor, tolerance: Tolerance) -> Comparison:
    """Elementwise allclose and a relative-norm bound must both hold; shapes and finiteness are checked first."""
    inf = float("inf")
    if tuple(actual.shape) != tuple(expected.shape):
        return Comparison(False, inf, inf, f"shape {tuple(actual.shape)} instead of {tuple(expected.shape)}")
    if not actual.is_floating_point():
        return Comparison(False, inf, inf, f"dtype {actual.dtype} is not a floating-point type")
    actual64, expected64 = actual.detach().double(), expected.detach().double()
    if not torch.isfinite(actual64).all():
        return Comparison(False, inf, inf, "contains NaN or infinite values")
    diff = (actual64 - expected64).abs()
    max_abs = float(diff.max()) if diff.numel() else 0.0
    norm = float(expected64.norm())
    relative = float(diff.norm()) / norm if norm > 0 else (0.0 if max_abs == 0 else inf)
    # Rounding error grows with the magnitude of the values summed, so atol is in units of the expected
    # tensor's largest magnitude once that exceeds 1 (gradients summed over many positions reach tens).
    scale = max(1.0, float(expected64.abs().max())) if expected64.numel() else 1.0
    close = bool(torch.allclose(actual64, expected64, rtol=tolerance.rtol, atol=tolerance.atol * scale))
    # An expected tensor that is zero up to rounding (e.g. the gradient of a key bias, which softmax cancels)
    # has no meaningful relative error; the elementwise test alone decides there. Anything larger must also
    # pass the relative test, which an all-zeros answer cannot.
    negligible = norm <= tolerance.atol * scale * math.sqrt(max(expected64.numel(), 1))
    return Comparison(close and (negligible or relative <= tolerance.max_relative_error), max_abs, relative)
