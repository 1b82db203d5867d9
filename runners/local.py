"""The local sandbox runner: one confined child process per submission, no Docker needed.

The host creates a per-run cgroup (memory, pids, CPU accounting) where the machine allows it, a private scratch
directory, and the pipes of the protocol. The child joins the cgroup, enters a new network namespace, sets its
rlimits and no_new_privs, imports torch and then answers probes. Verdicts come from what the kernel reports: the
host's own clocks, the cgroup's OOM counter, the child's wait status.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import safetensors.torch

from . import agent as agent_package
from ._capture import CappedStream
from ._cgroups import CgroupUnavailable, RunCgroup
from .agent.wire import WireClosed, WireError, WireTimeout, read_frame, write_frame
from .base import (
    CapturedOutput,
    Job,
    Limits,
    ProbeResult,
    ResourceUsage,
    Runner,
    RunnerReport,
    RunOutcome,
    RunResult,
    register_runner,
)

MIB = 1 << 20
_AGENT_PACKAGE = "harness_agent"
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    f"from {_AGENT_PACKAGE}.__main__ import main; main(sys.argv[2:])"
)
_PASSED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_MAX_REPLY_BYTES = 1 << 30


def clean_environment(scratch: Path) -> dict[str, str]:
    """The child's whole environment: nothing from the caller but CPU-quirk settings of the BLAS."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    env.update({key: os.environ[key] for key in _PASSED_ENV if key in os.environ})
    return env


def _install_agent(scratch: Path) -> Path:
    """Copy the agent's modules (and nothing else of the harness) next to the scratch directory."""
    root = scratch / ".agent"
    target = root / _AGENT_PACKAGE
    target.mkdir(parents=True)
    source = Path(agent_package.__file__).parent
    for module in source.glob("*.py"):
        shutil.copyfile(module, target / module.name)
    return root


class _Session:
    """The live state of one run: the child, its channel, its captures, its cgroup."""

    def __init__(self, job: Job, scratch: Path, cgroup: RunCgroup | None) -> None:
        self.job = job
        self.limits = job.limits
        self.cgroup = cgroup
        self.started = time.monotonic()
        self.deadline = self.started + self.limits.wall_s
        agent_root = _install_agent(scratch)
        submission = scratch / "submission.py"
        shutil.copyfile(job.submission, submission)
        submission.chmod(0o444)
        plan = self._confinement_plan(scratch, submission)
        request_read, self.request_fd = os.pipe()
        self.response_fd, response_write = os.pipe()
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", _BOOT, str(agent_root), str(request_read),
                 str(response_write), json.dumps(plan)],
                stdin=subprocess.DEVNULL,
                stdout=out_write,
                stderr=err_write,
                pass_fds=(request_read, response_write),
                env=clean_environment(scratch),
                cwd=scratch,
                start_new_session=True,
                close_fds=True,
            )
        finally:
            for fd in (request_read, response_write, out_write, err_write):
                os.close(fd)
        cap = self.limits.output_kb * 1024
        self.stdout = CappedStream(out_read, cap)
        self.stderr = CappedStream(err_read, cap)
        self.rusage: Any = None
        self.wait_status: int | None = None

    def _confinement_plan(self, scratch: Path, submission: Path) -> dict[str, Any]:
        limits = self.limits
        rlimits = {
            "cpu_s": int(limits.cpu_s),
            "file_size_bytes": limits.file_size_mb * MIB,
            "open_files": limits.open_files,
            "processes": limits.processes,
            "core_bytes": 0,
        }
        if self.cgroup is None:
            # Without a cgroup the address-space limit is the only memory bound; torch needs head-room over RSS.
            rlimits["address_space_bytes"] = max(limits.memory_mb, 1024) * MIB + 1024 * MIB
        return {
            "scratch": str(scratch),
            "submission": str(submission),
            "cgroup_procs": self.cgroup.procs_files if self.cgroup else [],
            "isolate_network": True,
            "rlimits": rlimits,
            "banned": self.job.banned_callables,
            "threads": 1,
        }

    def probe_deadline(self, budget: float) -> float:
        return min(time.monotonic() + budget, self.deadline)

    def kill(self) -> None:
        """Kill the whole tree: the process group, then everything left in the cgroup."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.cgroup is not None:
            self.cgroup.kill_all()

    def reap(self, grace: float) -> None:
        """Wait for the child (killing it after ``grace`` seconds) and record its rusage and wait status."""
        end = time.monotonic() + grace
        while time.monotonic() < end:
            pid, status, rusage = os.wait4(self.process.pid, os.WNOHANG)
            if pid:
                self.wait_status, self.rusage = status, rusage
                break
            time.sleep(0.01)
        self.kill()
        if self.wait_status is None:
            _, self.wait_status, self.rusage = os.wait4(self.process.pid, 0)
        self.process.returncode = os.waitstatus_to_exitcode(self.wait_status)

    def close_channel(self) -> None:
        for fd in (self.request_fd, self.response_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


@register_runner("local")
class LocalRunner(Runner):
    """Runs each submission in a fresh confined child process on this machine."""

    def __init__(self, use_cgroups: bool = True) -> None:
        self.use_cgroups = use_cgroups

    def run(self, job: Job) -> RunResult:
        """Run the job in a fresh confined child; always cleans up the cgroup and scratch directory."""
        scratch = Path(tempfile.mkdtemp(prefix="harness-sandbox-"))
        cgroup: RunCgroup | None = None
        cgroup_error = "disabled by the runner's options"
        if self.use_cgroups:
            try:
                cgroup = RunCgroup(job.limits.memory_mb * MIB, job.limits.processes)
            except CgroupUnavailable as exc:
                cgroup_error = str(exc)
        try:
            return self._run(job, scratch, cgroup, cgroup_error)
        finally:
            if cgroup is not None:
                cgroup.kill_all()
                cgroup.remove()
            shutil.rmtree(scratch, ignore_errors=True)

    def _run(self, job: Job, scratch: Path, cgroup: RunCgroup | None, cgroup_error: str) -> RunResult:
        session = _Session(job, scratch, cgroup)
        result = RunResult(outcome="completed")
        hello: dict[str, Any] = {}
        in_flight: str | None = "startup"
        ending: tuple[RunOutcome, str] | None = None
        try:
            hello, _ = read_frame(
                session.response_fd, 0, session.probe_deadline(job.limits.startup_s)
            )
            if hello.get("op") != "hello":
                raise WireError("the sandbox did not start the protocol")
            for probe in job.probes:
                in_flight = probe.id
                if probe.before is not None:
                    probe.before()
                blob = safetensors.torch.save(probe.tensors) if probe.tensors else b""
                header = {"op": "probe", "probe": {"id": probe.id, "kind": probe.kind, **probe.params}}
                baseline = self._start_memory_measure(cgroup) if probe.measure_memory else None
                sent = time.monotonic()
                deadline = session.probe_deadline(probe.budget_s or job.limits.probe_s)
                write_frame(session.request_fd, header, blob, deadline)
                reply, payload = read_frame(session.response_fd, _MAX_REPLY_BYTES, deadline)
                elapsed = time.monotonic() - sent
                if reply.get("op") != "result" or reply.get("probe_id") != probe.id:
                    raise WireError(f"unexpected reply to probe {probe.id}")
                result.probe_results[probe.id] = ProbeResult(
                    ok=bool(reply.get("ok")),
                    facts=reply.get("facts") or {},
                    error=reply.get("error"),
                    tensors=safetensors.torch.load(payload) if payload else {},
                    wall_s=elapsed,
                    agent_error=bool(reply.get("agent")),
                    memory_delta_mb=self._memory_delta(cgroup, baseline),
                )
            in_flight = "shutdown"
            write_frame(session.request_fd, {"op": "end"}, b"", session.probe_deadline(5))
            read_frame(session.response_fd, 0, session.probe_deadline(5))
            in_flight = None
        except WireTimeout:
            ending = ("timeout", "")
        except (WireClosed, WireError, ValueError, KeyError, TypeError) as exc:
            ending = ("crashed", str(exc))
        session.close_channel()
        session.reap(grace=2.0 if ending is None else 0.0)
        wall = time.monotonic() - session.started
        if ending is not None:
            result.outcome, result.reason = self._classify(session, ending, in_flight, wall)
            result.interrupted_probe = in_flight
        result.resources = self._usage(session, wall)
        result.output = CapturedOutput(
            stdout=session.stdout.text(),
            stderr=session.stderr.text(),
            stdout_bytes=session.stdout.total,
            stderr_bytes=session.stderr.total,
            truncated=session.stdout.truncated or session.stderr.truncated,
        )
        result.runner = self._report(job.limits, hello, cgroup, cgroup_error)
        return result

    @staticmethod
    def _start_memory_measure(cgroup: RunCgroup | None) -> int | None:
        """The usage before a measured probe, with the high-water mark reset to it; None if not measurable."""
        if cgroup is None or not cgroup.reset_peak():
            return None
        return cgroup.usage_bytes()

    @staticmethod
    def _memory_delta(cgroup: RunCgroup | None, baseline: int | None) -> float | None:
        if cgroup is None or baseline is None:
            return None
        peak = cgroup.peak_memory_bytes()
        return round(max(0, peak - baseline) / MIB, 2) if peak is not None else None

    @staticmethod
    def _classify(
        session: _Session, ending: tuple[RunOutcome, str], in_flight: str | None, wall: float
    ) -> tuple[RunOutcome, str]:
        """Name how an abnormal run ended, from the kernel's evidence rather than from what the child said."""
        limits = session.limits
        if session.cgroup is not None and session.cgroup.oom_kills() > 0:
            return "memory_limit", f"killed by the kernel at the {limits.memory_mb} MiB memory limit"
        status = session.wait_status or 0
        signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        cpu_used = session.rusage.ru_utime + session.rusage.ru_stime if session.rusage is not None else 0.0
        if signum == signal.SIGXCPU or (signum == signal.SIGKILL and cpu_used >= limits.cpu_s):
            return "timeout", f"stopped at the {limits.cpu_s:g} s CPU-time limit"
        if ending[0] == "timeout":
            if wall >= limits.wall_s - 0.05:
                return "timeout", f"stopped at the {limits.wall_s:g} s wall-clock limit"
            budget = limits.startup_s if in_flight == "startup" else limits.probe_s
            return "timeout", f"no answer within the {budget:g} s budget of one step"
        if signum is not None:
            return "crashed", f"the process was killed by signal {signal.Signals(signum).name}"
        code = os.waitstatus_to_exitcode(status)
        return "crashed", f"the process exited with code {code} before answering" + (
            f" ({ending[1]})" if ending[1] else ""
        )

    @staticmethod
    def _usage(session: _Session, wall: float) -> ResourceUsage:
        cpu = session.cgroup.cpu_seconds() if session.cgroup else None
        peak = session.cgroup.peak_memory_bytes() if session.cgroup else None
        if cpu is None and session.rusage is not None:
            cpu = session.rusage.ru_utime + session.rusage.ru_stime
        peak_mb = peak / MIB if peak is not None else (
            session.rusage.ru_maxrss / 1024 if session.rusage is not None else None
        )
        return ResourceUsage(
            wall_s=round(wall, 3),
            cpu_s=round(cpu, 3) if cpu is not None else None,
            peak_memory_mb=round(peak_mb, 1) if peak_mb is not None else None,
        )

    @staticmethod
    def _report(
        limits: Limits, hello: dict[str, Any], cgroup: RunCgroup | None, cgroup_error: str
    ) -> RunnerReport:
        confinement = hello.get("confinement") or {}
        rlimits = confinement.get("rlimits") or {}
        joined = bool(cgroup and confinement.get("cgroups_joined"))
        enforced = {
            "wall": "host kills the process group and cgroup at the limit",
            "cpu": "RLIMIT_CPU" if "cpu_s" in rlimits else "not enforced",
            "memory": "cgroup v1 memory.limit_in_bytes" if joined else (
                "RLIMIT_AS (address space, approximate)" if "address_space_bytes" in rlimits
                else f"not enforced ({cgroup_error})"
            ),
            "processes": "cgroup v1 pids.max" if joined else (
                "RLIMIT_NPROC" if "processes" in rlimits else "not enforced"
            ),
            "network": {"netns": "new network namespace", "userns+netns": "new user and network namespace"}.get(
                confinement.get("network") or "", "not enforced"
            ),
            "file_size": "RLIMIT_FSIZE" if "file_size_bytes" in rlimits else "not enforced",
            "output": f"host-side capture, {limits.output_kb} KiB per stream (head and tail)",
            "environment": "clean (no variables of the caller)",
            "filesystem": "private scratch directory as working directory",
            "no_new_privs": "prctl(PR_SET_NO_NEW_PRIVS)" if confinement.get("no_new_privs") else "not enforced",
        }
        versions = {str(k): str(v) for k, v in (hello.get("versions") or {}).items()}
        return RunnerReport(name="local", versions=versions, limits=limits, enforced=enforced)
