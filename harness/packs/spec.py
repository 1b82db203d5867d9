"""The problem file of a pack (``problem.yaml``, schema version 2): entry, inputs, calls, configurations, limits.

Everything here is data from a closed vocabulary; what a problem computes is Python in the pack's reference.
Argument references (``args``, ``kwargs``, law arguments) are names: an input of the problem, else a value of the
configuration; ``{literal: X}`` is a Python value, ``{tuple: [...]}`` a tuple of references and ``{params: all}``
the host's parameters of a trajectory.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from runners.base import Limits

from ..models.problem import IDENTIFIER, Tolerance

Scalar = int | float | bool | str
Reference = str | dict[str, Any]
"""An argument: a name (an input, else a configuration value), or ``{literal: X}``, ``{tuple: [...]}``,
``{params: all}``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class EntrySpec(_Strict):
    """What the candidate defines at the top level of their file."""

    kind: Literal["function", "module", "object"]
    """``function``: a top-level function; ``module``: a ``torch.nn.Module`` class; ``object``: any class whose
    methods are called in sequence (an optimizer)."""
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """The top-level name."""
    methods: list[str] = Field(default_factory=list)
    """Methods an object must have (``[step, zero_grad]``)."""


class InputSpec(_Strict):
    """One input, drawn by the host from a secret seed for every configuration."""

    tensor: list[int | str]
    """The shape: sizes, or expressions over configuration values (``C``, ``2*D``, ``(T + 1)//2``)."""
    dtype: Literal["float32", "float64", "int64", "bool"] = "float32"
    """The tensor's dtype (a configuration value may name it: ``dtype: dtype``)."""
    law: Literal["normal", "uniform", "integers", "bernoulli", "padding_mask", "key_mask"] = "normal"
    """How the values are drawn. ``key_mask``: a bool mask over the last axis, True = masked, the first position
    never masked, the others masked with probability ``p``; one row entirely unmasked."""
    args: dict[str, float | int | str] = Field(default_factory=dict)
    """The law's arguments (``std``, ``mean``, ``low``, ``high``, ``p``, ``min_length``); a string names a
    configuration value."""


class OutputSpec(_Strict):
    """What a call must return."""

    tensor: list[int | str] | None = None
    """The shape, as for inputs; ``[]`` is a 0-dimensional tensor."""
    like: str | None = None
    """The output has this input's shape and dtype."""
    dtype: str | None = None
    """``float`` (any floating dtype), ``like <input>``, or a dtype name; default: any."""
    tuple_ok: bool = False
    """A tuple whose first element is the output is accepted."""


class GradSpec(_Strict):
    """What a call differentiates: the listed inputs, and a module's parameters."""

    wrt: list[str] = Field(default_factory=list)
    """Inputs (by name) whose gradients are compared."""
    parameters: bool = True
    """Whether a module's parameter gradients are compared too."""


class CallSpec(_Strict):
    """One call of the entry in every configuration it applies to."""

    name: str = Field(pattern=IDENTIFIER)
    """Identifies the call in probe ids, rubric ``with:`` parameters and the reference's ``compute``."""
    method: str | None = None
    """The method called on a module or object; None calls the function, or the module itself."""
    args: list[Reference] = Field(default_factory=list)
    """Positional arguments."""
    kwargs: dict[str, Reference] = Field(default_factory=dict)
    """Keyword arguments."""
    output: OutputSpec | None = None
    """What it must return; None: not checked (e.g. an optimizer's ``step``)."""
    compare: Literal["reference", "none"] = "reference"
    """Whether the output is compared with the reference's."""
    grad: GradSpec | None = None
    """Differentiate the output (with a host-drawn upstream gradient)."""
    seed: str | None = "call"
    """Calls with the same tag in a configuration are made right after reseeding the global generators with the
    same secret seed; None: no reseeding (the call continues the generator's state)."""
    mode: Literal["train", "eval"] | None = "eval"
    """A module's mode during the call."""
    configs: list[str] | None = None
    """The configurations this call is made in (default: all)."""


class ConstructSpec(_Strict):
    """How a module or object is constructed."""

    args: list[Reference] = Field(default_factory=list)
    """Positional arguments."""
    kwargs: dict[str, Reference] = Field(default_factory=dict)
    """Keyword arguments."""
    configs: list[str] | None = None
    """The configurations this construction is used in (the first that applies wins; default: all)."""


class TrajectorySpec(_Strict):
    """A stateful problem: host parameters handed to the object, then steps of set-gradients, call, observe."""

    params: dict[str, list[int | str]]
    """The parameters' names and shapes; their values and every step's gradients are drawn by the host."""
    steps: int | str
    """Number of steps (or a configuration value)."""
    step: str
    """The method called at each step (``step``)."""
    grad_std: float | str = 1.0
    """Standard deviation of the host's gradients (or a configuration value)."""
    missing: float = 0.25
    """Probability that a parameter gets no gradient at a step (its ``.grad`` is None then)."""
    after: str | None = None
    """A method called once after the last step (``zero_grad``), whose effect on the gradients is observed."""
    compare: Literal["values", "updates"] = "updates"
    """What is compared at each step: the parameters, or their displacement from the initial values (an
    optimizer's small steps are invisible next to the parameters' size)."""


class PropertySpec(_Strict):
    """A metamorphic relation of the candidate's own outputs, decided without any reading of its parameters."""

    name: str = Field(pattern=IDENTIFIER)
    """How rubric items (``check: property``) and fallbacks name it."""
    kind: Literal["independent", "mixes", "causal", "ignores", "equivariant", "invariant"]
    """``independent``: perturbing slice 0 of ``input`` along ``axis`` changes only slice 0 of the output;
    ``mixes``: it changes other slices too; ``causal``: perturbing the positions from the middle on leaves the
    outputs before it unchanged; ``ignores``: perturbing the positions ``where`` marks leaves the outputs at the
    other positions unchanged; ``equivariant``/``invariant``: permuting ``input`` along ``axis`` permutes the output
    the same way / leaves it unchanged."""
    call: str
    """The call whose ``input`` is transformed (its output, made first, is the baseline)."""
    input: str
    """The input that is transformed."""
    axis: int
    """The axis of the input (and of the output) the relation is about."""
    where: str | None = None
    """For ``ignores``: a bool input of the input's leading shape; its True positions are perturbed."""
    configs: int = Field(2, ge=1, le=8)
    """How many configurations (the first ones where the axis has at least two positions) are probed."""


class ConfigSpec(_Strict):
    """One configuration: the values its inputs and arguments read."""

    name: str = Field(pattern=IDENTIFIER)
    """Short unique name."""
    values: dict[str, Scalar]
    """Sizes and other values (``N``, ``C``, ``eps``, ``p``)."""
    hidden: bool = False
    """Tested, but its values are never revealed in feedback."""
    self_check: bool = True
    """Whether ``harness check`` runs it too (a visible one); false for a large one that would cost a self-check
    most of its time."""
    note: str = ""
    """Why this configuration is tested."""
    compare: Tolerance | None = None
    """A tolerance of its own, else the problem's."""
    shapes: dict[str, list[int | str]] = Field(default_factory=dict)
    """Input shapes of this configuration where they differ from the inputs' own (a 3-D input, say)."""


class BenchmarkSpec(_Strict):
    """The performance measurement."""

    values: dict[str, Scalar]
    """Values of the benchmark configuration."""
    shapes: dict[str, list[int | str]] = Field(default_factory=dict)
    """Input shapes where they differ from the inputs' own."""
    call: str
    """The call that is timed."""
    max_time_ratio: float = Field(3.0, gt=0)
    """The candidate's median time may be at most this multiple of the reference's."""
    warmup: int = Field(2, ge=0)
    """Untimed calls first."""
    repeats: int = Field(7, ge=1)
    """Timed calls."""


class PackProblem(_Strict):
    """A problem of a pack."""

    schema_version: Literal[2] = 2
    """Version of this file format."""
    id: str = Field(pattern=IDENTIFIER)
    """Problem id."""
    version: str = Field(min_length=1)
    """Bump when configurations, tolerances or the rubric change."""
    title: str
    """One-line title."""
    statement: str
    """The task as posed (Markdown)."""
    entry: EntrySpec
    """What the candidate defines."""
    init: list[ConstructSpec] = Field(default_factory=list)
    """How a module or object is constructed (alternatives by configuration)."""
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    """The inputs, by name."""
    calls: list[CallSpec] = Field(default_factory=list)
    """The calls made in each configuration, in order."""
    trajectory: TrajectorySpec | None = None
    """For stateful objects: the steps."""
    properties: list[PropertySpec] = Field(default_factory=list)
    """Relations of the candidate's own outputs that decide structural items when no mistake is named."""
    configs: list[ConfigSpec] = Field(min_length=1)
    """Configurations; the first is where the candidate's parameters are mapped to the reference's."""
    tolerance: Tolerance = Field(default_factory=lambda: Tolerance())
    """Tolerance for outputs."""
    gradient_tolerance: Tolerance = Field(default_factory=lambda: Tolerance(rtol=1e-3, atol=1e-5,
                                                                            max_relative_error=1e-3))
    """Tolerance for gradients."""
    alpha: float = Field(1e-6, gt=0, lt=0.01)
    """The most probability that a correct stochastic submission fails any statistical test in one grading."""
    banned: list[str] = Field(default_factory=list)
    """Dotted paths of callables the candidate must not use (a module path bans everything under it)."""
    limits: Limits = Field(default_factory=lambda: Limits())
    """Resource limits of one run."""
    benchmark: BenchmarkSpec | None = None
    """The performance measurement, if the rubric has that item."""
    max_combined: int = Field(2, ge=1, le=3)
    """How many catalogued mistakes the diagnosis combines at most."""

    @model_validator(mode="after")
    def _consistent(self) -> PackProblem:
        names = [config.name for config in self.configs]
        if len(set(names)) != len(names):
            raise ValueError(f"configs: duplicate names {sorted({n for n in names if names.count(n) > 1})}")
        calls = [call.name for call in self.calls]
        if len(set(calls)) != len(calls):
            raise ValueError("calls: duplicate names")
        for index, call in enumerate(self.calls):
            unknown = sorted(set(call.configs or []) - set(names))
            if unknown:
                raise ValueError(f"calls.{index}.configs: unknown configurations {unknown}")
        if self.entry.kind == "function" and (self.init or self.trajectory):
            raise ValueError("entry: a function has no construct or trajectory")
        if self.entry.kind != "function" and not self.init:
            raise ValueError("init: a module or object needs at least one construction")
        if not self.calls and self.trajectory is None:
            raise ValueError("calls: a problem needs calls or a trajectory")
        for index, prop in enumerate(self.properties):
            if prop.call not in calls:
                raise ValueError(f"properties.{index}.call: {prop.call!r} is not one of the calls {calls}")
            if prop.input not in self.inputs or (prop.where is not None and prop.where not in self.inputs):
                raise ValueError(f"properties.{index}: input {prop.input!r} or where {prop.where!r} is not an input")
        if self.benchmark is not None and self.benchmark.call not in calls:
            raise ValueError(f"benchmark.call: {self.benchmark.call!r} is not one of the calls {calls}")
        return self

    def config(self, name: str) -> ConfigSpec:
        """The configuration called ``name``."""
        return next(config for config in self.configs if config.name == name)

    def calls_in(self, config: str) -> list[CallSpec]:
        """The calls made in a configuration, in order."""
        return [call for call in self.calls if call.configs is None or config in call.configs]

    def construct_in(self, config: str) -> ConstructSpec | None:
        """The construction a configuration uses."""
        return next((c for c in self.init if c.configs is None or config in c.configs), None)
