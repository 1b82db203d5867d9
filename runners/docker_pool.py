"""The pooled docker runner: one long-lived container per runner, a fresh sandboxed child forked per submission.

A fresh container per submission costs more than a second of start-up (engine, runtime, interpreter, torch import).
Here the runner starts one container of the same image, with the same hardening as the docker runner's, running the
agent as a warm zygote (``agent/zygote.py``), and every submission is a child forked from it, as in the local
runner's warm mode:

- The zygote connects to a SOCK_SEQPACKET socket the host listens on (the only host path mounted); each fork
  request passes the child's pipes and the submission as file descriptors, so nothing else of the host is mounted.
- The container has no capability. The zygote enters a user namespace of its own (as the same uid), which lets each
  child make its own mount, IPC and PID namespaces, with fresh tmpfs working directory and /tmp, before dropping
  every capability for good. The engine's default seccomp profile refuses ``unshare`` and ``mount`` to a process
  without CAP_SYS_ADMIN, so the pool container gets a profile of its own: the agent's list of refused calls, minus
  the four the zygote needs (``unshare`` and ``mount`` for the children's namespaces, ``socket`` and ``connect``
  for its channel). Every child installs the agent's full filter before any candidate code runs.
- The host moves each child into a cgroup made for the submission under the container's own cgroups, with the
  submission's memory and pids limits (the container's limits still bound the whole), and kills that cgroup at the
  end. Verdicts come from those cgroups and from the child's wait status, which the zygote reports.
- If the harness dies, the zygote sees its channel close and exits; the container ends with it and the engine
  removes it.

Where the pool cannot start (no engine, a rootless host that cannot make cgroups under the container's, a kernel or
security module refusing user namespaces) each submission gets a fresh container, and the scorecard's
``runner.enforced.startup`` says why.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
import weakref
from pathlib import Path
from typing import Any

from ._cgroups import CgroupView, RunCgroup
from ._launch import BOOT, MIB
from ._protocol import describe_device
from ._zygote import ZygoteChannel, ZygoteUnavailable
from .base import Job, Limits, RunnerReport, RunResult, register_runner
from .docker import AGENT_ROOT, CHANNEL_DIR, DockerRunner, DockerUnavailable, OutputPump, container_seccomp_profile
from .local import LocalRunner, warm_child_network

# The zygote itself (torch imported) and its bookkeeping, on top of the largest submission the pool takes.
_ZYGOTE_MEMORY_MB = 512
_ZYGOTE_PROCESSES = 16
_ZYGOTE_DISK_BYTES = 1 * MIB  # the container's own tmpfs; every child mounts its own over it
_ZYGOTE_LOG_BYTES = 16 * 1024
_NEEDED_BY_ZYGOTE = frozenset({"unshare", "mount", "socket", "connect"})
_SOCKET = "zygote.sock"
# The zygote's own plan: one thread (it forks), and a user namespace that gives its children their capabilities.
ZYGOTE_PLAN: dict[str, Any] = {"threads": 1, "user_namespace": True}


def pool_seccomp_profile() -> str:
    """The pool container's seccomp profile for the engine: the agent's refused calls but the zygote's four."""
    return container_seccomp_profile(_NEEDED_BY_ZYGOTE)


class PoolContainer(ZygoteChannel):
    """One long-lived container running the warm zygote; sized for the limits of the job it was started for."""

    # The engine masks parts of the container's /proc, and the kernel will not mount an unmasked one inside: a
    # child may then keep the container's /proc (the zygote is non-dumpable, and its pid namespace the child's parent).
    accepted_isolation = ("ok", "ok, shared /proc")

    def __init__(self, fresh: DockerRunner, client: Any, limits: Limits) -> None:
        self.memory_mb = limits.memory_mb
        self.processes = limits.processes
        self.work = Path(tempfile.mkdtemp(prefix="harness-pool-"))
        self.container: Any = None
        self._closed = False
        self._finalizer = weakref.finalize(self, self.close)
        try:
            self._start(fresh, client, limits.startup_s)
        except ZygoteUnavailable:
            self.close()
            raise
        except Exception as exc:  # noqa: BLE001 - an engine failure means no pool, reported as such
            self.close()
            raise ZygoteUnavailable(f"the pool container could not start: {type(exc).__name__}: {exc}") from exc

    def _start(self, fresh: DockerRunner, client: Any, startup_s: float) -> None:
        channel_dir = self.work / "channel"
        channel_dir.mkdir()
        channel_dir.chmod(0o755)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            listener.bind(str(channel_dir / _SOCKET))
            (channel_dir / _SOCKET).chmod(0o666)  # the container's unprivileged user must connect
            listener.listen(1)
            command = [
                "python3",
                "-I",
                "-B",
                "-c",
                BOOT,
                AGENT_ROOT,
                "zygote-connect",
                f"{CHANNEL_DIR}/{_SOCKET}",
                json.dumps(ZYGOTE_PLAN),
            ]
            settings = fresh.hardened_settings(
                (self.memory_mb + _ZYGOTE_MEMORY_MB) * MIB,
                self.processes + _ZYGOTE_PROCESSES,
                channel_dir,
                _ZYGOTE_DISK_BYTES,
            )
            settings["security_opt"] = [
                *[option for option in settings["security_opt"] if not option.startswith("seccomp=")],
                f"seccomp={pool_seccomp_profile()}",
            ]
            self.container = client.containers.create(
                fresh.image,
                command=command,
                auto_remove=True,
                labels={"mlgrade-harness": "pool", "mlgrade-harness.owner": f"{socket.gethostname()}:{os.getpid()}"},
                **settings,
            )
            self._log = OutputPump(self.container, _ZYGOTE_LOG_BYTES)
            self.container.start()
            listener.settimeout(startup_s)
            try:
                self.control, _ = listener.accept()
            except (TimeoutError, OSError) as exc:
                raise ZygoteUnavailable(
                    f"the pool's zygote did not connect within {startup_s:g} s{self._log_tail()}"
                ) from exc
        finally:
            listener.close()
            with contextlib.suppress(OSError):
                (channel_dir / _SOCKET).unlink()  # one zygote per container: nobody else may connect
        self._accept_ready(self._receive(startup_s))
        self.container.reload()
        self.cgroups = CgroupView.of_container(self.container.id)
        missing = {"memory", "pids", "cpuacct"} - set(self.cgroups.paths)
        if missing:
            raise ZygoteUnavailable(
                f"the pool container's cgroups ({', '.join(sorted(missing))}) are not under "
                "/sys/fs/cgroup/<controller>/docker/ (cgroup v1 with the cgroupfs driver needed)"
            )

    def _log_tail(self) -> str:
        log = getattr(self, "_log", None)
        if log is None:
            return ""
        tail = (log.stdout.text() + log.stderr.text()).strip()[-2000:]
        return f"; its log ends: {tail}" if tail else ""

    def _fork_candidates(self) -> list[int]:
        return self.cgroups.pids()

    def run_cgroup(self, memory_bytes: int, max_pids: int) -> RunCgroup:
        """A cgroup for one child, under the container's own (so the container's limits bound it too)."""
        return RunCgroup(memory_bytes, max_pids, parents=self.cgroups.paths, unified=self.cgroups.unified)

    def alive(self) -> bool:
        """Whether the container still runs (the engine removes it once the zygote has ended)."""
        if self._closed or self.container is None:
            return False
        try:
            self.container.reload()
        except Exception:  # noqa: BLE001 - removed (the zygote ended) or the engine is gone: either way, not alive
            return False
        return bool((self.container.attrs.get("State") or {}).get("Running"))

    def fits(self, job: Any) -> bool:
        """Alive, and started with room for the job's memory and pids limits."""
        limits = job.limits
        return limits.memory_mb <= self.memory_mb and limits.processes <= self.processes and self.alive()

    def close(self) -> None:
        """End the zygote, remove the container (and with it the children's cgroups), remove the channel."""
        if self._closed:
            return
        self._closed = True
        if hasattr(self, "control"):
            self._say_end()
            with contextlib.suppress(OSError):
                self.control.close()
        if self.container is not None:
            with contextlib.suppress(Exception):
                self.container.remove(force=True)
        shutil.rmtree(self.work, ignore_errors=True)


@register_runner("docker-pool")
class DockerPoolRunner(LocalRunner):
    """Runs each submission in a child forked from a warm zygote in a long-lived container of the harness's image.

    The container, its image and GPUs are the docker runner's (``image``, ``gpus``, ``cpus``, ``base_url``); where
    the pool cannot be used, each submission runs in a fresh container instead.
    """

    def __init__(
        self,
        image: str | None = None,
        gpus: str | int | list[str] | None = None,
        cpus: float = 1.0,
        base_url: str | None = None,
    ) -> None:
        super().__init__(use_cgroups=True, use_bwrap=False, warm=True)
        self.fresh = DockerRunner(image=image, gpus=gpus, cpus=cpus, base_url=base_url)
        # The children's cgroups are made by the host under the container's: that needs root on the host.
        self._cold_reason = "" if os.geteuid() == 0 else "the pool's per-submission cgroups need root on the host"

    @property
    def image(self) -> str:
        """The image the containers run."""
        return self.fresh.image

    def close(self) -> None:
        """End the pool container and close the connection to the engine."""
        super().close()
        self.fresh.close()

    def _start_zygote(self, job: Job) -> ZygoteChannel:
        try:
            client = self.fresh.client()
        except DockerUnavailable as exc:
            raise ZygoteUnavailable(str(exc)) from exc
        return PoolContainer(self.fresh, client, job.limits)

    def _run_cold(self, job: Job) -> RunResult:
        """A fresh container for this job; the report says why the pool was not used."""
        result = self.fresh.run(job)
        result.runner.name = self.name
        result.runner.enforced["startup"] = (
            f"fresh container of {self.image} (pool not used: {self._cold_reason or 'unknown'})"
        )
        return result

    def _report(
        self, job: Job, hello: dict[str, Any], cgroup: RunCgroup | None, cgroup_error: str, warm: bool
    ) -> RunnerReport:
        """How each limit was enforced for a child of the pool container."""
        limits = job.limits
        confinement = hello.get("confinement") or {}
        started = bool(hello)
        pool = self._zygote if isinstance(self._zygote, PoolContainer) else None
        container = (
            (
                f"pool container of {self.image} ({pool.memory_mb + _ZYGOTE_MEMORY_MB} MiB, "
                f"{pool.processes + _ZYGOTE_PROCESSES} pids for the zygote and one child)"
            )
            if pool
            else "pool"
        )
        gpus = self.fresh.gpus
        version = cgroup.version if cgroup is not None else "v1" if pool is None else pool.cgroups.version
        enforced = {
            "wall": "host kills the child's cgroup at the limit; each probe has its own budget",
            "cpu": f"container CPU quota {self.fresh.cpus:g} CPU; RLIMIT_CPU (agent)",
            "memory": f"cgroup {version} memory limit of {limits.memory_mb} MiB for the child, "
            f"{'no swap' if version == 'v2' else 'swap included'}, under the {container}",
            "processes": f"cgroup {version} pids.max {limits.processes} for the child, under the container's pids "
            "limit",
            "network": "network mode none; " + warm_child_network(confinement),
            "file_size": "RLIMIT_FSIZE (agent)",
            "disk": f"read-only root; the child's own tmpfs of {limits.disk_mb} MiB for the working directory and "
            "/tmp (charged to its memory limit)",
            "output": f"host-side capture, {limits.output_kb} KiB per stream (head and tail)",
            "environment": "clean (only the harness's variables)",
            "filesystem": "the image, read-only; own mount and IPC namespaces, every other writable mount read-only; "
            "of the host only the zygote's channel (the submission is passed as a file descriptor)",
            "privileges": (
                f"uid {confinement.get('uid')} in the zygote's user namespace, all capabilities dropped; "
                "container: cap_drop ALL"
                if started and confinement.get("capabilities_dropped")
                else "unknown (the sandbox did not start)"
                if not started
                else "capabilities NOT confirmed dropped"
            ),
            "no_new_privs": "no-new-privileges (engine)"
            + (" and prctl (agent)" if confinement.get("no_new_privs") else ""),
            "seccomp": "pool profile (the agent's list but unshare, mount, socket, connect); child: "
            + str(confinement.get("seccomp") or "not installed"),
            "gpu": "device request: " + str(gpus) if gpus not in (None, 0, "0") else "none",
            "device": describe_device(hello),
            "startup": f"forked from the warm zygote of a pooled container of {self.image}"
            if warm
            else f"fresh container ({self._cold_reason})",
        }
        versions = {str(k): str(v) for k, v in (hello.get("versions") or {}).items()}
        return RunnerReport(name=self.name, versions=versions, limits=limits, enforced=enforced)
