"""The values the host chose for a candidate's parameters, regenerated on the trusted side.

The "randomize" probe tells the agent a seed; the agent overwrites every parameter, in declaration order, with
values drawn from it. The reference is then computed with the values regenerated here from the same seed and the
shapes the construct probe declared, never with values the sandbox reports: a module that sets or reports other
values (zeros for its query and key weights, say) computes something the reference did not, and its own grade is
all that suffers.

The declaration is the candidate's, so it is bounded before anything is allocated: a module with more parameters
than ``MAX_PARAMETERS`` or more elements than ``MAX_PARAMETER_ELEMENTS`` is not read at all (no reading of its
parameters is searched), and malformed entries make the whole declaration unusable.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from runners.agent.probes import random_parameter_values

MAX_PARAMETERS = 256
"""Parameters of one instance the host considers; a module with more gets no reading of its parameters."""
MAX_PARAMETER_ELEMENTS = 1 << 24
"""Elements of all the parameters of one instance together (128 MiB in float64 on the host)."""
MAX_NAME_CHARS = 200
FLOAT_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
                "float64": torch.float64}


def declared_parameters(facts: Any) -> list[tuple[str, tuple[int, ...], torch.dtype]] | None:
    """The (name, shape, dtype) list a construct probe's facts declare, or None when it cannot be used."""
    entries = facts.get("parameters") if isinstance(facts, dict) else None
    if not isinstance(entries, list) or len(entries) > MAX_PARAMETERS:
        return None
    declared = []
    total = 0
    for entry in entries:
        if not isinstance(entry, dict):
            return None
        name, shape, dtype = entry.get("name"), entry.get("shape"), FLOAT_DTYPES.get(str(entry.get("dtype")))
        if not isinstance(name, str) or not name or len(name) > MAX_NAME_CHARS or dtype is None:
            return None
        if not isinstance(shape, list) or len(shape) > 8 or not all(
                type(size) is int and 0 <= size <= MAX_PARAMETER_ELEMENTS for size in shape):
            return None
        total += math.prod(shape)
        if total > MAX_PARAMETER_ELEMENTS:
            return None
        declared.append((name, tuple(shape), dtype))
    if len({name for name, _, _ in declared}) != len(declared):
        return None
    return declared


def chosen_values(declared: list[tuple[str, tuple[int, ...], torch.dtype]], seed: int) -> dict[str, torch.Tensor]:
    """The values the agent was told to set, in float64, drawn exactly as the agent draws them."""
    generator = torch.Generator().manual_seed(int(seed))
    return {name: random_parameter_values(shape, generator).to(dtype).double() for name, shape, dtype in declared}
