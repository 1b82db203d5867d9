"""Runners: execute untrusted candidate code under limits and report plain facts and tensors."""

from . import docker as _docker  # noqa: F401  (registers the "docker" runner)
from . import docker_pool as _docker_pool  # noqa: F401  (registers the "docker-pool" runner)
from . import fake as _fake  # noqa: F401  (registers the "fake" runner)
from . import local as _local  # noqa: F401  (registers the "local" and "local-cold" runners)
from .base import (
    CapturedOutput,
    Job,
    Limits,
    Probe,
    ProbeResult,
    ResourceUsage,
    Runner,
    RunnerReport,
    RunResult,
    UnknownRunnerError,
    create_runner,
    register_runner,
    runner_names,
)

__all__ = [
    "CapturedOutput",
    "Job",
    "Limits",
    "Probe",
    "ProbeResult",
    "ResourceUsage",
    "RunResult",
    "Runner",
    "RunnerReport",
    "UnknownRunnerError",
    "create_runner",
    "register_runner",
    "runner_names",
]
