"""The host's handle on a warm zygote: start it, ask it to fork a child per submission, collect the children.

The zygote is the agent started in zygote mode (``agent/zygote.py``) inside bubblewrap and inside its own pool
cgroup. Each child it forks is moved by the host into the submission's cgroup before it is told to start, so that
everything the child allocates, and every process it starts, is limited and killed with the submission's cgroup.
The host trusts nothing the child says; it trusts the zygote (which never runs candidate code) only for the child's
pid and wait status, and treats a zygote that stops answering as dead.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import weakref
from pathlib import Path
from typing import Any

from ._bwrap import SANDBOX_DIR, bwrap_command, devices_for
from ._cgroups import CgroupUnavailable, RunCgroup
from ._launch import BOOT, JOIN_CGROUPS, MIB, clean_environment, install_agent

_POOL_MEMORY_BYTES = 1024 * MIB  # the zygote itself (torch imported) uses about 250 MiB
_POOL_PROCESSES = 32
_REPLY_TIMEOUT_S = 10.0
_MAX_MESSAGE = 1 << 16


class ZygoteUnavailable(Exception):
    """The warm zygote could not be started, or stopped answering; the runner falls back to a fresh process."""


def _host_pid(candidates: list[int], namespaced_pid: int) -> int | None:
    """The host pid of the process whose pid in its own (innermost) namespace is ``namespaced_pid``."""
    for pid in candidates:
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("NSpid:"):
                        levels = line.split()[1:]
                        if len(levels) > 1 and int(levels[-1]) == namespaced_pid:
                            return pid
                        break
        except OSError:
            continue
    return None


class ZygoteChannel:
    """The host's side of the conversation with one warm zygote, used by one runner from one thread.

    How the zygote is started, which processes a forked child is looked for among, and where the runs' cgroups go
    depend on where the zygote lives (in bubblewrap here, or in a pooled container: ``_docker_pool.py``).
    """

    control: socket.socket
    versions: dict[str, str]
    accepted_isolation: tuple[str, ...] = ("ok",)
    """The answers of the zygote's isolation check under which it may serve (see ``agent/zygote.py``)."""

    def _fork_candidates(self) -> list[int]:
        """Host pids among which a freshly forked child is found (the zygote's own cgroup's)."""
        raise NotImplementedError

    def alive(self) -> bool:
        """Whether the zygote process still runs."""
        raise NotImplementedError

    def fits(self, job: Any) -> bool:
        """Whether this zygote can take the job (alive, and started with room enough for its limits)."""
        return self.alive()

    def close(self) -> None:
        """End the zygote and everything it forked. Idempotent."""
        raise NotImplementedError

    def run_cgroup(self, memory_bytes: int, max_pids: int) -> RunCgroup:
        """A fresh cgroup for one submission's child."""
        return RunCgroup(memory_bytes, max_pids)

    def _log_tail(self) -> str:
        return ""

    def _accept_ready(self, ready: dict[str, Any]) -> None:
        """Check the zygote's first message: started, single-threaded, non-dumpable, its children isolable."""
        if ready.get("op") != "ready":
            raise ZygoteUnavailable(f"the zygote did not start: {ready}")
        if ready.get("threads") != 1:
            # Forking a multithreaded process can deadlock its children: refuse rather than risk it.
            raise ZygoteUnavailable(f"the zygote runs {ready.get('threads')} threads after importing torch")
        if not ready.get("undumpable"):
            raise ZygoteUnavailable("the zygote could not make itself non-dumpable")
        if ready.get("isolation") not in self.accepted_isolation:
            raise ZygoteUnavailable(f"the zygote's children cannot isolate themselves: {ready.get('isolation')}")
        self.versions = {str(k): str(v) for k, v in (ready.get("versions") or {}).items()}

    def _receive(self, timeout: float) -> dict[str, Any]:
        self.control.settimeout(timeout)
        try:
            data = self.control.recv(_MAX_MESSAGE)
        except (TimeoutError, OSError) as exc:
            raise ZygoteUnavailable(f"the zygote did not answer within {timeout:g} s: {exc}{self._log_tail()}") \
                from exc
        if not data:
            raise ZygoteUnavailable(f"the zygote exited{self._log_tail()}")
        try:
            message = json.loads(data)
        except ValueError as exc:
            raise ZygoteUnavailable(f"the zygote sent a malformed message: {exc}") from exc
        if not isinstance(message, dict):
            raise ZygoteUnavailable("the zygote sent a malformed message")
        return message

    def _request(self, message: dict[str, Any], fds: list[int] | None = None,
                 timeout: float = _REPLY_TIMEOUT_S) -> dict[str, Any]:
        payload = json.dumps(message).encode()
        try:
            if fds:
                socket.send_fds(self.control, [payload], fds)
            else:
                self.control.send(payload)
        except OSError as exc:
            raise ZygoteUnavailable(f"the zygote is gone: {exc}") from exc
        return self._receive(timeout)

    def _say_end(self) -> None:
        """Ask the zygote to end (it also ends when the control socket closes)."""
        with contextlib.suppress(OSError):
            self.control.settimeout(1.0)
            self.control.send(json.dumps({"op": "end"}).encode())

    def fork(self, plan: dict[str, Any], fds: list[int]) -> tuple[int, int]:
        """Fork a child holding ``fds`` (request, response, stdout, stderr, submission).

        Returns its pid inside the sandbox and on the host. The child waits for a ``start`` frame on its request
        pipe before doing anything.
        """
        reply = self._request({"op": "fork", "plan": plan}, fds)
        if reply.get("op") != "forked" or not isinstance(reply.get("pid"), int):
            raise ZygoteUnavailable(f"the zygote did not fork: {reply}")
        namespaced = int(reply["pid"])
        host = _host_pid(self._fork_candidates(), namespaced)
        if host is None:
            raise ZygoteUnavailable(f"the forked child (pid {namespaced} in the sandbox) is not in the zygote's cgroup")
        return namespaced, host

    def wait(self, namespaced_pid: int, timeout: float) -> dict[str, Any] | None:
        """The child's wait status and rusage once it has ended within ``timeout`` s; None if it still runs."""
        reply = self._request({"op": "wait", "pid": namespaced_pid, "timeout": timeout},
                              timeout=timeout + _REPLY_TIMEOUT_S)
        if reply.get("op") != "waited" or reply.get("pid") != namespaced_pid:
            raise ZygoteUnavailable(f"the zygote answered a wait with {reply}")
        return reply if reply.get("status") is not None else None


class Zygote(ZygoteChannel):
    """A warm zygote in bubblewrap on this machine, in a pool cgroup of its own."""

    def __init__(self, bwrap: str, startup_s: float, devices: list[tuple[str, str]] | None = None) -> None:
        self.devices = list(devices or [])
        self.work = Path(tempfile.mkdtemp(prefix="harness-zygote-"))
        self.process: subprocess.Popen[bytes] | None = None
        self._closed = False
        try:
            self.cgroup = RunCgroup(_POOL_MEMORY_BYTES, _POOL_PROCESSES)
        except CgroupUnavailable as exc:
            shutil.rmtree(self.work, ignore_errors=True)
            raise ZygoteUnavailable(f"no cgroup for the zygote: {exc}") from exc
        # A runner dropped without close() must not leave the zygote's cgroup behind when the harness exits.
        self._finalizer = weakref.finalize(self, self.close)
        try:
            self._start(bwrap, startup_s)
        except BaseException:
            self.close()
            raise

    def _start(self, bwrap: str, startup_s: float) -> None:
        install_agent(self.work)
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        inside = Path(SANDBOX_DIR)
        env = clean_environment(inside, Path("/tmp"))
        plan = {"threads": 1}
        command = [*bwrap_command(bwrap, self.work, env, 4 * MIB, keep_capabilities=("CAP_SYS_ADMIN", "CAP_SETPCAP"),
                                  devices=self.devices, disable_user_namespaces=False),
                   sys.executable, "-I", "-B", "-c", BOOT, str(inside / ".agent"), "zygote", str(theirs.fileno()),
                   json.dumps(plan)]
        command = ["/bin/sh", "-c", JOIN_CGROUPS, "sh", *self.cgroup.procs_files, "--", *command]
        self.log = open(self.work / "zygote.log", "wb")  # noqa: SIM115 - kept open for the zygote's lifetime
        try:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                            pass_fds=(theirs.fileno(),), env=env, cwd=self.work,
                                            start_new_session=True, close_fds=True)
        finally:
            theirs.close()
        self._accept_ready(self._receive(startup_s))

    def _log_tail(self) -> str:
        try:
            tail = (self.work / "zygote.log").read_bytes()[-2000:].decode(errors="replace").strip()
        except OSError:
            return ""
        return f"; its log ends: {tail}" if tail else ""

    def _fork_candidates(self) -> list[int]:
        return self.cgroup.pids()

    def alive(self) -> bool:
        """Whether the zygote's process still runs."""
        return self.process is not None and self.process.poll() is None

    def fits(self, job: Any) -> bool:
        """Alive, and its sandbox holds exactly the device nodes the job's device needs (the GPUs' for cuda)."""
        return self.alive() and self.devices == devices_for(job.device)

    def close(self) -> None:
        """End the zygote and everything in its pool cgroup; remove the cgroup and its files. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.process is not None and self.alive():
            self._say_end()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=2.0)
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.cgroup.kill_all()
            with contextlib.suppress(ChildProcessError, subprocess.TimeoutExpired):
                self.process.wait(timeout=5.0)
            self.process = None
        with contextlib.suppress(AttributeError, OSError):
            self.control.close()
        with contextlib.suppress(AttributeError, OSError):
            self.log.close()
        self.cgroup.kill_all()
        self.cgroup.remove()
        shutil.rmtree(self.work, ignore_errors=True)


def zygote_child_plan(plan: dict[str, Any], disk_bytes: int) -> dict[str, Any]:
    """The confinement plan of a child forked from the zygote: the fresh sandbox's, plus its tmpfs sizes."""
    # The child makes its own network namespace and drops its capabilities itself, before confine() runs.
    return {**plan, "isolate_network": False, "drop_capabilities": False, "disk_bytes": disk_bytes}
