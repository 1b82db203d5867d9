"""Tensors drawn from a seed by a declared law: the same values wherever they are drawn.

The host draws every input it sends from these specs, and the agent draws the fresh inputs of timed calls from the
same specs, so the host can recompute what a timed call received without sending it.
"""

from __future__ import annotations

import math
from typing import Any

import torch

DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int64": torch.int64,
    "int32": torch.int32,
    "bool": torch.bool,
}

MAX_DRAW_ELEMENTS = 1 << 26
"""The most elements one draw may have (a spec arriving at the agent is the host's, but bounds cost nothing)."""


class DrawError(ValueError):
    """A draw spec that cannot be drawn (unknown law or dtype, a bad shape)."""


def draw_tensor(spec: dict[str, Any]) -> torch.Tensor:
    """The tensor ``spec`` describes: ``{shape, dtype, law, seed, ...law arguments}``.

    Laws: ``normal`` (``mean``, ``std``), ``uniform`` (``low``, ``high``), ``integers`` (``low`` inclusive, ``high``
    exclusive), ``bernoulli`` (``p``), ``padding_mask`` (right padding over the last axis, True = pad, each row's
    length uniform in [``min_length``, n], one full row and, when n > 1, one padded row), ``key_mask`` (True = masked
    with probability ``p``, never the first position of the last axis, never in the first row, and in every other
    row at least one masked position followed by an unmasked one).
    """
    shape = tuple(int(size) for size in spec.get("shape", []))
    if any(size < 0 for size in shape) or math.prod(shape) > MAX_DRAW_ELEMENTS:
        raise DrawError(f"bad shape {list(shape)}")
    dtype = DTYPES.get(str(spec.get("dtype", "float32")))
    if dtype is None:
        raise DrawError(f"unknown dtype {spec.get('dtype')!r}")
    generator = torch.Generator().manual_seed(int(spec["seed"]))
    law = spec.get("law", "normal")
    # Floating draws are made in their own dtype (float64 only where asked): a benchmark draws millions per call.
    real = dtype if dtype in (torch.float32, torch.float64) else torch.float64
    if law == "normal":
        values = torch.randn(shape, generator=generator, dtype=real)
        return (values * float(spec.get("std", 1.0)) + float(spec.get("mean", 0.0))).to(dtype)
    if law == "uniform":
        low, high = float(spec.get("low", 0.0)), float(spec.get("high", 1.0))
        return (torch.rand(shape, generator=generator, dtype=real) * (high - low) + low).to(dtype)
    if law == "integers":
        return torch.randint(int(spec.get("low", 0)), int(spec["high"]), shape, generator=generator).to(dtype)
    if law == "bernoulli":
        return (torch.rand(shape, generator=generator) < float(spec.get("p", 0.5))).to(dtype)
    if law == "padding_mask":
        return _padding_mask(shape, int(spec.get("min_length", 1)), generator).to(dtype)
    if law == "key_mask":
        return _key_mask(shape, float(spec.get("p", 0.3)), generator).to(dtype)
    raise DrawError(f"unknown law {law!r}")


def _key_mask(shape: tuple[int, ...], p: float, generator: torch.Generator) -> torch.Tensor:
    if len(shape) < 1:
        raise DrawError("a key mask needs at least one axis")
    mask = torch.rand(shape, generator=generator) < p
    length = shape[-1]
    if length >= 3:  # every row but the first has a masked key with an unmasked query after it
        rows = mask.reshape(-1, length)
        holes = torch.randint(1, length - 1, (rows.shape[0],), generator=generator)
        rows[torch.arange(rows.shape[0]), holes] = True
        rows[torch.arange(rows.shape[0]), holes + 1] = False
    mask[..., 0] = False
    if mask.dim() > 1 and mask.shape[0]:
        mask[0] = False
    return mask


def _padding_mask(shape: tuple[int, ...], min_length: int, generator: torch.Generator) -> torch.Tensor:
    if len(shape) < 1:
        raise DrawError("a padding mask needs at least one axis")
    rows, length = math.prod(shape[:-1]), shape[-1]
    low = max(1, min(min_length, length))
    lengths = torch.randint(low, length + 1, (rows,), generator=generator)
    if rows and length:
        lengths[0] = length
        if rows > 1 and length > 1:
            lengths[-1] = torch.randint(low, length, (1,), generator=generator).clamp(max=length - 1)
    mask = torch.arange(length).unsqueeze(0) >= lengths.unsqueeze(1)
    return mask.reshape(shape)
