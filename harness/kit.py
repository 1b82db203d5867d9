"""The author kit: what a problem pack's trusted reference is written with.

A pack's ``reference.py`` defines ``REFERENCE = Reference(...)``: a pure ``compute`` of every call's output (or
a trajectory's states, or the law of a stochastic output) under a set of mistake flags, the catalogue of those
mistakes, a binder that reads a module's parameters as the reference's weights, and the pack's own checks. All of
it runs in the harness's process only, never in a sandbox.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from .packs.values import shape_of

Flags = frozenset[str]


@dataclass(frozen=True)
class Mistake:
    """A named mistake: the rubric items it violates and what the candidate is told."""

    id: str
    items: tuple[str, ...]
    """Rubric items this mistake fails (besides the output's match, which any flag changing the output fails)."""
    message: str
    """Feedback sentence, naming what is wrong and how to fix it."""
    group: str | None = None
    """Mistakes of one group are alternatives of one choice (at most one of a group is combined)."""
    dtype_faithful: bool = False
    """Evaluate the variant in the candidate's dtype: the mistake is about rounding (overflow, underflow)."""
    named_when: Mapping[str, Sequence[str]] | None = None
    """Not a flag of ``compute``: the mistake is named when these items' checks failed (``failed``) and these
    passed (``passed``), e.g. a mask that is the same on every call."""

    @property
    def is_flag(self) -> bool:
        """Whether ``compute`` reproduces this mistake."""
        return self.named_when is None


@dataclass
class Defined:
    """An output defined only where ``mask`` is True (padded query rows are not graded)."""

    value: torch.Tensor
    mask: torch.Tensor


@dataclass
class Choice:
    """The law of a stochastic output: each element independently equals one alternative, with its probability.

    ``alternatives`` is ``[(name, values, probability)]``, every ``values`` of the output's shape (dropout:
    ``[("dropped", zeros, p), ("kept", x / (1 - p), 1 - p)]``).
    """

    alternatives: list[tuple[str, torch.Tensor, float]]


@dataclass
class Trajectory:
    """The states of a stateful problem's parameters after each step."""

    states: list[dict[str, torch.Tensor]]


class Binding(Protocol):
    """One reading of a candidate's parameters as the reference's weights."""

    def weights_from(self, params: Mapping[str, torch.Tensor]) -> Any:
        """The reference's weights, as differentiable functions of the candidate's parameters."""

    def describe(self) -> dict[str, str]:
        """Role -> where it is read from, for the scorecard."""

    def parameter_names(self) -> set[str]:
        """The candidate parameters it reads (their gradients are compared)."""


class Binder(Protocol):
    """Finds readings of a module's parameters."""

    def bindings(self, params: Mapping[str, torch.Tensor], values: Mapping[str, Any]) -> Iterator[Any]:
        """Readings, most plausible first (bounded)."""

    def transfer(self, binding: Any, params: Mapping[str, torch.Tensor], values: Mapping[str, Any]) -> Any | None:
        """The same reading for an instance of another configuration, or None if it does not apply."""


def tokens(name: str) -> list[str]:
    """Lower-case words of a parameter name (``attn.q_proj.weight`` -> attn, q, proj, weight)."""
    marked = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return [word for word in re.split(r"[^A-Za-z0-9]+", marked.lower()) if word]


@dataclass(frozen=True)
class Role:
    """A weight of the reference: its shape over configuration values, and words that hint at it in names."""

    shape: tuple[int | str, ...]
    hints: tuple[str, ...] = ()
    transposable: bool = True
    """A 2-D weight may be stored transposed."""


@dataclass(frozen=True)
class RoleReading:
    """Where one role is read from."""

    name: str
    transposed: bool = False

    def take(self, params: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The role's tensor from the parameters."""
        value = params[self.name]
        return value.t() if self.transposed else value


@dataclass(frozen=True)
class DefaultBinding:
    """Each role read from one parameter, possibly transposed."""

    readings: tuple[tuple[str, RoleReading], ...]

    def weights_from(self, params: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Role -> tensor."""
        return {role: reading.take(params) for role, reading in self.readings}

    def parameter_names(self) -> set[str]:
        """The candidate parameters this reading uses."""
        return {reading.name for _, reading in self.readings}

    def describe(self) -> dict[str, str]:
        """Role -> parameter."""
        return {role: reading.name + (".T" if reading.transposed else "") for role, reading in self.readings}


MAX_READINGS = 2000


@dataclass
class DefaultBinder:
    """Reads each role from a parameter of its shape (or transposed), injectively, hinted names first."""

    roles: dict[str, Role]
    max_readings: int = MAX_READINGS

    def _options(self, role: Role, params: Mapping[str, torch.Tensor], values: Mapping[str, Any]) -> list[RoleReading]:
        shape = shape_of(list(role.shape), values)
        options = []
        for name, value in params.items():
            if tuple(value.shape) == shape:
                options.append(RoleReading(name))
            if role.transposable and len(shape) == 2 and shape[0] != shape[1] and tuple(value.shape) == shape[::-1]:
                options.append(RoleReading(name, True))
            elif role.transposable and len(shape) == 2 and shape[0] == shape[1] and tuple(value.shape) == shape:
                options.append(RoleReading(name, True))
        order = list(params)

        def score(reading: RoleReading) -> tuple[int, bool, int]:
            words = set(tokens(reading.name))
            return (-len(words & set(role.hints)), reading.transposed, order.index(reading.name))

        return sorted(options, key=score)

    def bindings(self, params: Mapping[str, torch.Tensor], values: Mapping[str, Any]) -> Iterator[DefaultBinding]:
        """Injective readings, best-first by hints, then declaration order; at most ``max_readings``."""
        names = list(self.roles)
        options = [self._options(self.roles[name], params, values) for name in names]
        produced = 0
        for combination in itertools.product(*options):
            used = [reading.name for reading in combination]
            if len(set(used)) != len(used):
                continue
            yield DefaultBinding(tuple(zip(names, combination, strict=True)))
            produced += 1
            if produced >= self.max_readings:
                return

    def transfer(self, binding: DefaultBinding, params: Mapping[str, torch.Tensor],
                 values: Mapping[str, Any]) -> DefaultBinding | None:
        """The same names, if they have the roles' shapes in this configuration."""
        for role, reading in binding.readings:
            if reading.name not in params:
                return None
            value = reading.take(params)
            if tuple(value.shape) != shape_of(list(self.roles[role].shape), values):
                return None
        return binding


@dataclass
class CheckContext:
    """What a pack's own check reads: the run's evidence (see ``harness.packs.evidence``)."""

    evidence: Any
    params: Mapping[str, Any] = field(default_factory=dict)


PackCheck = Callable[[Any], Any]


@dataclass
class Reference:
    """A problem's trusted reference."""

    compute: Callable[..., Any]
    """``compute(call, inputs, values, weights, mistakes)``: the call's output (a tensor, a Python value, a
    ``Defined`` or a ``Choice``) in float64, or in the candidate's dtype when a dtype-faithful mistake is set."""
    mistakes: list[Mistake]
    """The catalogue."""
    solution: Path
    """The reference written as a submission: timed by the benchmark and graded by the self-test. It reads a
    module-level ``MISTAKES`` set of catalogue ids, so the self-test can synthesise each mistake from it."""
    binder: Binder | None = None
    """Reads a module's parameters as ``weights``; None for functions and objects."""
    trajectory: Callable[..., Trajectory] | None = None
    """``trajectory(initial, grads, values, mistakes)`` for a stateful problem: the states after each step."""
    checks: dict[str, Callable[..., Any]] = field(default_factory=dict)
    """The pack's own checks by name, each ``check(context, **with_parameters) -> ItemOutcome``."""

    def __post_init__(self) -> None:
        ids = [mistake.id for mistake in self.mistakes]
        if len(set(ids)) != len(ids):
            raise ValueError("mistakes: duplicate ids")

    def mistake(self, mistake_id: str) -> Mistake:
        """The catalogued mistake with this id."""
        return next(mistake for mistake in self.mistakes if mistake.id == mistake_id)

    def variants(self, max_combined: int) -> list[Flags]:
        """Flag sets: none first, then single mistakes, then combinations, at most one per group."""
        flags = [mistake for mistake in self.mistakes if mistake.is_flag]
        found: list[Flags] = [frozenset()]
        for size in range(1, max_combined + 1):
            for combination in itertools.combinations(flags, size):
                groups = [mistake.group for mistake in combination if mistake.group is not None]
                if len(set(groups)) == len(groups):
                    found.append(frozenset(mistake.id for mistake in combination))
        return found

    def faithful(self, flags: Flags) -> bool:
        """Whether this variant is evaluated in the candidate's dtype."""
        return any(self.mistake(flag).dtype_faithful for flag in flags)
