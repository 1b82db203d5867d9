"""Reference of causal self-attention with a key padding mask; its parameters are read as the flagship's are."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

from harness.kit import Defined, Flags, Mistake, Reference
from reference_solutions.mhsa.binding import Binding, correct_bindings

MISTAKES = [
    Mistake("no_causal_mask", ("causal_mask",),
            "Every position attends to later positions too: mask the scores where the key comes after the query.",
            group="causal"),
    Mistake("anticausal_mask", ("causal_mask",),
            "The mask keeps the keys at or after each query instead of at or before it (triu and tril swapped).",
            group="causal"),
    Mistake("padding_ignored", ("padding_mask",),
            "key_padding_mask is accepted but never applied: padded keys must get no attention.", group="padding"),
    Mistake("padding_inverted", ("padding_mask",),
            "The padding mask is inverted: True marks padding, so mask the keys where it is True.", group="padding"),
    Mistake("scale_by_embed_dim", ("scaling",),
            "The scores are divided by sqrt(embed_dim); divide by sqrt(head_dim) = sqrt(embed_dim / num_heads).",
            group="scale"),
    Mistake("no_scale", ("scaling",), "The scores are not scaled: divide QK^T by sqrt(head_dim).", group="scale"),
    Mistake("softmax_over_queries", ("softmax_over_keys",),
            "The softmax normalises over the queries; each query's weights must sum to one over the keys."),
]


def _linear(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None) -> torch.Tensor:
    # No weight is the identity: with one head, a module may skip its output projection.
    out = x @ weight.transpose(0, 1) if weight is not None else x
    return out + bias if bias is not None else out


def compute(call: str, inputs: dict[str, torch.Tensor], values: dict[str, Any], weights: Any,
            mistakes: Flags) -> Defined:
    """The output at the positions it is defined: non-padded queries that have a key to attend to."""
    x = inputs["x"]
    batch, seq, embed = x.shape
    heads = int(values["H"])
    head_dim = embed // heads
    masked = call != "unmasked"
    padding = inputs["key_padding_mask"] if masked else torch.zeros(batch, seq, dtype=torch.bool)

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(batch, seq, heads, head_dim).transpose(1, 2)

    q = split(_linear(x, weights.q, weights.q_bias))
    k = split(_linear(x, weights.k, weights.k_bias))
    v = split(_linear(x, weights.v, weights.v_bias))
    scores = q @ k.transpose(-1, -2)
    if "scale_by_embed_dim" in mistakes:
        scores = scores / math.sqrt(embed)
    elif "no_scale" not in mistakes:
        scores = scores / math.sqrt(head_dim)
    query, key = torch.arange(seq).unsqueeze(1), torch.arange(seq).unsqueeze(0)
    if "no_causal_mask" in mistakes:
        allowed = torch.ones(seq, seq, dtype=torch.bool)
    elif "anticausal_mask" in mistakes:
        allowed = key >= query
    else:
        allowed = key <= query
    allowed = allowed.expand(batch, 1, seq, seq)
    if "padding_inverted" in mistakes and masked:
        allowed = allowed & padding[:, None, None, :]
    elif "padding_ignored" not in mistakes:
        allowed = allowed & ~padding[:, None, None, :]
    scores = scores.masked_fill(~allowed, float("-inf"))
    weights_ = torch.softmax(scores, dim=-2 if "softmax_over_queries" in mistakes else -1)
    context = (weights_ @ v).transpose(1, 2).reshape(batch, seq, embed)
    output = _linear(context, weights.o, weights.o_bias)
    # Rows with no key to attend to are each implementation's own business (NaN, or uniform weights).
    defined = ~padding & allowed.any(dim=-1).all(dim=1) & torch.isfinite(output).all(dim=-1)
    return Defined(output, defined)


class AttentionBinder:
    """Reads the candidate's parameters as q, k, v and output projections (the flagship's readings)."""

    def bindings(self, params: Mapping[str, torch.Tensor], values: Mapping[str, Any]) -> Iterator[Binding]:
        """Readings with the correct structure, most plausible first."""
        return correct_bindings(params, int(values["E"]), int(values["H"]))

    def transfer(self, binding: Binding, params: Mapping[str, torch.Tensor],
                 values: Mapping[str, Any]) -> Binding | None:
        """The same reading for another number of heads, if it applies to these parameters."""
        moved = binding.resized(int(values["H"]))
        try:
            weights = moved.weights_from(params)
        except (KeyError, IndexError, RuntimeError, ValueError):
            return None
        embed = int(values["E"])
        if weights.o is None or any(tuple(w.shape) != (embed, embed) for w in (weights.q, weights.k, weights.v)):
            return None
        return moved


REFERENCE = Reference(compute=compute, mistakes=MISTAKES, binder=AttentionBinder(),
                      solution=Path(__file__).with_name("solution.py"))
