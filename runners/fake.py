"""A runner with no sandbox, for fast tests of the trusted side.

By default it answers probes in-process with the same probe executor the agent uses, so the harness sees exactly the
replies a real sandbox would send (minus limits). Pass ``respond`` to answer jobs with any plain function instead.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import safetensors.torch
import torch

from ._protocol import describe_device
from .agent.probes import ProbeExecutor
from .base import Job, Limits, ProbeResult, ResourceUsage, Runner, RunnerReport, RunResult, register_runner


def _roundtrip(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Send tensors through safetensors, as they would cross the sandbox boundary."""
    return safetensors.torch.load(safetensors.torch.save(tensors)) if tensors else {}


@register_runner("fake")
class FakeRunner(Runner):
    """Answers probes in this process (no isolation: trusted test code only)."""

    def __init__(self, respond: Callable[[Job], RunResult] | None = None) -> None:
        self.respond = respond

    def ensure_ready(self, limits: Limits, device: str = "cpu") -> None:
        """Nothing to prove: there is no sandbox to start (and ``respond`` answers only the jobs of a test)."""

    def run(self, job: Job) -> RunResult:
        """Answer the job's probes in this process, or with ``respond``."""
        if self.respond is not None:
            return self.respond(job)
        started = time.monotonic()
        executor = ProbeExecutor(str(job.submission), job.banned_callables, job.device)
        result = RunResult(outcome="completed")
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # as in the sandbox, so that timings compare with a single-threaded reference
        try:
            for probe in job.probes:
                if probe.before is not None:
                    probe.before()
                sent = time.monotonic()
                header: dict[str, Any] = {"id": probe.id, "kind": probe.kind, **probe.params}
                reply, out = executor.answer(header, _roundtrip(probe.tensors))
                result.probe_results[probe.id] = ProbeResult(
                    ok=bool(reply["ok"]),
                    facts=reply.get("facts") or {},
                    error=reply.get("error"),
                    tensors=_roundtrip(out),
                    wall_s=time.monotonic() - sent,
                    agent_error=bool(reply.get("agent")),
                )
        finally:
            torch.set_num_threads(threads)
            sys.modules.pop("submission", None)
            executor.counter.uninstall()
        result.resources = ResourceUsage(wall_s=round(time.monotonic() - started, 3))
        result.runner = RunnerReport(
            name="fake",
            limits=job.limits,
            versions={"python": platform.python_version(), "torch": torch.__version__},
            enforced={"all": "not enforced: in-process fake runner for tests",
                      "device": describe_device({"device": executor.device_facts})},
        )
        return result
