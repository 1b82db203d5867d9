"""Multi-head self-attention as a pure function of the input and the weights, with switchable mistakes."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from dataclasses import dataclass
from typing import Literal

import torch

ScaleKind = Literal["head_dim", "none", "embed_dim", "after_softmax"]
SoftmaxAxis = Literal["keys", "queries", "heads", "batch"]
Layout = Literal["seq_first", "batch_first"]
Mask = Literal["none", "causal"]
Merge = Literal["heads_last", "reshape_batch_first", "reshape_seq_first"]
Norm = Literal["none", "post_residual", "pre"]

# Axis of the (batch, heads, queries, keys) score tensor that each softmax choice normalises over.
_SOFTMAX_DIM = {"keys": -1, "queries": -2, "heads": 1, "batch": 0}

MAX_COMBINED_MISTAKES = 3
"""The most mistakes one explanation may combine: bounds the search, and more is not an explanation a person
would give."""

_SCALE_MISTAKES = {"none": "no_scale", "embed_dim": "scale_by_embed_dim", "after_softmax": "scale_after_softmax"}
_NORM_MISTAKES = {"post_residual": "extra_residual_layernorm", "pre": "layernorm_before_attention"}


@dataclass(frozen=True)
class Variant:
    """How the forward pass is computed: the correct way, or with one or more of the known mistakes."""

    scale: ScaleKind = "head_dim"
    """Where and by what the scores are scaled; ``after_softmax`` divides the weights by sqrt(head_dim)."""
    softmax_axis: SoftmaxAxis = "keys"
    layout: Layout = "seq_first"
    mask: Mask = "none"
    """``causal`` hides the later keys from each query (an autoregressive mask this problem does not have)."""
    merge: Merge = "heads_last"
    """How the heads' outputs are put back together: ``reshape_*`` reshapes (batch, heads, seq, head_dim), or
    (batch * heads, seq, head_dim), straight to the output's shape without moving the head axis."""
    norm: Norm = "none"
    """An extra LayerNorm: of ``x + attention`` (a post-norm sub-layer), or of x before the projections."""

    @property
    def mistakes(self) -> tuple[str, ...]:
        """Ids of the mistakes this variant makes (see ``mistakes.MISTAKES``)."""
        found = []
        if self.layout == "batch_first":
            found.append("batch_first_input")
        if self.scale != "head_dim":
            found.append(_SCALE_MISTAKES[self.scale])
        if self.softmax_axis != "keys":
            found.append(f"softmax_over_{self.softmax_axis}")
        if self.mask == "causal":
            found.append("causal_mask")
        if self.merge != "heads_last":
            found.append("heads_merged_by_reshape")
        if self.norm != "none":
            found.append(_NORM_MISTAKES[self.norm])
        return tuple(found)


CORRECT = Variant()


def all_variants() -> list[Variant]:
    """Combinations of the forward-pass mistakes, the correct one first, then by number of mistakes.

    At most ``MAX_COMBINED_MISTAKES`` in one variant; within a count, the order of the fields above (the more
    common mistakes first), so that the simplest explanation of an output is the one found.
    """
    return list(_variants_in_order())


@functools.cache
def _variants_in_order() -> tuple[Variant, ...]:
    # Built once per process: a grading asks for the list once per configuration, and it never changes.
    scales: tuple[ScaleKind, ...] = ("head_dim", "none", "embed_dim", "after_softmax")
    axes: tuple[SoftmaxAxis, ...] = ("keys", "queries", "heads", "batch")
    layouts: tuple[Layout, ...] = ("seq_first", "batch_first")
    masks: tuple[Mask, ...] = ("none", "causal")
    merges: tuple[Merge, ...] = ("heads_last", "reshape_batch_first", "reshape_seq_first")
    norms: tuple[Norm, ...] = ("none", "post_residual", "pre")
    combos = [Variant(*fields) for fields in itertools.product(scales, axes, layouts, masks, merges, norms)]
    combos = [variant for variant in combos if len(variant.mistakes) <= MAX_COMBINED_MISTAKES]
    return tuple(sorted(combos, key=lambda variant: len(variant.mistakes)))


@dataclass(frozen=True)
class Weights:
    """Projection weights in ``nn.Linear`` convention.

    ``o`` None means no output projection, ``v`` None that the values are the input itself.
    """

    q: torch.Tensor
    k: torch.Tensor
    v: torch.Tensor | None
    o: torch.Tensor | None
    q_bias: torch.Tensor | None = None
    k_bias: torch.Tensor | None = None
    v_bias: torch.Tensor | None = None
    o_bias: torch.Tensor | None = None
    norm_weight: torch.Tensor | None = None
    """The affine weight and bias of the extra LayerNorm a variant may apply (None: no affine part)."""
    norm_bias: torch.Tensor | None = None


def _linear(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None) -> torch.Tensor:
    out = x @ weight.transpose(0, 1) if weight is not None else x
    return out + bias if bias is not None else out


def _layer_norm(x: torch.Tensor, weights: Weights) -> torch.Tensor:
    return torch.nn.functional.layer_norm(x, x.shape[-1:], weights.norm_weight, weights.norm_bias)


def attention(x: torch.Tensor, weights: Weights, num_heads: int, variant: Variant = CORRECT) -> torch.Tensor:
    """Self-attention of ``x`` of shape (seq, batch, embed), computed as ``variant`` says."""
    if variant.layout == "batch_first":
        # Reading (seq, batch) as (batch, seq) is the correct computation on the transposed input.
        inner = dataclasses.replace(variant, layout="seq_first")
        return attention(x.transpose(0, 1), weights, num_heads, inner).transpose(0, 1)
    if variant.norm == "post_residual":
        inner = dataclasses.replace(variant, norm="none")
        return _layer_norm(x + attention(x, weights, num_heads, inner), weights)
    if variant.norm == "pre":
        x = _layer_norm(x, weights)
    seq_len, batch, embed_dim = x.shape
    head_dim = embed_dim // num_heads

    def heads(t: torch.Tensor) -> torch.Tensor:  # (seq, batch, embed) -> (batch, heads, seq, head_dim)
        return t.reshape(seq_len, batch, num_heads, head_dim).permute(1, 2, 0, 3)

    q = heads(_linear(x, weights.q, weights.q_bias))
    k = heads(_linear(x, weights.k, weights.k_bias))
    v = heads(_linear(x, weights.v, weights.v_bias))
    scores = q @ k.transpose(-1, -2)
    if variant.scale == "head_dim":
        scores = scores / math.sqrt(head_dim)
    elif variant.scale == "embed_dim":
        scores = scores / math.sqrt(embed_dim)
    if variant.mask == "causal":
        later = torch.ones(seq_len, seq_len, dtype=torch.bool).triu(diagonal=1)
        scores = scores.masked_fill(later, float("-inf"))
    attn = torch.softmax(scores, dim=_SOFTMAX_DIM[variant.softmax_axis])
    if variant.scale == "after_softmax":
        attn = attn / math.sqrt(head_dim)
    heads_out = attn @ v  # (batch, heads, seq, head_dim)
    if variant.merge == "reshape_batch_first":
        context = heads_out.reshape(batch, seq_len, embed_dim).transpose(0, 1)
    elif variant.merge == "reshape_seq_first":
        context = heads_out.reshape(seq_len, batch, embed_dim)
    else:
        context = heads_out.permute(2, 0, 1, 3).reshape(seq_len, batch, embed_dim)
    if weights.o is None:
        return context
    return _linear(context, weights.o, weights.o_bias)
