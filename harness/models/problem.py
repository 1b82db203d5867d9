"""The problem file: what the candidate implements, how it is probed, with which limits and rubric."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from runners.base import Limits

IDENTIFIER = r"^[a-z][a-z0-9_\-]*$"


class InterfaceSpec(BaseModel):
    """The class the candidate must define and how it is called."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    class_name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """Name of the ``torch.nn.Module`` subclass the submission must define at top level."""
    constructor_args: list[str]
    """Size names passed positionally to the constructor, in order (e.g. ``[embed_dim, num_heads]``)."""
    input_shape: list[str] = Field(min_length=1)
    """Size names giving the shape of the single input of ``forward`` (e.g. ``[seq_len, batch, embed_dim]``)."""
    output: Literal["same_shape_as_input"] = "same_shape_as_input"
    """What ``forward`` must return."""
    allow_tuple_output: bool = True
    """Whether a tuple whose first element is the output is accepted (e.g. ``(output, attention_weights)``)."""
    sequence_axis: int | None = None
    """Axis of the input that is the sequence; enables the mixing and permutation-equivariance checks."""
    batch_axis: int | None = None
    """Axis of the input that is the batch; enables the batch-independence check."""


class ConfigSpec(BaseModel):
    """One configuration the submission is tested on."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    name: str = Field(pattern=IDENTIFIER)
    """Short unique name, used in feedback and probe ids."""
    sizes: dict[str, int]
    """Values of every size name used by the interface (all positive)."""
    hidden: bool = False
    """Hidden configurations are tested but their sizes are not revealed in feedback."""
    self_check: bool = True
    """Whether ``harness check`` runs it too (a visible one); false for a large one that would cost a self-check
    most of its time."""
    note: str = ""
    """Why this configuration is tested (e.g. ``head_dim 1``)."""

    @model_validator(mode="after")
    def _positive(self) -> ConfigSpec:
        bad = [key for key, value in self.sizes.items() if value < 1]
        if bad:
            raise ValueError(f"sizes must be positive: {', '.join(bad)}")
        return self


class Tolerance(BaseModel):
    """When two float tensors count as equal: both the elementwise and the relative-norm test must hold."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    rtol: float = Field(1e-4, ge=0)
    """Relative tolerance of the elementwise test ``|a - b| <= atol + rtol * |b|``."""
    atol: float = Field(1e-5, ge=0)
    """Absolute tolerance of the elementwise test, in units of the expected tensor's largest magnitude when
    that exceeds 1."""
    max_relative_error: float = Field(1e-4, ge=0)
    """Bound on ``||a - b|| / ||b||``, which an all-zeros output cannot pass."""


class BenchmarkSpec(BaseModel):
    """Size and pass factors of the performance and memory items."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    sizes: dict[str, int]
    """Sizes of the benchmark configuration."""
    max_time_ratio: float = Field(3.0, gt=0)
    """The candidate's median forward time may be at most this multiple of the reference's."""
    max_memory_ratio: float = Field(2.0, gt=0)
    """The candidate's peak memory may be at most this multiple of the reference's."""
    warmup: int = Field(2, ge=0)
    """Untimed calls before timing."""
    repeats: int = Field(7, ge=1)
    """Timed calls; the median is used."""


class Problem(BaseModel):
    """A gradable problem: statement, interface, configurations, tolerances, limits and rubric."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    schema_version: Literal[1] = 1
    """Version of this file format."""
    id: str = Field(pattern=IDENTIFIER)
    """Problem id, as given to ``harness grade --problem``."""
    version: str = Field(min_length=1)
    """Version of the problem; bump it when configurations, tolerances or the rubric change."""
    title: str
    """One-line title."""
    statement: str
    """The task as posed to candidates (Markdown)."""
    rubric: str = Field(pattern=IDENTIFIER)
    """Id of the rubric that scores this problem."""
    reference: str = Field(min_length=1)
    """Module of ``reference_solutions`` (e.g. ``mhsa``), or a ``.py`` path relative to this file."""
    interface: InterfaceSpec
    """What the candidate must define."""
    banned_callables: list[str] = Field(default_factory=list)
    """Dotted paths of callables the candidate must not use (checked in the source and at run time)."""
    configs: list[ConfigSpec] = Field(min_length=1)
    """Configurations to test, the binding configuration among them."""
    binding_config: str
    """Name of the configuration used to find how the candidate's parameters map to the reference's."""
    tolerance: Tolerance = Field(default_factory=lambda: Tolerance())
    """Tolerance for outputs."""
    gradient_tolerance: Tolerance = Field(default_factory=lambda: Tolerance(rtol=1e-3, atol=1e-5,
                                                                            max_relative_error=1e-3))
    """Tolerance for input and parameter gradients."""
    limits: Limits = Field(default_factory=lambda: Limits())
    """Default resource limits of one submission's run (a run may override them)."""
    benchmark: BenchmarkSpec | None = None
    """The performance and memory measurement, if the rubric has those items."""
    device: Literal["cpu", "cuda"] = "cpu"
    """Where the candidate's module runs: ``cuda`` runs it (and times the reference) on the GPU when one is visible
    to the sandbox, else on the CPU, which the scorecard's ``runner.enforced.device`` then says. A run may
    override it (``harness grade --device``)."""

    @model_validator(mode="after")
    def _consistent(self) -> Problem:
        names = [config.name for config in self.configs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"configs: duplicate names {duplicates}")
        if self.binding_config not in names:
            raise ValueError(f"binding_config: {self.binding_config!r} is not one of the configs {names}")
        needed = set(self.interface.constructor_args) | set(self.interface.input_shape)
        for index, config in enumerate(self.configs):
            missing = sorted(needed - set(config.sizes))
            if missing:
                raise ValueError(f"configs.{index} ({config.name}): missing sizes {missing}")
        if self.benchmark is not None:
            missing = sorted(needed - set(self.benchmark.sizes))
            if missing:
                raise ValueError(f"benchmark.sizes: missing sizes {missing}")
        return self

    def config(self, name: str) -> ConfigSpec:
        """The configuration called ``name``."""
        return next(config for config in self.configs if config.name == name)
