"""The host's side of the probe conversation, shared by every runner that talks to the agent over a channel.

Hello, then one request per probe (each with a fresh nonce its reply must echo, and its own deadline), then end.
How the channel was made, and how the sandbox is killed and collected, is the runner's business.
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import safetensors.torch

from ._replies import ReplyChecker, ReplyRefused
from .agent.wire import WireClosed, WireError, WireTimeout, read_frame, write_frame
from .base import STARTUP, Job, Limits, ProbeResult, RunOutcome

WITHHELD_ENDING = "the run ended after the checks of hidden configurations began (how is withheld)"


class EndingReason(str):
    """Why a conversation ended, as a string the runners pass on unchanged, with what the host knows about it.

    ``refused``: the host refused a reply, so the reason is the host's own and outranks the signal the host then
    sent. ``withheld``: it ended after the hidden checks began, so nothing the candidate's code could choose (an exit
    code, a signal, a framing detail) may be quoted.
    """

    refused: bool = False
    withheld: bool = False

    @classmethod
    def of(cls, text: str, *, refused: bool = False, withheld: bool = False) -> EndingReason:
        """A reason with its flags."""
        reason = cls(text)
        reason.refused, reason.withheld = refused, withheld
        return reason


@dataclass
class MemoryMeter:
    """How a runner measures a probe's peak memory increase.

    ``start`` returns a baseline (None if it cannot measure); ``delta`` turns that baseline into MiB (None if
    unknown).
    """

    start: Callable[[], int | None]
    delta: Callable[[int | None], float | None]


NO_MEMORY_METER = MemoryMeter(start=lambda: None, delta=lambda baseline: None)


@dataclass
class SandboxHold:
    """How a runner reaches every process of the sandbox from outside.

    ``frozen()`` stops them all for the duration of a ``with`` block (trusted code timed meanwhile competes with
    nothing the candidate started); ``cpu_seconds()`` reads the CPU time they have used so far (None if unknown).
    """

    frozen: Callable[[], AbstractContextManager[object]]
    cpu_seconds: Callable[[], float | None]


NO_HOLD = SandboxHold(frozen=contextlib.nullcontext, cpu_seconds=lambda: None)


@dataclass
class Conversation:
    """What came of a conversation: the hello, each answered probe, and how it ended."""

    hello: dict[str, Any] = field(default_factory=dict)
    probe_results: dict[str, ProbeResult] = field(default_factory=dict)
    in_flight: str | None = STARTUP
    """The step that was under way when the conversation stopped (None when it completed)."""
    ending: tuple[RunOutcome, str] | None = None
    """``("timeout", "")`` or ``("crashed", reason)`` when the conversation did not complete."""
    withholding: bool = False
    """True once a probe of a hidden configuration was sent: from then on the captured output is withheld."""


def after_oom_kills(ending: tuple[RunOutcome, str] | None, in_flight: str | None,
                    oom_kills: int) -> tuple[tuple[RunOutcome, str] | None, str | None]:
    """The ending and step in flight, given the run's OOM-kill count from the kernel.

    A conversation that completed while the kernel killed a process of the run at the memory limit did not end
    normally: the run exceeded its memory, whatever the survivors answered.
    """
    if ending is None and oom_kills > 0:
        return ("crashed", "a process of the run was killed at the memory limit"), "shutdown"
    return ending, in_flight


def name_ending(
    limits: Limits,
    ending: tuple[RunOutcome, str],
    in_flight: str | None,
    wall: float,
    *,
    oom_killed: bool,
    signum: int | None,
    exit_code: int,
    cpu_s: float | None,
) -> tuple[RunOutcome, str]:
    """Name how an abnormal run ended, from the evidence of the kernel and the host, never from what the sandbox said.

    In order: an OOM kill, the CPU-time limit, the wall-clock limit or a step's budget, a signal, an exit.
    """
    if oom_killed:
        return "memory_limit", f"killed by the kernel at the {limits.memory_mb} MiB memory limit"
    if signum == signal.SIGXCPU or (signum == signal.SIGKILL and cpu_s is not None and cpu_s >= limits.cpu_s):
        return "timeout", f"stopped at the {limits.cpu_s:g} s CPU-time limit"
    if ending[0] == "timeout":
        if wall >= limits.wall_s - 0.05:
            return "timeout", f"stopped at the {limits.wall_s:g} s wall-clock limit"
        budget = limits.startup_s if in_flight == STARTUP else limits.probe_s
        return "timeout", f"no answer within the {budget:g} s budget of one step"
    if getattr(ending[1], "refused", False):
        return "crashed", ending[1]
    if getattr(ending[1], "withheld", False):
        return "crashed", WITHHELD_ENDING
    if signum is not None:
        return "crashed", f"the process was killed by signal {signal.Signals(signum).name}"
    return "crashed", f"the process exited with code {exit_code} before answering" + (
        f" ({ending[1]})" if ending[1] else ""
    )


def describe_device(hello: dict[str, Any]) -> str:
    """Where the candidate's module ran, as the agent's hello says (a fallback to the CPU is named)."""
    device = hello.get("device") or {}
    if device.get("device") == "cuda":
        return f"cuda ({device.get('name', 'unknown GPU')})"
    if device.get("fallback"):
        return f"cpu ({device['fallback']})"
    return "cpu" if hello else "unknown (the sandbox did not start)"


def converse(
    job: Job,
    request_fd: int,
    response_fd: int,
    deadline: Callable[[float], float],
    memory: MemoryMeter = NO_MEMORY_METER,
    before_end: Callable[[], None] | None = None,
    withhold: Callable[[], None] | None = None,
    hold: SandboxHold = NO_HOLD,
) -> Conversation:
    """Run the job's probes over the channel; ``deadline(budget)`` turns a budget into a monotonic deadline.

    ``before_end`` runs once every probe is answered, while the sandbox still exists (to read its accounting).
    ``withhold`` runs once, before the first probe marked ``withhold_output`` is sent: the runner stops keeping the
    candidate's output from then to the end of the run. Every reply is checked on arrival (``_replies``), its blob
    capped by what its probe can legitimately return before a byte of it is read; a reply that breaks the rules ends
    the conversation as the candidate's crash. ``hold`` freezes the sandbox while a probe's ``before`` hook runs
    (the reference is timed there) and measures the sandbox's CPU time during each probe.
    """
    talk = Conversation()
    checker = ReplyChecker(job)
    withheld = False  # the step in flight comes after the hidden checks began
    try:
        talk.hello, _ = read_frame(response_fd, 0, deadline(job.limits.startup_s))
        if talk.hello.get("op") != "hello":
            raise WireError("the sandbox did not start the protocol")
        checker.check_hello(talk.hello)
        for probe in job.probes:
            talk.in_flight = probe.id
            if probe.withhold_output and not talk.withholding:
                # Before the request leaves: whatever the candidate prints in answer comes after this.
                talk.withholding = True
                if withhold is not None:
                    withhold()
            # What the candidate's code learnt in a hidden configuration it can tell in any later step, by an error
            # message, a type name or an exit code: from the first hidden probe on, none of those is quoted.
            withheld = talk.withholding
            if probe.before is not None:
                with hold.frozen():
                    probe.before()
            blob = safetensors.torch.save(probe.tensors) if probe.tensors else b""
            # A fresh secret per request: a reply written ahead of time (or by a stray process) cannot carry it.
            nonce = secrets.token_hex(16)
            header = {"op": "probe", "nonce": nonce, "probe": {"id": probe.id, "kind": probe.kind, **probe.params}}
            baseline = memory.start() if probe.measure_memory else None
            cpu_before = hold.cpu_seconds()
            sent = time.monotonic()
            until = deadline(probe.budget_s or job.limits.probe_s)
            write_frame(request_fd, header, blob, until)
            try:
                reply, payload = read_frame(response_fd, checker.blob_cap(probe), until)
            except (WireTimeout, WireClosed):
                raise
            except WireError as exc:
                raise ReplyRefused(
                    probe.id, "it broke the framing or exceeded what the probe can return", str(exc)
                ) from None
            elapsed = time.monotonic() - sent
            cpu_after = hold.cpu_seconds() if cpu_before is not None else None
            if reply.get("op") != "result" or reply.get("probe_id") != probe.id or reply.get("nonce") != nonce:
                raise ReplyRefused(probe.id, "it is not a reply the agent sent to this request")
            ok, facts, error, tensors, agent_error = checker.accept(probe, reply, payload, withheld)
            talk.probe_results[probe.id] = ProbeResult(
                ok=ok,
                facts=facts,
                error=error,
                tensors=tensors,
                wall_s=elapsed,
                agent_error=agent_error,
                memory_delta_mb=memory.delta(baseline) if probe.measure_memory else None,
                cpu_s=cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None,
            )
        talk.in_flight = "shutdown"
        if before_end is not None:
            before_end()
        write_frame(request_fd, {"op": "end"}, b"", deadline(5))
        read_frame(response_fd, 0, deadline(5))
        talk.in_flight = None
    except WireTimeout:
        talk.ending = ("timeout", "")
    except ReplyRefused as exc:
        talk.ending = ("crashed", EndingReason.of(exc.describe(withheld), refused=True, withheld=withheld))
    except (WireClosed, WireError, ValueError, KeyError, TypeError) as exc:
        talk.ending = ("crashed", EndingReason.of(str(exc)[:2000], withheld=withheld))
    return talk
