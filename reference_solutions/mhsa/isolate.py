"""Parts of an unexplained attention verified one by one: the attention weights recovered from the output.

When no reading and no combination of known mistakes reproduces a module's output, each part that can be checked
on its own still earns its item. Under a reading of the value and output projections, the output is inverted
through the output projection and each head's output is solved for as a combination of that head's values: with no
more positions than head_dim, the weights of that combination are unique. If every head's output is such a
combination, the values, the merge of the heads and the output projection are verified, and the recovered weights
say the rest: whether they are normalised over the keys, whether a mask hides keys, and, against the scores of the
reading's own queries and keys, the temperature of the softmax.

Everything here runs in the harness's process on the host's own parameter values and the candidate's output.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch

from .binding import Binding

REPRESENTED = 1e-4
"""Largest residual, relative to the output's scale, of a head's output as a combination of its values."""
NORMALISED = 1e-3
"""Largest departure of a row of weights from summing to 1."""
FITS = 1e-3
"""Largest residual, relative to the spread of the log-weights, of a softmax of scaled scores."""
SCALE = 1e-2
"""Largest relative difference between the measured temperature and 1/sqrt(head_dim)."""
HIDDEN = 1e-4
"""A recovered weight this close to 0 is a key the query does not see (the recovery's noise is about 1e-6)."""
VISIBLE = 1e-3
"""Weights above this enter the temperature fit."""


@dataclass(frozen=True)
class Decision:
    """One rubric item decided from isolated evidence."""

    status: str
    feedback: str


@dataclass
class _Recovered:
    binding: Binding
    residual: float
    weights: torch.Tensor  # (batch, heads, queries, keys)
    scores: torch.Tensor  # raw q . k of the reading's own heads, same shape


def _heads(t: torch.Tensor, heads: int) -> torch.Tensor:
    seq, batch, embed = t.shape
    return t.reshape(seq, batch, heads, embed // heads).permute(1, 2, 0, 3)


def _project(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None) -> torch.Tensor:
    out = x @ weight.transpose(0, 1) if weight is not None else x
    return out + bias if bias is not None else out


def _recover(params: Mapping[str, torch.Tensor], binding: Binding, x: torch.Tensor, output: torch.Tensor,
             heads: int) -> _Recovered | None:
    try:
        w = binding.weights_from(params)
        context = output.double() - (w.o_bias if w.o_bias is not None else 0.0)
        if w.o is not None:
            flat = context.reshape(-1, context.shape[-1])
            context = torch.linalg.solve(w.o.double(), flat.transpose(0, 1)).transpose(0, 1).reshape(context.shape)
        values = _heads(_project(x, w.v, w.v_bias), heads)
        per_head = _heads(context, heads)
        solved = torch.linalg.lstsq(values.transpose(-1, -2), per_head.transpose(-1, -2)).solution
        weights = solved.transpose(-1, -2)
        scale = per_head.norm(dim=-1).mean().clamp_min(1e-12)
        residual = float(((weights @ values - per_head).norm(dim=-1) / scale).max())
        scores = _heads(_project(x, w.q, w.q_bias), heads) @ _heads(_project(x, w.k, w.k_bias), heads).transpose(-1, -2)
    except (RuntimeError, IndexError, ValueError, AssertionError):
        return None
    if not math.isfinite(residual):
        return None
    return _Recovered(binding, residual, weights, scores)


def _temperature(weights: torch.Tensor, scores: torch.Tensor) -> tuple[float, float] | None:
    """The t for which the weights are a softmax of t * scores over the keys, and the fit's relative residual.

    Only weights clearly above the recovery's noise enter the fit (their logarithm is meaningful), in rows with at
    least two of them; each row is centred on its own mean, which removes the softmax's normaliser.
    """
    valid = weights > VISIBLE
    rows = valid.sum(dim=-1, keepdim=True)
    if not bool((rows >= 2).any()):
        return None
    valid = valid & (rows >= 2)
    count = valid.sum(dim=-1, keepdim=True).clamp_min(1)
    logs = torch.where(valid, weights.clamp_min(VISIBLE).log(), torch.zeros_like(weights))
    logs = torch.where(valid, logs - logs.sum(dim=-1, keepdim=True) / count, torch.zeros_like(weights))
    picked = torch.where(valid, scores, torch.zeros_like(scores))
    centred = torch.where(valid, scores - picked.sum(dim=-1, keepdim=True) / count, torch.zeros_like(scores))
    spread = float((centred * centred).sum())
    if spread <= 0 or float(logs.norm()) <= 0:
        return None
    t = float((logs * centred).sum()) / spread
    residual = float((logs - t * centred).norm() / logs.norm())
    return t, residual


def isolate(params: Mapping[str, torch.Tensor], sizes: Mapping[str, int], x: torch.Tensor, output: torch.Tensor,
            readings: Iterable[Binding]) -> dict[str, Decision]:
    """Items decided for an output no known explanation reproduces; empty when nothing could be isolated.

    ``x`` is the float64 input, ``output`` the candidate's output for it, ``readings`` candidate readings of the
    parameters (bounded by the caller). Needs seq_len <= head_dim, where the combination weights are unique.
    """
    heads, embed, seq = sizes["num_heads"], sizes["embed_dim"], x.shape[0]
    head_dim = embed // heads
    if not 2 <= seq <= head_dim or tuple(output.shape) != tuple(x.shape):
        return {}
    best: _Recovered | None = None
    for binding in readings:
        found = _recover(params, binding, x, output, heads)
        if found is not None and (best is None or found.residual < best.residual):
            best = found
            if found.residual <= REPRESENTED:
                break
    if best is None or best.residual > REPRESENTED:
        return {}
    decided: dict[str, Decision] = {}
    weights = best.weights
    decided["output_projection"] = Decision(
        "passed", "Checked on its own: your output is a learned linear map of the concatenated heads, each head's "
        "output a weighted combination of its own values.")
    row_sums = weights.sum(dim=-1)
    later = torch.ones(seq, seq, dtype=torch.bool).triu(diagonal=1)
    hidden = weights.abs() <= HIDDEN
    masked = bool(hidden[..., later].all())
    if masked:
        decided["no_extra_operations"] = Decision(
            "failed", "Checked on its own: every query gives zero weight to the keys after it, an autoregressive "
            "(causal) mask this problem does not have; every query attends to every key.")
    over_keys = float((row_sums - 1).abs().max()) <= NORMALISED
    over_queries = float((weights.sum(dim=-2) - 1).abs().max()) <= NORMALISED
    if over_keys and over_queries:
        pass  # weights that sum to 1 both ways (uniform ones, as from constant scores) cannot tell the axis
    elif over_keys and bool((weights >= -1e-6).all()):
        decided["softmax_over_keys"] = Decision(
            "passed", "Checked on its own: each query's attention weights are positive and sum to 1 over the keys.")
    elif over_queries:
        decided["softmax_over_keys"] = Decision(
            "failed", "Checked on its own: your attention weights sum to 1 over the queries, not over the keys; "
            "the softmax must run over the keys (the last axis of QK^T).")
    else:
        low, high = float(row_sums.min()), float(row_sums.max())
        decided["softmax_over_keys"] = Decision(
            "failed", f"Checked on its own: each query's attention weights should sum to 1 over the keys; yours "
            f"sum to between {low:.3g} and {high:.3g}.")
    fit = None if masked else _temperature(weights, best.scores)
    fits = fit is not None and fit[1] <= FITS
    # A key may get a tiny weight from a saturated softmax; hidden where the fitted softmax gives it weight is a mask.
    expected_hidden = torch.softmax(fit[0] * best.scores, dim=-1) <= 10 * VISIBLE if fit is not None and fits \
        else torch.zeros_like(hidden)
    if not masked and not bool((hidden & ~expected_hidden).any()):
        decided["no_extra_operations"] = Decision(
            "passed", "Checked on its own: every query attends to every key, and nothing follows the output "
            "projection.")
    if fit is not None and fits:
        t = fit[0]
        decided["projection_before_split"] = Decision(
            "passed", "Checked on its own: the attention weights are a softmax of the scores of learned Q and K "
            "projections of the whole embedding, and the values a learned projection.")
        decided["distinct_heads"] = Decision(
            "passed", "Checked on its own: each head attends with the scores of its own slice of Q and K.")
        right = 1 / math.sqrt(head_dim)
        if abs(t / right - 1) <= SCALE:
            decided["scaling"] = Decision("passed", "Checked on its own: the scores are scaled by 1/sqrt(head_dim).")
        else:
            decided["scaling"] = Decision(
                "failed", f"Checked on its own: your softmax sees the scores multiplied by {t:.4g}; it should be "
                f"1/sqrt(head_dim) = {right:.4g}.")
    return decided
