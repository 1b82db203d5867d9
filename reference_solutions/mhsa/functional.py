"""Multi-head self-attention as a pure function of the input and the weights, with switchable mistakes."""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Literal

import torch

ScaleKind = Literal["head_dim", "none", "embed_dim"]
SoftmaxAxis = Literal["keys", "queries", "heads", "batch"]
Layout = Literal["seq_first", "batch_first"]

# Axis of the (batch, heads, queries, keys) score tensor that each softmax choice normalises over.
_SOFTMAX_DIM = {"keys": -1, "queries": -2, "heads": 1, "batch": 0}


@dataclass(frozen=True)
class Variant:
    """How the forward pass is computed: the correct way, or with one or more of the known mistakes."""

    scale: ScaleKind = "head_dim"
    softmax_axis: SoftmaxAxis = "keys"
    layout: Layout = "seq_first"

    @property
    def mistakes(self) -> tuple[str, ...]:
        """Ids of the mistakes this variant makes (see ``mistakes.MISTAKES``)."""
        found = []
        if self.layout == "batch_first":
            found.append("batch_first_input")
        if self.scale != "head_dim":
            found.append("no_scale" if self.scale == "none" else "scale_by_embed_dim")
        if self.softmax_axis != "keys":
            found.append(f"softmax_over_{self.softmax_axis}")
        return tuple(found)


CORRECT = Variant()


def all_variants() -> list[Variant]:
    """Every combination of the forward-pass mistakes, the correct one first, then by number of mistakes."""
    scales: tuple[ScaleKind, ...] = ("head_dim", "none", "embed_dim")
    axes: tuple[SoftmaxAxis, ...] = ("keys", "queries", "heads", "batch")
    layouts: tuple[Layout, ...] = ("seq_first", "batch_first")
    combos = [Variant(scale, axis, layout) for scale, axis, layout in itertools.product(scales, axes, layouts)]
    return sorted(combos, key=lambda variant: len(variant.mistakes))


@dataclass(frozen=True)
class Weights:
    """Projection weights in ``nn.Linear`` convention; ``o`` None means no output projection."""

    q: torch.Tensor
    k: torch.Tensor
    v: torch.Tensor
    o: torch.Tensor | None
    q_bias: torch.Tensor | None = None
    k_bias: torch.Tensor | None = None
    v_bias: torch.Tensor | None = None
    o_bias: torch.Tensor | None = None


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    out = x @ weight.transpose(0, 1)
    return out + bias if bias is not None else out


def attention(x: torch.Tensor, weights: Weights, num_heads: int, variant: Variant = CORRECT) -> torch.Tensor:
    """Self-attention of ``x`` of shape (seq, batch, embed), computed as ``variant`` says."""
    if variant.layout == "batch_first":
        # Reading (seq, batch) as (batch, seq) is the correct computation on the transposed input.
        inner = dataclasses.replace(variant, layout="seq_first")
        return attention(x.transpose(0, 1), weights, num_heads, inner).transpose(0, 1)
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
    attn = torch.softmax(scores, dim=_SOFTMAX_DIM[variant.softmax_axis])
    context = (attn @ v).permute(2, 0, 1, 3).reshape(seq_len, batch, embed_dim)
    if weights.o is None:
        return context
    return _linear(context, weights.o, weights.o_bias)
