"""How the engine finds and talks to a problem's trusted reference solution."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import torch


class MistakeSpec(Protocol):
    """A known mistake: its id, the rubric items it fails, and the feedback that explains it."""

    id: str
    items: tuple[str, ...]
    message: str


class ReferenceSolution(Protocol):
    """What a reference module's ``REFERENCE`` object provides.

    A *binding* reads the candidate's parameters as the reference's weights; it has ``describe() -> dict``,
    ``parameter_names() -> set[str]`` and ``mistakes`` (structural mistakes it implies). A *variant* is a way of
    computing the forward pass; it has ``mistakes``; ``variants()[0]`` is the correct computation.
    """

    mistakes: Mapping[str, MistakeSpec]
    structural_items: Sequence[str]
    wording: Mapping[str, str]
    """The problem's own words in feedback (see ``DEFAULT_WORDING``); missing keys take the generic ones."""

    def variants(self) -> Sequence[Any]:
        """Forward-pass variants, the correct one first."""

    def bindings(self, params: Mapping[str, torch.Tensor], sizes: Mapping[str, int]) -> Iterable[Any]:
        """Readings of the candidate's parameters with the correct structure, most plausible first."""

    def transfer(self, binding: Any, sizes: Mapping[str, int]) -> Any:
        """The same reading for an instance built with other sizes."""

    def mistaken_bindings(self, params: Mapping[str, torch.Tensor], sizes: Mapping[str, int]) -> Iterable[Any]:
        """Readings that reproduce structural mistakes."""

    def forward(self, params: Mapping[str, torch.Tensor], binding: Any, x: torch.Tensor,
                sizes: Mapping[str, int], variant: Any = ...) -> torch.Tensor:
        """The output under the candidate's parameters, differentiable with respect to them."""


DEFAULT_WORDING: dict[str, str] = {
    "computation": "the computation the problem asks for",
    "check_advice": "It is none of the mistakes we know, so a person will look at it.",
    "roles": "the reference's weights",
    "builtin": "the built-in implementation",
    "builtin_diagnosis": "builtin_implementation",
    "layout_mistake": "",
    "dropout_mistake": "",
}
"""What the engine says where a problem does not say it in its own words (a reference's ``wording``)."""


def words(reference: Any, key: str) -> str:
    """The problem's wording for ``key``, else the generic one."""
    return str(getattr(reference, "wording", {}).get(key, DEFAULT_WORDING[key]))


class ReferenceLoadError(Exception):
    """The problem's reference could not be loaded."""


def load_reference(spec: str, problem_file: Path | None) -> ReferenceSolution:
    """Load ``REFERENCE`` from ``reference_solutions.<spec>`` or from a ``.py`` path relative to the problem file."""
    try:
        if spec.endswith(".py"):
            base = problem_file.parent if problem_file is not None else Path.cwd()
            path = (base / spec).resolve()
            module_spec = importlib.util.spec_from_file_location(f"harness_reference_{path.stem}", path)
            if module_spec is None or module_spec.loader is None:
                raise ReferenceLoadError(f"reference {spec!r}: cannot import {path}")
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(f"reference_solutions.{spec}")
    except (ImportError, OSError, SyntaxError) as exc:
        raise ReferenceLoadError(f"reference {spec!r}: {exc}") from exc
    reference = getattr(module, "REFERENCE", None)
    if reference is None:
        raise ReferenceLoadError(f"reference {spec!r}: the module defines no REFERENCE object")
    return reference  # type: ignore[no-any-return,unused-ignore]
