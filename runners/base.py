"""The runner contract: a job in, a run result out.

A runner executes untrusted candidate code under limits and answers the job's probes. It decides nothing about
correctness; it only reports what happened (plain facts and tensors) and how the run ended.
"""

from __future__ import annotations

import abc
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

ProbeKind = Literal["load", "construct", "randomize", "forward", "backward", "report", "bench_forward", "entry", "new",
                   "call", "set_grads", "observe"]
RunOutcome = Literal["completed", "timeout", "memory_limit", "crashed", "sandbox_error"]


class Limits(BaseModel):
    """Resource limits for one submission's run."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    wall_s: float = Field(60.0, gt=0)
    """Wall-clock limit for the whole run, start-up included, in seconds."""
    cpu_s: float = Field(120.0, gt=0)
    """CPU-time limit (user + system) of the sandboxed process, in seconds."""
    probe_s: float = Field(20.0, gt=0)
    """Wall-clock budget of one probe (one request answered by the candidate's code), in seconds."""
    startup_s: float = Field(45.0, gt=0)
    """Wall-clock budget for the sandbox to start and import torch, in seconds."""
    memory_mb: int = Field(2048, ge=256)
    """Memory limit of the sandbox (all its processes), in MiB."""
    processes: int = Field(64, ge=1)
    """Maximum number of processes and threads in the sandbox."""
    output_kb: int = Field(64, ge=1)
    """Bytes of stdout and of stderr kept per stream (head and tail), in KiB."""
    file_size_mb: int = Field(16, ge=1)
    """Largest file the sandbox may write, in MiB."""
    open_files: int = Field(256, ge=16)
    """Maximum number of open file descriptors in the sandbox."""
    disk_mb: int = Field(64, ge=1)
    """Size of the sandbox's private working directory and of its /tmp, each, in MiB (a tmpfs, charged to the
    memory limit)."""
    reply_mb: int = Field(256, ge=1)
    """Bytes of tensors all the sandbox's replies together may carry over the run, in MiB (each reply is also
    capped by what its probe can legitimately return), so that the host's memory for results stays bounded."""


class ResourceUsage(BaseModel):
    """What the run consumed, as measured by the host (never reported by the candidate)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    wall_s: float
    """Wall-clock seconds from starting the sandbox to its end."""
    cpu_s: float | None = None
    """CPU seconds (user + system) used by the sandboxed processes."""
    peak_memory_mb: float | None = None
    """Peak memory of the sandbox in MiB (cgroup high-water mark, else the child's max RSS)."""


class CapturedOutput(BaseModel):
    """What the candidate's code printed, capped with head and tail kept."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    stdout: str = ""
    """Captured standard output (head and tail kept when over the cap)."""
    stderr: str = ""
    """Captured standard error (head and tail kept when over the cap)."""
    stdout_bytes: int = 0
    """Total bytes written to standard output, before capping."""
    stderr_bytes: int = 0
    """Total bytes written to standard error, before capping."""
    truncated: bool = False
    """True when either stream was cut to its cap."""


class RunnerReport(BaseModel):
    """Which runner ran the submission, with which versions, and which limits it really enforced."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    name: str
    """Registered name of the runner (e.g. ``local``)."""
    versions: dict[str, str] = Field(default_factory=dict)
    """Versions of Python, torch and the harness seen by the run."""
    limits: Limits = Field(default_factory=lambda: Limits())
    """The limits that were asked for."""
    enforced: dict[str, str] = Field(default_factory=dict)
    """For each limit, how it was enforced (e.g. ``memory: cgroup v1``), or ``not enforced`` with the reason."""


@dataclass
class Probe:
    """One request to the candidate's code."""

    id: str
    kind: ProbeKind
    params: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    budget_s: float | None = None
    """Wall-clock budget of this probe; None means the job's ``limits.probe_s``."""
    measure_memory: bool = False
    """Ask the runner for the sandbox's peak memory increase during this probe (kernel-measured)."""
    before: Callable[[], None] | None = None
    """Trusted code the runner calls just before sending the probe (e.g. timing the reference interleaved)."""
    withhold_output: bool = False
    """The probe runs a hidden configuration: from it on, nothing the candidate prints is kept, and its error
    messages are replaced by the host's own words (their type and line are kept)."""


@dataclass
class ProbeResult:
    """The answer to one probe: facts and tensors from the sandbox, timed by the host."""

    ok: bool
    facts: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    wall_s: float = 0.0
    """Seconds from sending the probe to receiving its answer, measured by the host."""
    agent_error: bool = False
    memory_delta_mb: float | None = None
    """Peak memory increase of the sandbox during the probe, when asked for and measurable."""
    cpu_s: float | None = None
    """CPU seconds every process of the sandbox used between sending the probe and its answer (the host's reading
    of the sandbox's cgroup; None where it cannot be measured)."""


@dataclass
class Job:
    """Everything a runner needs to run one submission."""

    submission: Path
    probes: list[Probe]
    limits: Limits = field(default_factory=lambda: Limits())
    banned_callables: list[str] = field(default_factory=list)
    device: str = "cpu"
    """``cpu`` or ``cuda``: where the candidate's module runs (the agent falls back to the CPU without a GPU, and
    says so in its hello)."""


@dataclass
class RunResult:
    """How the run ended, and the result of each probe that was answered before it ended."""

    outcome: RunOutcome
    reason: str = ""
    probe_results: dict[str, ProbeResult] = field(default_factory=dict)
    interrupted_probe: str | None = None
    resources: ResourceUsage = field(default_factory=lambda: ResourceUsage(wall_s=0.0))
    output: CapturedOutput = field(default_factory=CapturedOutput)
    runner: RunnerReport = field(default_factory=lambda: RunnerReport(name="unknown"))


class SandboxUnavailable(Exception):
    """The runner cannot start a sandbox here: a fault of the harness or the machine, never of a submission."""


def not_the_candidates_fault(reason: str) -> str:
    """The scorecard's message when the harness, not the submission, kept it from being graded."""
    return f"Not graded: {reason}. This is a fault of the grader, not of your code."


STARTUP = "startup"
"""The step before the agent's hello: nothing of the submission's has been loaded yet."""


def startup_fault(result: RunResult, runner_name: str) -> str | None:
    """What broke, when a run ended before the submission's code was loaded (None when it got that far).

    Before the agent's hello only the harness's own code has run (the sandbox's set-up, the interpreter, the torch
    import, the agent), so such an ending is the harness's fault: the reason comes with the last lines the sandbox
    printed (the candidate has printed nothing yet) and where to look for the fix.
    """
    if result.outcome == "completed" or result.interrupted_probe != STARTUP:
        return None
    printed = [line.strip() for line in result.output.stderr.splitlines() if line.strip()][-3:]
    said = f"; it printed: {' | '.join(printed)[-600:]}" if printed else ""
    return (f"the {runner_name} runner could not start its sandbox ({result.reason or result.outcome}){said}. "
            "`harness doctor` says what this machine supports and how to fix what is missing; "
            "--runner chooses another runner")


class Runner(abc.ABC):
    """Runs a job's probes against untrusted code and reports what happened."""

    name: str = "abstract"
    _proven: bool = False
    canary_report: RunnerReport | None = None
    """What the canary's sandbox enforced (set by :meth:`ensure_ready`; None before, or for a runner with none)."""

    @abc.abstractmethod
    def run(self, job: Job) -> RunResult:
        """Run one job. Must not raise for anything the candidate does; a crash is a ``RunResult``."""

    def ensure_ready(self, limits: Limits, device: str = "cpu") -> None:
        """Prove, once per runner, that a sandbox starts and its agent answers: the canary, run before any grading.

        The canary is an empty submission sent no probe: the sandbox is built, the interpreter and torch start, the
        agent says hello and is told to end. Raises :class:`SandboxUnavailable` with what broke.
        """
        if self._proven:
            return
        with tempfile.TemporaryDirectory(prefix="harness-canary-") as folder:
            canary = Path(folder) / "canary.py"
            canary.write_text("")
            result = self.run(Job(submission=canary, probes=[], limits=limits, device=device))
        self.canary_report = result.runner
        if result.outcome != "completed":
            fault = startup_fault(result, self.name) or (
                f"the {self.name} runner's canary run ended {result.outcome}: {result.reason}")
            raise SandboxUnavailable(fault)
        self._proven = True

    def close(self) -> None:
        """Release what the runner holds (pools, daemons). Idempotent."""

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_REGISTRY: dict[str, Callable[..., Runner]] = {}


def register_runner(name: str) -> Callable[[type[Runner]], type[Runner]]:
    """Class decorator: make a runner available by name."""

    def decorate(cls: type[Runner]) -> type[Runner]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


class UnknownRunnerError(KeyError):
    """No runner is registered under the requested name."""

    def __str__(self) -> str:
        return str(self.args[0])


def runner_names() -> list[str]:
    """Names of the registered runners."""
    return sorted(_REGISTRY)


def create_runner(name: str, **options: Any) -> Runner:
    """Instantiate the runner registered as ``name``."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        known = ", ".join(runner_names()) or "none"
        raise UnknownRunnerError(f"unknown runner {name!r}; known runners: {known}") from None
    return factory(**options)
