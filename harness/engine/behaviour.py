"""Behavioural checks that need no weight binding.

Batch independence, mixing along the sequence, permutation equivariance: they decide the layout item when no
binding fits, and add evidence when one does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..models import Tolerance
from .compare import compare

# Behavioural comparisons are between two outputs of the candidate itself, so the bar is float32 rounding.
SAME = Tolerance(rtol=1e-4, atol=1e-5, max_relative_error=1e-4)


@dataclass(frozen=True)
class Behaviour:
    """What perturbing and permuting the input showed, for one configuration."""

    batch_independent: bool | None
    """Changing batch element 0 left the other batch elements' outputs unchanged."""
    mixes_positions: bool | None
    """Changing position 0 changed the outputs at other positions."""
    permutation_equivariant: bool | None
    """Permuting the positions of the input permuted the output the same way."""

    @property
    def sequence_first(self) -> bool | None:
        """The input is read as (seq, batch, ...): positions mix and batch elements do not."""
        if self.batch_independent is None or self.mixes_positions is None:
            return None
        return self.batch_independent and self.mixes_positions


def observe(output: torch.Tensor, variations: dict[str, torch.Tensor | None], permutation: torch.Tensor | None,
            sequence_axis: int, batch_axis: int) -> Behaviour:
    """Compare the outputs for the perturbed and permuted inputs with the output for the original input."""

    def rest(tensor: torch.Tensor, axis: int) -> torch.Tensor:
        return tensor.narrow(axis, 1, tensor.shape[axis] - 1)

    batch = variations.get("batch_perturbed")
    position = variations.get("position_perturbed")
    permuted = variations.get("permuted")
    valid = [v for v in (batch, position, permuted) if v is not None and v.shape == output.shape]
    if len(valid) < 3:
        return Behaviour(None, None, None)
    assert batch is not None and position is not None and permuted is not None and permutation is not None
    batch_independent = compare(rest(batch, batch_axis), rest(output, batch_axis), SAME).matches
    mixes_positions = not compare(rest(position, sequence_axis), rest(output, sequence_axis), SAME).matches
    equivariant = compare(permuted, output.index_select(sequence_axis, permutation), SAME).matches
    return Behaviour(batch_independent, mixes_positions, equivariant)
