"""The docker runner: each submission in a fresh container of the harness's image, through the docker SDK.

The container runs the same agent as the local sandbox, with: no network (network mode ``none``), a memory limit
with swap included, a pids limit, a CPU quota, a read-only root filesystem with size-limited tmpfs working directory
and /tmp, every capability dropped, no-new-privileges, an unprivileged user, a seccomp profile of the agent's refused
calls (less the three the agent needs before its own filter: its channel's socket and connect, and unshare for a
user and network namespace of its own, whose loopback is down, unlike network mode none's) plus the agent's filter,
rlimits set by the engine and again by the agent, a clean environment, and of the host only the submission
(read-only) and the channel's socket. GPUs are given through device requests when asked for.

The agent connects to a Unix socket the host listens on (mounted into the container); the conversation is the
local runner's. Verdicts come from the engine's evidence, never from the container: the host's clocks, the
container's cgroup (memory high-water mark, OOM kills) and its state (``OOMKilled``, exit code). The container is
always removed. No engine flag is trusted without a test that it took effect (``tests/runners``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ._capture import CappedStream, withhold_all
from ._cgroups import CgroupView
from ._launch import BOOT, MIB, sandbox_environment
from ._protocol import (
    Conversation,
    MemoryMeter,
    SandboxHold,
    after_oom_kills,
    converse,
    describe_device,
    name_ending,
)
from .agent.seccomp import DENIED_X86_64
from .base import (
    STARTUP,
    CapturedOutput,
    Job,
    Limits,
    ResourceUsage,
    Runner,
    RunnerReport,
    RunOutcome,
    RunResult,
    register_runner,
)
from .images import AGENT_LABEL, agent_digest, image_tag

SANDBOX_USER = "10001:10001"
AGENT_ROOT = "/opt/harness"
CHANNEL_DIR = "/run/harness"
_SUBMISSION_DIR = "/submission"
_WORKDIR = "/sandbox"
_ENVIRONMENT = sandbox_environment(
    Path(_WORKDIR), Path("/tmp"), path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)


# The calls the agent needs before it installs its own, stricter filter: its channel (socket, connect) and a user
# and network namespace of its own (unshare). The engine's default profile refuses unshare without CAP_SYS_ADMIN.
_NEEDED_BY_AGENT = frozenset({"unshare", "socket", "connect"})


def container_seccomp_profile(needed: frozenset[str]) -> str:
    """A seccomp profile for the engine: the agent's refused calls, less those the harness's own code ``needed``.

    Only the harness's code runs before the agent installs its full filter (which refuses these too), so the
    container's profile has to allow no more than that code needs.
    """
    refused = sorted(set(DENIED_X86_64) - needed)
    return json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": refused, "action": "SCMP_ACT_ERRNO"}]})


class DockerUnavailable(Exception):
    """No Docker engine could be reached, or the image is missing."""


def parse_gpus(value: str | int | list[str] | None) -> Any:
    """A device request from ``all``, a count, or device ids (``"0,2"`` or a list); None for no GPU."""
    if value in (None, "", 0, "0", "none"):
        return None
    import docker.types

    if value == "all":
        return docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return docker.types.DeviceRequest(count=int(value), capabilities=[["gpu"]])
    ids = value if isinstance(value, list) else [part.strip() for part in str(value).split(",") if part.strip()]
    return docker.types.DeviceRequest(device_ids=ids, capabilities=[["gpu"]])


class OutputPump:
    """Copies the container's demultiplexed stdout and stderr into capped captures.

    The attach starts before the container does, so nothing it prints is missed, and nothing goes through the
    engine's log driver (which could fill the disk).
    """

    def __init__(self, container: Any, cap: int) -> None:
        out_read, self._out = os.pipe()
        err_read, self._err = os.pipe()
        self.stdout = CappedStream(out_read, cap)
        self.stderr = CappedStream(err_read, cap)
        self.attached = threading.Event()
        self._thread = threading.Thread(target=self._pump, args=(container,), daemon=True)
        self._thread.start()
        self.attached.wait(30)

    def _pump(self, container: Any) -> None:
        try:
            stream = container.attach(stdout=True, stderr=True, stream=True, demux=True, logs=False)
            self.attached.set()
            for out, err in stream:
                for fd, chunk in ((self._out, out), (self._err, err)):
                    if chunk:
                        with contextlib.suppress(OSError):
                            os.write(fd, chunk)
        except Exception:  # noqa: BLE001 - the stream ends when the container does, however it ends
            pass
        finally:
            self.attached.set()
            for fd in (self._out, self._err):
                with contextlib.suppress(OSError):
                    os.close(fd)

    def captured(self) -> CapturedOutput:
        """What the container printed, capped (waits briefly for the stream to end)."""
        self._thread.join(5)
        return CapturedOutput(
            stdout=self.stdout.text(),
            stderr=self.stderr.text(),
            stdout_bytes=self.stdout.total,
            stderr_bytes=self.stderr.total,
            truncated=self.stdout.truncated or self.stderr.truncated,
        )


@register_runner("docker")
class DockerRunner(Runner):
    """Runs each submission in a fresh container of the harness's image (CPU, or GPU when ``gpus`` is given)."""

    def __init__(
        self,
        image: str | None = None,
        gpus: str | int | list[str] | None = None,
        cpus: float = 1.0,
        base_url: str | None = None,
    ) -> None:
        self.gpus = gpus
        self.image = image or os.environ.get("HARNESS_DOCKER_IMAGE") or image_tag(gpu=gpus not in (None, 0, "0"))
        self.cpus = cpus
        self.base_url = base_url or os.environ.get("HARNESS_DOCKER_HOST")
        self._client: Any = None

    def engine(self) -> Any:
        """A docker SDK client connected to the engine (not checking the image)."""
        try:
            import docker

            client = docker.DockerClient(base_url=self.base_url) if self.base_url else docker.from_env()
            client.ping()
            return client
        except Exception as exc:  # noqa: BLE001 - the SDK raises several types for an unreachable engine
            raise DockerUnavailable(f"no Docker engine reachable ({self.base_url or 'DOCKER_HOST'}): {exc}") from exc

    def client(self) -> Any:
        """The client the runs use: connected on first use, with the image checked."""
        if self._client is None:
            client = self.engine()
            self._check_image(client)
            self._client = client
        return self._client

    def _check_image(self, client: Any) -> None:
        """Refuse an image that is missing or carries another agent than this harness's (rebuild it)."""
        import docker.errors

        try:
            labels = client.images.get(self.image).labels or {}
        except docker.errors.ImageNotFound as exc:
            raise DockerUnavailable(f"image {self.image} not found: build it with `harness images build`") from exc
        if labels.get(AGENT_LABEL) != agent_digest():
            raise DockerUnavailable(
                f"image {self.image} was built for another version of the agent: rebuild it with `harness images build`"
            )

    def close(self) -> None:
        """Close the connection to the engine."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    def run(self, job: Job) -> RunResult:
        """Run the job in a fresh container; the container and the host-side files are always removed."""
        started = time.monotonic()
        try:
            client = self.client()
        except DockerUnavailable as exc:
            return self._not_started(job, str(exc), started)
        work = Path(tempfile.mkdtemp(prefix="harness-docker-"))
        container: Any = None
        try:
            container = self._create(client, job, work)
            return self._run(job, container, work, started)
        except Exception as exc:  # noqa: BLE001 - an engine failure is the runner's, reported as such
            return self._not_started(job, f"the engine failed: {type(exc).__name__}: {exc}", started)
        finally:
            if container is not None:
                with contextlib.suppress(Exception):
                    container.remove(force=True)
            shutil.rmtree(work, ignore_errors=True)

    def _not_started(self, job: Job, reason: str, started: float) -> RunResult:
        return RunResult(
            outcome="sandbox_error",
            reason=reason,
            interrupted_probe=STARTUP,
            resources=ResourceUsage(wall_s=round(time.monotonic() - started, 3)),
            runner=RunnerReport(name=self.name, limits=job.limits, enforced={}),
        )

    def _plan(self, job: Job) -> dict[str, Any]:
        limits = job.limits
        return {
            "scratch": _WORKDIR,
            "submission": f"{_SUBMISSION_DIR}/submission.py",
            # Network mode none leaves the container a loopback that is up: the agent makes a user and network
            # namespace of its own (only a downed loopback) before it installs its filter.
            "isolate_network": True,
            "rlimits": {
                "cpu_s": int(limits.cpu_s),
                "file_size_bytes": limits.file_size_mb * MIB,
                "open_files": limits.open_files,
                "core_bytes": 0,
            },
            "banned": job.banned_callables,
            "device": job.device,
            "threads": 1,
            "seccomp": True,
        }

    def _create(self, client: Any, job: Job, work: Path) -> Any:
        import docker.errors
        import docker.types

        limits = job.limits
        submission_dir = work / "submission"
        submission_dir.mkdir()
        shutil.copyfile(job.submission, submission_dir / "submission.py")
        (submission_dir / "submission.py").chmod(0o444)
        submission_dir.chmod(0o555)
        channel_dir = work / "channel"
        channel_dir.mkdir()
        channel_dir.chmod(0o755)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(channel_dir / "agent.sock"))
        (channel_dir / "agent.sock").chmod(0o666)  # the container's unprivileged user must connect
        self._listener.listen(1)
        command = [
            "python3",
            "-I",
            "-B",
            "-c",
            BOOT,
            AGENT_ROOT,
            "connect",
            f"{CHANNEL_DIR}/agent.sock",
            json.dumps(self._plan(job)),
        ]
        settings = self.hardened_settings(limits.memory_mb * MIB, limits.processes, channel_dir, limits.disk_mb * MIB)
        settings["volumes"][str(submission_dir)] = {"bind": _SUBMISSION_DIR, "mode": "ro"}
        settings["ulimits"] += [
            docker.types.Ulimit(name="cpu", soft=int(limits.cpu_s), hard=int(limits.cpu_s)),
            docker.types.Ulimit(name="fsize", soft=limits.file_size_mb * MIB, hard=limits.file_size_mb * MIB),
            docker.types.Ulimit(name="nofile", soft=limits.open_files, hard=limits.open_files),
        ]
        try:
            return client.containers.create(
                self.image, command=command, labels={"mlgrade-harness": "sandbox"}, auto_remove=False, **settings
            )
        except docker.errors.ImageNotFound as exc:
            raise DockerUnavailable(f"image {self.image} not found: build it with `harness images build`") from exc

    def hardened_settings(self, memory_bytes: int, max_pids: int, channel_dir: Path, disk_bytes: int) -> dict[str, Any]:
        """The container settings every sandbox container gets (fresh or pooled), as ``containers.create`` keywords.

        No network, memory with swap included, pids and CPU bounds, read-only root with the sandbox user's tmpfs
        working directory and /tmp, no capability, no-new-privileges, private IPC, no core dumps, engine logs off, the
        channel directory the only host path mounted (with the engine's root marker masked), and the GPUs asked for.
        """
        import docker.types

        uid, gid = SANDBOX_USER.split(":")
        # Owned by the sandbox user through the mount's own options (the engine does not apply a mode= option).
        disk = f"size={disk_bytes},uid={uid},gid={gid},nosuid,nodev"
        gpu_request = parse_gpus(self.gpus)
        return {
            "user": SANDBOX_USER,
            "working_dir": _WORKDIR,
            "environment": dict(_ENVIRONMENT),
            "network_mode": "none",
            "read_only": True,
            "tmpfs": {_WORKDIR: disk, "/tmp": disk},
            "volumes": {
                str(channel_dir): {"bind": CHANNEL_DIR, "mode": "rw"},
                # The engine puts a marker file at the root; the root holds no file of ours otherwise.
                "/dev/null": {"bind": "/.dockerenv", "mode": "ro"},
            },
            "mem_limit": memory_bytes,
            "memswap_limit": memory_bytes,
            "mem_swappiness": 0,
            "pids_limit": max_pids,
            "nano_cpus": int(self.cpus * 1e9),
            "cap_drop": ["ALL"],
            "ipc_mode": "private",
            "security_opt": ["no-new-privileges", f"seccomp={container_seccomp_profile(_NEEDED_BY_AGENT)}"],
            "ulimits": [docker.types.Ulimit(name="core", soft=0, hard=0)],
            "log_config": docker.types.LogConfig(type="none"),
            "stdin_open": False,
            "tty": False,
            "device_requests": [gpu_request] if gpu_request is not None else None,
            "init": False,
        }

    def _run(self, job: Job, container: Any, work: Path, started: float) -> RunResult:
        limits = job.limits
        deadline_at = started + limits.wall_s
        pump = OutputPump(container, limits.output_kb * 1024)
        container.start()
        container.reload()
        cgroup = CgroupView.of_container(container.id)
        accounting: dict[str, Any] = {}

        def snapshot() -> None:
            """The container's cgroup goes when it exits: read its accounting while it is there."""
            for key, value in (
                ("cpu_s", cgroup.cpu_seconds()),
                ("peak_memory_mb", cgroup.peak_mb()),
                ("oom_kills", cgroup.oom_kills()),
            ):
                if value is not None:
                    accounting[key] = value

        channel: socket.socket | None = None
        talk = None
        try:
            self._listener.settimeout(max(0.1, min(limits.startup_s, deadline_at - time.monotonic())))
            try:
                channel, _ = self._listener.accept()
            except (TimeoutError, OSError):
                channel = None
            if channel is not None:
                fd = channel.fileno()
                meter = MemoryMeter(start=cgroup.start_measure, delta=cgroup.delta_mb)
                talk = converse(
                    job,
                    fd,
                    fd,
                    lambda budget: min(time.monotonic() + budget, deadline_at),
                    meter,
                    before_end=snapshot,
                    withhold=withhold_all(pump.stdout, pump.stderr),
                    hold=SandboxHold(frozen=cgroup.frozen, cpu_seconds=cgroup.cpu_seconds),
                )
        finally:
            self._listener.close()
        if talk is None:
            talk = Conversation(ending=("timeout", "the agent never connected"))
        ending, in_flight, probe_results, hello = talk.ending, talk.in_flight, talk.probe_results, talk.hello
        if channel is not None:
            channel.close()
        if ending is not None:
            snapshot()  # a hung container is still there; one that crashed is gone, and says so in its state
        state = self._finish(container, grace=2.0 if ending is None else 0.0)
        cpu = accounting.get("cpu_s")
        usage = ResourceUsage(
            wall_s=round(time.monotonic() - started, 3),
            cpu_s=round(cpu, 3) if cpu is not None else None,
            peak_memory_mb=accounting.get("peak_memory_mb"),
        )
        oom_kills = int(accounting.get("oom_kills", 0))
        ending, in_flight = after_oom_kills(ending, in_flight, oom_kills)
        result = RunResult(outcome="completed", probe_results=probe_results, resources=usage)
        if ending is not None:
            result.outcome, result.reason = self._classify(
                limits, ending, in_flight, state, oom_kills, usage.cpu_s, time.monotonic() - started
            )
            result.interrupted_probe = in_flight
        result.output = pump.captured()
        result.runner = self._report(job.limits, hello, container)
        return result

    @staticmethod
    def _finish(container: Any, grace: float) -> dict[str, Any]:
        """Let the container end on its own within ``grace`` seconds, else kill it; its final state."""
        with contextlib.suppress(Exception):
            container.wait(timeout=grace) if grace > 0 else None
        container.reload()
        if container.attrs.get("State", {}).get("Running"):
            with contextlib.suppress(Exception):
                container.kill(signal="SIGKILL")
            with contextlib.suppress(Exception):
                container.wait(timeout=10)
            container.reload()
        return dict(container.attrs.get("State") or {})

    @staticmethod
    def _classify(
        limits: Limits,
        ending: tuple[RunOutcome, str],
        in_flight: str | None,
        state: dict[str, Any],
        oom_kills: int,
        cpu_s: float | None,
        wall: float,
    ) -> tuple[RunOutcome, str]:
        """Name how an abnormal run ended, from the engine's and the kernel's evidence."""
        code = int(state.get("ExitCode") or 0)
        # The engine reports a process killed by a signal as 128 + its number.
        signum = code - 128 if code > 128 and (code - 128) in signal.valid_signals() else None
        return name_ending(
            limits,
            ending,
            in_flight,
            wall,
            oom_killed=bool(state.get("OOMKilled")) or oom_kills > 0,
            signum=signum,
            exit_code=code,
            cpu_s=cpu_s,
        )

    def _report(self, limits: Limits, hello: dict[str, Any], container: Any) -> RunnerReport:
        """What the engine was asked for (and the agent confirmed) for each limit."""
        host = container.attrs.get("HostConfig") or {}
        confinement = hello.get("confinement") or {}
        started = bool(hello)
        enforced = {
            "wall": "host kills the container at the limit; each probe has its own budget",
            "cpu": f"container CPU quota {self.cpus:g} CPU; RLIMIT_CPU (engine ulimit and agent)",
            "memory": f"container memory limit {host.get('Memory', 0) // MIB} MiB, swap included "
            f"({host.get('MemorySwap', 0) // MIB} MiB)",
            "processes": f"container pids limit {host.get('PidsLimit')}",
            "network": f"network mode {host.get('NetworkMode')}"
            + (
                "; the agent's own user and network namespace (only a downed loopback)"
                if confinement.get("network")
                else "; loopback up (the agent could not make its own namespace)"
            ),
            "file_size": "RLIMIT_FSIZE (engine ulimit and agent)",
            "disk": f"read-only root; tmpfs of {limits.disk_mb} MiB for the working directory and /tmp",
            "output": f"host-side capture, {limits.output_kb} KiB per stream (head and tail); engine logs off",
            "environment": "clean (only the harness's variables)",
            "filesystem": "the image, read-only; of the host only the submission (read-only) and the channel",
            "privileges": (
                f"uid {confinement.get('uid')}, capabilities dropped: {','.join(host.get('CapDrop') or [])}"
                if started
                else "unknown (the sandbox did not start)"
            ),
            "no_new_privs": "no-new-privileges (engine)"
            + (" and prctl (agent)" if confinement.get("no_new_privs") else ""),
            "seccomp": "container profile (the agent's list but unshare, socket, connect); agent: "
            + str(confinement.get("seccomp") or "not installed"),
            "gpu": "device request: " + str(self.gpus) if self.gpus not in (None, 0, "0") else "none",
            "device": describe_device(hello),
            "startup": f"fresh container of {self.image}",
        }
        versions = {str(k): str(v) for k, v in (hello.get("versions") or {}).items()}
        return RunnerReport(name=self.name, versions=versions, limits=limits, enforced=enforced)
