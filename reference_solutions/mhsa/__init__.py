"""Reference for multi-head self-attention with a (seq, batch, embed) input, and its known mistakes.

Everything here runs only in the harness's own process, never in a sandbox.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Mapping
from pathlib import Path

import torch

from .binding import Binding, correct_bindings, layer_norm_params, mistaken_bindings, tokens
from .functional import CORRECT, Variant, Weights, all_variants, attention
from .isolate import Decision, isolate
from .mistakes import MISTAKES, Mistake

__all__ = ["MISTAKES", "REFERENCE", "Binding", "MHSAReference", "Mistake", "Variant", "Weights", "attention",
           "tokens"]


ISOLATION_READINGS = 64
"""Readings of the parameters tried when isolating parts; the first 64 cover every assignment of roles to four
square matrices in both orientations."""


class MHSAReference:
    """The reference solution object the engine uses."""

    mistakes: Mapping[str, Mistake] = MISTAKES
    structural_items = ("sequence_first_layout", "scaling", "softmax_over_keys", "projection_before_split",
                        "distinct_heads", "output_projection", "no_extra_operations")
    layout_item = "sequence_first_layout"
    wording = {
        "computation": "self-attention over (seq, batch, embed)",
        "check_advice": "It is none of the mistakes we know, so a person will look at it; comparing your module "
                        "step by step with nn.MultiheadAttention under the same weights shows where it departs.",
        "roles": "q/k/v/output projections",
        "builtin": "the built-in attention (nn.MultiheadAttention, F.multi_head_attention_forward, "
                   "F.scaled_dot_product_attention)",
        "builtin_diagnosis": "builtin_attention",
        "layout_mistake": "batch_first_input",
        "dropout_mistake": "dropout_in_eval",
    }
    """The flagship's words in the engine's feedback."""
    module_file = Path(__file__).with_name("module.py")
    """An nn.Module implementing the reference, for time and memory measurements."""

    def variants(self) -> list[Variant]:
        """Forward-pass variants, the correct one first, then by increasing number of mistakes."""
        return all_variants()

    def forward(self, params: Mapping[str, torch.Tensor], binding: Binding, x: torch.Tensor,
                sizes: Mapping[str, int], variant: Variant = CORRECT) -> torch.Tensor:
        """The output for input ``x`` under the candidate's parameters, as ``variant`` computes it."""
        weights = binding.weights_from(params)
        if variant.norm != "none":
            norm = layer_norm_params(params, binding, sizes["embed_dim"])
            weights = dataclasses.replace(weights, norm_weight=norm["norm_weight"], norm_bias=norm["norm_bias"])
        return attention(x, weights, sizes["num_heads"], variant)

    def bindings(self, params: Mapping[str, torch.Tensor], sizes: Mapping[str, int]) -> Iterator[Binding]:
        """Readings of the candidate's parameters with the correct structure, most plausible first."""
        return correct_bindings(params, sizes["embed_dim"], sizes["num_heads"])

    def transfer(self, binding: Binding, sizes: Mapping[str, int]) -> Binding:
        """The same reading for an instance built with other sizes."""
        return binding.resized(sizes["num_heads"])

    def isolate(self, params: Mapping[str, torch.Tensor], sizes: Mapping[str, int], x: torch.Tensor,
                output: torch.Tensor) -> dict[str, Decision]:
        """Items decided part by part when nothing explains the whole output (see ``isolate.py``)."""
        readings = itertools.islice(correct_bindings(params, sizes["embed_dim"], sizes["num_heads"]),
                                    ISOLATION_READINGS)
        return isolate(params, sizes, x, output, readings)

    def mistaken_bindings(self, params: Mapping[str, torch.Tensor], sizes: Mapping[str, int]) -> Iterator[Binding]:
        """Readings that reproduce structural mistakes (no output projection, split before projecting, ...)."""
        return mistaken_bindings(params, sizes["embed_dim"], sizes["num_heads"])


REFERENCE = MHSAReference()
