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
import platform
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ._bwrap import SANDBOX_DIR, bwrap_command, bwrap_path, devices_for, python_roots
from ._capture import CappedStream, withhold_all
from ._cgroups import CgroupUnavailable, RunCgroup
from ._launch import BOOT, JOIN_CGROUPS, JOIN_FAILED, MIB, clean_environment, install_agent
from ._protocol import (
    NO_HOLD,
    NO_MEMORY_METER,
    MemoryMeter,
    SandboxHold,
    after_oom_kills,
    converse,
    describe_device,
    name_ending,
)
from ._zygote import Zygote, ZygoteChannel, ZygoteUnavailable, zygote_child_plan
from .agent.wire import WireError, write_frame
from .base import (
    CapturedOutput,
    Job,
    Limits,
    ResourceUsage,
    Runner,
    RunnerReport,
    RunOutcome,
    RunResult,
    SandboxUnavailable,
    register_runner,
)


class _WarmStartFailed(Exception):
    """The zygote could not hand over a child for this job; the job is run again in a fresh process."""


class _Session:
    """The live state of one run: the child, its channel, its captures, its cgroup.

    The child is either a fresh interpreter (started through the cgroup join, bubblewrap and the agent) or a child
    forked from the runner's warm zygote and moved into the run's cgroup; from the first hello on, both are driven
    the same way.
    """

    def __init__(self, job: Job, scratch: Path, cgroup: RunCgroup | None, bwrap: str | None,
                 zygote: ZygoteChannel | None = None) -> None:
        self.job = job
        self.limits = job.limits
        self.cgroup = cgroup
        self.bwrap = bwrap
        self.zygote = zygote
        self.started = time.monotonic()
        self.deadline = self.started + self.limits.wall_s
        self.rusage: Any = None
        self.wait_status: int | None = None
        # Kept for as long as the session reaps the child itself: a Popen dropped while its child runs is reaped
        # by the next Popen anyone creates, and this session's own wait would then fail with ECHILD.
        self.popen: subprocess.Popen[bytes] | None = None
        inside = Path(SANDBOX_DIR) if bwrap or zygote else scratch
        plan = self._confinement_plan(inside)
        request_read, self.request_fd = os.pipe()
        self.response_fd, response_write = os.pipe()
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        cap = self.limits.output_kb * 1024
        self.stdout = CappedStream(out_read, cap)
        self.stderr = CappedStream(err_read, cap)
        child_fds = (request_read, response_write, out_write, err_write)
        try:
            if zygote is not None:
                self._fork_from_zygote(zygote, plan, child_fds)
            else:
                self._start_fresh(scratch, inside, plan, child_fds)
        except BaseException:
            self.close_channel()  # the capture threads end on their own once the child's ends are closed
            raise
        finally:
            for fd in child_fds:
                os.close(fd)

    def _start_fresh(self, scratch: Path, inside: Path, plan: dict[str, Any], child_fds: tuple[int, ...]) -> None:
        request_read, response_write, out_write, err_write = child_fds
        install_agent(scratch)
        if plan.get("user"):
            os.chown(scratch, plan["user"]["uid"], plan["user"]["gid"])  # its only writable place
        shutil.copyfile(self.job.submission, scratch / "submission.py")
        (scratch / "submission.py").chmod(0o444)
        env = clean_environment(inside, Path("/tmp") if self.bwrap else scratch)
        command = [sys.executable, "-I", "-B", "-c", BOOT, str(inside / ".agent"), str(request_read),
                   str(response_write), json.dumps(plan)]
        if self.bwrap:
            # CAP_SYS_ADMIN for the agent's own network namespace (bubblewrap's has its loopback up) and CAP_SETPCAP
            # to empty its bounding set: both dropped by the agent before anything of the candidate's is loaded.
            command = bwrap_command(self.bwrap, scratch, env, self.limits.disk_mb * MIB,
                                    keep_capabilities=("CAP_SYS_ADMIN", "CAP_SETPCAP"),
                                    devices=devices_for(self.job.device)) + command
        if self.cgroup is not None:
            command = ["/bin/sh", "-c", JOIN_CGROUPS, "sh", *self.cgroup.procs_files, "--", *command]
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out_write,
            stderr=err_write,
            pass_fds=(request_read, response_write),
            env=env,
            cwd=scratch,
            start_new_session=True,
            close_fds=True,
        )
        self.popen = process
        self.pid = process.pid
        self.namespaced_pid = 0

    def _fork_from_zygote(self, zygote: ZygoteChannel, plan: dict[str, Any], child_fds: tuple[int, ...]) -> None:
        assert self.cgroup is not None
        source = os.open(self.job.submission, os.O_RDONLY | os.O_CLOEXEC)
        try:
            self.namespaced_pid, self.pid = zygote.fork(
                zygote_child_plan(plan, self.limits.disk_mb * MIB), [*child_fds, source])
        except ZygoteUnavailable as exc:
            raise _WarmStartFailed(str(exc)) from exc
        finally:
            os.close(source)
        try:
            self.cgroup.adopt(self.pid)
            write_frame(self.request_fd, {"op": "start"}, b"", self.probe_deadline(5))
        except (OSError, WireError) as exc:
            raise _WarmStartFailed(f"could not hand the forked child its cgroup: {exc}") from exc

    @property
    def exit_code_from_bwrap(self) -> bool:
        """Whether the wait status is bubblewrap's (which exits with 128 + the signal that killed its child)."""
        return self.bwrap is not None and self.zygote is None

    def _confinement_plan(self, inside: Path) -> dict[str, Any]:
        limits = self.limits
        rlimits = {
            "cpu_s": int(limits.cpu_s),
            "file_size_bytes": limits.file_size_mb * MIB,
            "open_files": limits.open_files,
            "core_bytes": 0,
        }
        if self.cgroup is None:
            # Without a cgroup, rlimits are the only bounds: the address space (torch needs head-room over its
            # resident size) and the number of processes (counted per user, so only meaningful for non-root).
            rlimits["address_space_bytes"] = max(limits.memory_mb, 1024) * MIB + 1024 * MIB
            rlimits["processes"] = limits.processes
        return {
            "scratch": str(inside),
            "submission": str(inside / "submission.py"),
            "user": unprivileged_user() if self.bwrap is None and self.zygote is None else None,
            "isolate_network": True,  # bubblewrap's namespace has its loopback up: the agent makes one without
            "drop_capabilities": self.bwrap is not None,
            "rlimits": rlimits,
            "banned": self.job.banned_callables,
            "device": self.job.device,
            "threads": 1,
            "seccomp": True,
        }

    def probe_deadline(self, budget: float) -> float:
        return min(time.monotonic() + budget, self.deadline)

    def kill(self) -> None:
        """Kill the whole tree: the process group, then everything left in the cgroup."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        if self.cgroup is not None:
            self.cgroup.kill_all()

    def reap(self, grace: float) -> None:
        """Wait for the child (killing it after ``grace`` seconds) and record its rusage and wait status."""
        if self.zygote is not None:
            self._reap_through_zygote(self.zygote, grace)
            return
        end = time.monotonic() + grace
        while time.monotonic() < end:
            pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                self.wait_status, self.rusage = status, rusage
                break
            time.sleep(0.01)
        self.kill()
        if self.wait_status is None:
            _, self.wait_status, self.rusage = os.wait4(self.pid, 0)
        if self.popen is not None:
            self.popen.returncode = os.waitstatus_to_exitcode(self.wait_status)  # reaped: Popen must not wait

    def _reap_through_zygote(self, zygote: ZygoteChannel, grace: float) -> None:
        """Collect the child through the zygote, whose child it is.

        A zygote that no longer answers took the child down with it (its PID namespace ends with it): a kill.
        """
        try:
            waited = zygote.wait(self.namespaced_pid, grace)
            if waited is None:
                self.kill()
                waited = zygote.wait(self.namespaced_pid, 5.0)
        except ZygoteUnavailable:
            waited = None
        self.kill()
        if waited is None:
            self.wait_status = int(signal.SIGKILL)
            return
        self.wait_status = int(waited["status"])
        self.rusage = SimpleNamespace(ru_utime=float(waited.get("utime", 0.0)),
                                      ru_stime=float(waited.get("stime", 0.0)),
                                      ru_maxrss=int(waited.get("maxrss_kb", 0)))

    def close_channel(self) -> None:
        for fd in (self.request_fd, self.response_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


SANDBOX_USER_ENV = "HARNESS_SANDBOX_UID"


def unprivileged_user() -> dict[str, int] | None:
    """The uid and gid a fresh child drops to when the host is root without bubblewrap (in a container, say).

    Without a user namespace the child would otherwise run as root, able to read the reference and write the
    results; ``nobody`` (65534) unless ``HARNESS_SANDBOX_UID`` names another. None when the host is not root.
    """
    if os.geteuid() != 0:
        return None
    uid = int(os.environ.get(SANDBOX_USER_ENV, "65534"))
    if not all(_open_to_others(Path(root)) for root in python_roots()):
        return None  # the child could not import torch as that user; the scorecard's privileges say uid 0
    return {"uid": uid, "gid": uid}


def _open_to_others(path: Path) -> bool:
    """Whether a user who owns nothing here can reach ``path`` (every folder above it searchable) and list it."""
    try:
        if not os.stat(path).st_mode & stat.S_IROTH:
            return False
        return all(os.stat(folder).st_mode & stat.S_IXOTH for folder in (path, *path.parents))
    except OSError:
        return False


def warm_child_network(confinement: dict[str, Any]) -> str:
    """The network a child forked from a zygote has: its own namespace, or (where that failed) the zygote's."""
    if confinement.get("network"):
        return "own network namespace (only a downed loopback); sockets refused by seccomp"
    return "the zygote's network namespace (only a downed loopback); sockets refused by seccomp"


@register_runner("local")
class LocalRunner(Runner):
    """Runs each submission in its own confined child process on this machine.

    With ``warm`` (the default), the child is forked from a zygote that imported torch once (see ``_zygote.py``),
    which saves the interpreter and torch start-up of every submission; this needs cgroups and bubblewrap, and
    where they are missing, or the zygote fails, each submission gets a fresh interpreter instead (the scorecard's
    ``runner.enforced.startup`` says which).
    """

    def __init__(self, use_cgroups: bool = True, use_bwrap: bool = True, warm: bool = True) -> None:
        self.use_cgroups = use_cgroups
        self.bwrap = bwrap_path() if use_bwrap else None
        self._zygote: ZygoteChannel | None = None
        self._cold_reason = "" if warm else "warm start disabled by the runner's options"
        if warm and not (use_cgroups and self.bwrap):
            self._cold_reason = "warm start needs cgroups and bubblewrap"

    def ensure_ready(self, limits: Limits, device: str = "cpu") -> None:
        """The canary (see :meth:`Runner.ensure_ready`), after making sure this is Linux at all."""
        if platform.system() != "Linux":
            raise SandboxUnavailable(f"the local sandbox is Linux-only (this is {platform.system()}): grade with "
                                     "--runner docker")
        super().ensure_ready(limits, device)

    def close(self) -> None:
        """End the warm zygote, if one was started."""
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None

    def _warm_zygote(self, job: Job) -> ZygoteChannel | None:
        """The zygote to fork this job's child from, started (or restarted) as needed; None to start fresh."""
        if self._cold_reason:
            return None
        if self._zygote is not None and not self._zygote.fits(job):
            self.close()  # killed by the previous submission, crashed, or too small for this job: start another
        if self._zygote is None:
            try:
                self._zygote = self._start_zygote(job)
            except ZygoteUnavailable as exc:
                self._cold_reason = f"warm zygote unavailable: {exc}"
        return self._zygote

    def _start_zygote(self, job: Job) -> ZygoteChannel:
        assert self.bwrap is not None
        return Zygote(self.bwrap, job.limits.startup_s, devices=devices_for(job.device))

    def _run_cold(self, job: Job) -> RunResult:
        """Run the job without the zygote: in a fresh interpreter."""
        return self._run_once(job, None)

    def run(self, job: Job) -> RunResult:
        """Run the job in its own confined child; always cleans up the cgroup and scratch directory."""
        zygote = self._warm_zygote(job)
        if zygote is not None:
            try:
                return self._run_once(job, zygote)
            except _WarmStartFailed as exc:
                # Nothing of the candidate's ran yet: drop this zygote and run the job in a fresh process.
                self.close()
                self._cold_reason = f"warm zygote failed: {exc}"
        return self._run_cold(job)

    def _run_once(self, job: Job, zygote: ZygoteChannel | None) -> RunResult:
        scratch = Path(tempfile.mkdtemp(prefix="harness-sandbox-"))
        cgroup: RunCgroup | None = None
        cgroup_error = "disabled by the runner's options"
        if self.use_cgroups:
            try:
                cgroup = (zygote.run_cgroup if zygote is not None else RunCgroup)(job.limits.memory_mb * MIB,
                                                                                 job.limits.processes)
            except CgroupUnavailable as exc:
                cgroup_error = str(exc)
        try:
            if cgroup is None and zygote is not None:
                # The zygote's children are bounded only by their own cgroups: without one, start fresh instead.
                raise _WarmStartFailed(f"no cgroup for the child: {cgroup_error}")
            return self._run(job, scratch, cgroup, cgroup_error, zygote)
        finally:
            if cgroup is not None:
                cgroup.kill_all()
                cgroup.remove()
            shutil.rmtree(scratch, ignore_errors=True)

    def _run(self, job: Job, scratch: Path, cgroup: RunCgroup | None, cgroup_error: str,
             zygote: ZygoteChannel | None) -> RunResult:
        session = _Session(job, scratch, cgroup, self.bwrap, zygote)
        meter = MemoryMeter(start=cgroup.start_measure, delta=cgroup.delta_mb) if cgroup else NO_MEMORY_METER
        hold = SandboxHold(frozen=cgroup.frozen, cpu_seconds=cgroup.cpu_seconds) if cgroup else NO_HOLD
        talk = converse(job, session.request_fd, session.response_fd, session.probe_deadline, meter,
                        withhold=withhold_all(session.stdout, session.stderr), hold=hold)
        result = RunResult(outcome="completed", probe_results=talk.probe_results)
        hello, ending, in_flight = talk.hello, talk.ending, talk.in_flight
        ending, in_flight = after_oom_kills(ending, in_flight, cgroup.oom_kills() if cgroup is not None else 0)
        session.close_channel()
        # A child that ended on its own (exit, crash) is collected with its real status; a hung one is killed.
        session.reap(grace=2.0 if ending is None else (0.0 if ending[0] == "timeout" else 0.3))
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
        result.runner = self._report(job, hello, cgroup, cgroup_error, warm=zygote is not None)
        return result

    @staticmethod
    def _classify(
        session: _Session, ending: tuple[RunOutcome, str], in_flight: str | None, wall: float
    ) -> tuple[RunOutcome, str]:
        """Name how an abnormal run ended, from the kernel's evidence rather than from what the child said."""
        limits = session.limits
        if session.cgroup is not None and session.cgroup.oom_kills() > 0:
            return name_ending(limits, ending, in_flight, wall, oom_killed=True, signum=None, exit_code=0, cpu_s=None)
        status = session.wait_status or 0
        signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        code = os.waitstatus_to_exitcode(status)
        if signum is None and session.exit_code_from_bwrap and code > 128:
            signum = code - 128  # bubblewrap exits with 128 + the signal that killed the sandboxed process
        cpu_used = session.rusage.ru_utime + session.rusage.ru_stime if session.rusage is not None else 0.0
        named = name_ending(limits, ending, in_flight, wall, oom_killed=False, signum=signum, exit_code=code,
                            cpu_s=cpu_used)
        if named[0] == "crashed" and signum is None and code == JOIN_FAILED and session.cgroup is not None \
                and in_flight == "startup":
            return "sandbox_error", "the sandbox could not join its cgroup"
        return named

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

    def _report(self, job: Job, hello: dict[str, Any], cgroup: RunCgroup | None,
                cgroup_error: str, warm: bool) -> RunnerReport:
        """How each limit was really enforced, from what the host set up and what the child confirmed."""
        limits = job.limits
        devices = [target for _, target in devices_for(job.device)] if self.bwrap else []
        confinement = hello.get("confinement") or {}
        rlimits = confinement.get("rlimits") or {}
        started = bool(hello)
        with_cgroup = cgroup is not None and started
        network = warm_child_network(confinement) if warm and self.bwrap and started else {
            "netns": "own network namespace (only a downed loopback); sockets refused by seccomp",
            "userns+netns": "own user and network namespace (only a downed loopback); sockets refused by seccomp",
        }.get(confinement.get("network") or "", "not enforced")
        enforced = {
            "wall": ("host kills the whole cgroup and process group at the limit" if cgroup is not None else
                     "host kills the process group at the limit (no cgroup: a setsid daemon could escape)")
                    + "; each probe has its own budget",
            "cpu": "RLIMIT_CPU" if "cpu_s" in rlimits else "not enforced",
            "memory": cgroup.describe_memory() if cgroup is not None and with_cgroup else (
                "RLIMIT_AS (address space, approximate)" if "address_space_bytes" in rlimits
                else f"not enforced ({cgroup_error})"
            ),
            "processes": cgroup.describe_processes() if cgroup is not None and with_cgroup else (
                "RLIMIT_NPROC" if "processes" in rlimits else f"not enforced ({cgroup_error})"
            ),
            "network": network,
            "file_size": "RLIMIT_FSIZE" if "file_size_bytes" in rlimits else "not enforced",
            "disk": (f"tmpfs of {limits.disk_mb} MiB for the working directory and /tmp"
                     + (" (charged to the memory limit)" if cgroup is not None else ""))
                    if self.bwrap else "not enforced (bubblewrap not installed): RLIMIT_FSIZE per file only",
            "output": f"host-side capture, {limits.output_kb} KiB per stream (head and tail)",
            "environment": "clean (no variables of the caller)",
            "filesystem": ("bubblewrap: read-only system and Python, private working directory, harness hidden"
                           + ("; own mount and IPC namespaces, every other writable mount read-only" if warm else ""))
                          if self.bwrap else "not isolated (bubblewrap not installed): private working directory only",
            "privileges": (f"uid {confinement.get('uid')} in a user namespace, all capabilities dropped"
                           if self.bwrap else f"uid {confinement.get('uid')}, no namespace"
                           + (" (dropped from root, no capabilities)" if confinement.get("dropped_to") is not None
                              else ""))
                          if started and (not warm or confinement.get("capabilities_dropped"))
                          else "unknown (the sandbox did not start)" if not started
                          else "capabilities NOT confirmed dropped",
            "device": describe_device(hello),
            "gpu": ("device nodes bound into the sandbox: " + ", ".join(devices)) if devices else "none",
            "startup": "forked from a warm zygote (torch imported once per runner)" if warm
                       else f"fresh interpreter ({self._cold_reason or 'warm start not used'})",
            "no_new_privs": "prctl(PR_SET_NO_NEW_PRIVS)" if confinement.get("no_new_privs") else "not enforced",
            "seccomp": confinement.get("seccomp") or "not enforced (unsupported architecture or refused)",
        }
        versions = {str(k): str(v) for k, v in (hello.get("versions") or {}).items()}
        return RunnerReport(name=self.name, versions=versions, limits=limits, enforced=enforced)


@register_runner("local-cold")
class ColdLocalRunner(LocalRunner):
    """The local sandbox without the warm zygote: a fresh interpreter (and torch import) per submission."""

    def __init__(self, use_cgroups: bool = True, use_bwrap: bool = True) -> None:
        super().__init__(use_cgroups=use_cgroups, use_bwrap=use_bwrap, warm=False)
