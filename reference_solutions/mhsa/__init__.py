"""Reference for multi-head self-attention with a (seq, batch, embed) input, and its known mistakes.

Everything here runs only in the harness's own process, never in a sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import torch

from .binding import Binding, correct_bindings, mistaken_bindings, tokens
from .functional import CORRECT, Variant, Weights, all_variants, attention
from .mistakes import MISTAKES, Mistake

__all__ = ["MISTAKES", "REFERENCE", "Binding", "MHSAReference", "Mistake", "Variant", "Weights", "attention",
           "tokens"]


class MHSAReference:
    """The reference solution object the engine uses."""

    mistakes: Mapping[str, Mistake] = MISTAKES
    structural_items = ("sequence_first_layout", "scaling", "softmax_over_keys", "projection_before_split",
                        "distinct_heads", "output_projection")
    layout_item = "sequence_first_layout"
    wording = {
        "computation": "self-attention over (seq, batch, embed)",
        "check_advice": "Check the scaling, the softmax axis, the head split and the output projection.",
        "roles": "q/k/v/output projections",
        "builtin": "the built-in attention (nn.MultiheadAttention, F.multi_head_attention_forward, "
                   "F.scaled_dot_product_attention)",
        "builtin_diagnosis": "builtin_attention",
        "layout_mistake": "batch_first_input",
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
        return attention(x, binding.weights_from(params), sizes["num_heads"], variant)

    def bindings(self, params: Mapping[str, torch.Tensor], sizes: Mapping[str, int]) -> Iterator[Binding]:
        """Readings of the candidate's parameters with the correct structure, most plausible first."""
        return correct_bindings(params, sizes["embed_dim"], sizes["num_heads"])

    def transfer(self, binding: Binding, sizes: Mapping[str, int]) -> Binding:
        """The same reading for an instance built with other sizes."""
        return binding.resized(sizes["num_heads"])

    def mistaken_bindings(self, params: Mapping[str, torch.Tensor], sizes: Mapping[str, int]) -> Iterator[Binding]:
        """Readings that reproduce structural mistakes (no output projection, split before projecting, ...)."""
        return mistaken_bindings(params, sizes["embed_dim"], sizes["num_heads"])


REFERENCE = MHSAReference()
