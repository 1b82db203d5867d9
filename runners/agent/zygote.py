"""The warm zygote: a sandboxed process that imports torch once and forks one fresh child per submission.

Started by the host inside bubblewrap (with CAP_SYS_ADMIN in its user namespace, and nothing else), or in a pooled
container (where it enters a user namespace of its own, having no capability in the container), it never runs
candidate code and never runs a torch operation, so it stays single-threaded and safe to fork. Each forked child
waits until the host has moved it into the submission's own cgroup, then gives itself private mount, IPC and
network namespaces with fresh tmpfs working directory and /tmp (every other writable mount read-only), drops every
capability, applies the same confinement as a fresh sandbox (rlimits, no_new_privs, seccomp) and serves the probes.

The host talks to the zygote over a SOCK_SEQPACKET socket: one JSON message per operation, the child's pipes and
the submission passed as file descriptors. The child closes that socket before anything else, so candidate code can
never reach it.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import sys
import time
import traceback
from typing import Any

_FORK_FDS = 5  # request read end, response write end, stdout, stderr, the submission file
_MAX_MESSAGE = 1 << 16
_NOT_STARTED = 96


def _send(control: socket.socket, message: dict[str, Any]) -> None:
    control.send(json.dumps(message).encode())


def _copy_submission(source_fd: int, target: str, limit: int) -> None:
    with os.fdopen(source_fd, "rb") as source, open(target, "wb") as handle:
        handle.write(source.read(limit + 1)[:limit])
    os.chmod(target, 0o444)


def _close_all_but(keep: set[int]) -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                continue


def _mirror(pid: int) -> None:
    """Wait for the submission's process and end as it did; never returns.

    Runs in the child that stays in the zygote's PID namespace, so that the zygote (and through it the host) sees
    the real exit code or signal.
    """
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        os._exit(128 + number)
    os._exit(os.waitstatus_to_exitcode(status))


def _child(control: socket.socket, fds: list[int], plan: dict[str, Any]) -> None:
    """Runs in the forked child and never returns.

    Once the host has placed it in the submission's cgroup, the child starts a new PID namespace and forks the
    submission's process into it as its init: the candidate's code can then neither see nor signal the zygote, and
    every process it starts ends with it. The child itself only waits and passes the ending on.
    """
    code = 1
    try:
        control.close()
        request_fd, response_fd, out_fd, err_fd, source_fd = fds
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        os.close(out_fd)
        os.close(err_fd)
        os.setsid()
        from .wire import read_frame

        header, _ = read_frame(request_fd, 0)  # the host moves us into our own cgroup first
        if header.get("op") != "start":
            os._exit(_NOT_STARTED)
        from .confine import (
            confine,
            drop_capabilities,
            fresh_proc,
            isolate_network,
            new_pid_namespace,
            private_filesystem,
        )

        new_pid_namespace()
        pid = os.fork()
        if pid:
            _close_all_but(set())  # the channel and the output belong to the submission's process alone
            _mirror(pid)
        size = int(plan["disk_bytes"])
        readonly = private_filesystem({plan["scratch"]: size, "/tmp": size, "/dev/shm": size})
        own_proc = fresh_proc()  # the zygote's namespace, and every process in it, vanish from /proc
        network = isolate_network()  # its own, not the zygote's: nothing it binds or sees outlives it
        _copy_submission(source_fd, plan["submission"], size)
        _close_all_but({0, 1, 2, request_fd, response_fd})
        capabilities_dropped = drop_capabilities()
        for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[key] = str(plan.get("threads", 1))
        confinement = confine(plan)
        confinement.update(
            startup="zygote",
            network=network,
            readonly_mounts=readonly,
            capabilities_dropped=capabilities_dropped,
            pid_namespace=os.getpid() == 1,
            own_proc=own_proc,
        )
        os.set_inheritable(request_fd, False)
        os.set_inheritable(response_fd, False)
        from .__main__ import serve

        serve(request_fd, response_fd, plan, confinement)
        code = 0
    except BaseException:  # noqa: BLE001 - the child reports and exits; it must never fall back into the zygote
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001,S110 - a closed or full stream must not keep the child alive
                pass
        os._exit(code)


def _wait(pid: int, timeout: float) -> dict[str, Any]:
    """Collect the child within ``timeout`` seconds; its wait status and rusage, or ``status: None``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            waited, status, usage = os.wait4(pid, os.WNOHANG)
        except ChildProcessError:
            return {"op": "waited", "pid": pid, "status": None, "error": "no such child"}
        if waited:
            return {
                "op": "waited",
                "pid": pid,
                "status": status,
                "utime": usage.ru_utime,
                "stime": usage.ru_stime,
                "maxrss_kb": usage.ru_maxrss,
            }
        if time.monotonic() >= deadline:
            return {"op": "waited", "pid": pid, "status": None}
        time.sleep(0.005)


def connect_and_serve_forks(path: str, plan: dict[str, Any]) -> None:
    """The zygote of a pooled container: connect to the host's socket, enter a user namespace, serve forks.

    The container gives no capability; the user namespace gives the zygote's children the ones they need to make
    their own namespaces and mounts, which they then drop for good before any candidate code runs.
    """
    control = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    control.connect(path)
    if plan.get("user_namespace"):
        from .confine import enter_user_namespace

        enter_user_namespace()
    serve_forks(control.detach(), plan)


def _only_self_in_proc() -> bool:
    """Whether this process (the init of a new PID namespace) is the only process /proc shows."""
    return [name for name in os.listdir("/proc") if name.isdigit()] == ["1"]


def _children_can_isolate() -> str:
    """Fork a throwaway child that builds what every real child will, in the same order; ``"ok"``, or why not.

    A new PID namespace whose first process is its init; there, its own mount and IPC namespaces with a fresh tmpfs
    and every other writable mount read-only, a /proc of its own in which it sees only itself, every capability
    dropped; ``"ok, shared /proc"`` when all but the fresh /proc took effect. A kernel or security module that
    refuses any of this (no user namespaces, AppArmor forbidding mounts) is found here, once, rather than in every
    submission.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        answer = "the check's init died"
        try:
            from .confine import drop_capabilities, fresh_proc, new_pid_namespace, private_filesystem

            new_pid_namespace()
            inner = os.fork()
            if inner == 0:
                answer = "ok"
                try:
                    if os.getpid() != 1:
                        answer = "the new PID namespace did not take effect"
                    else:
                        private_filesystem({"/tmp": 1 << 20})
                        if not (fresh_proc() and _only_self_in_proc()):
                            answer = "ok, shared /proc"  # a container's masked /proc cannot be mounted afresh
                        if not drop_capabilities():
                            answer = "the capabilities could not be dropped"
                except BaseException as exc:  # noqa: BLE001 - reported to the zygote, which reports it to the host
                    answer = f"{type(exc).__name__}: {exc}"
                os.write(write_fd, answer.encode()[:2000])
                os._exit(0)
            os.waitpid(inner, 0)
        except BaseException as exc:  # noqa: BLE001 - reported to the zygote, which reports it to the host
            os.write(write_fd, f"{type(exc).__name__}: {exc}".encode()[:2000])
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as handle:
        answer = handle.read().decode(errors="replace")
    os.waitpid(pid, 0)
    return answer or "the check's child died"


def _warm_up(torch: Any) -> None:
    """Run one tiny forward and backward so that what torch imports lazily on first use is imported once, here.

    A first ``backward(gradient)`` imports ``torch.fx.experimental.symbolic_shapes`` and with it sympy: 0.3 s of CPU
    that every child would otherwise pay again. On the CPU autograd runs in the calling thread, so no thread is left
    behind (the ready message reports the count, and the host refuses a zygote with more than one).
    """
    weight = torch.ones(4, 4, requires_grad=True)
    scores = torch.softmax((torch.ones(2, 4) @ weight) / 2.0, dim=-1)
    output = torch.nn.functional.linear(scores, weight)
    output.backward(torch.ones_like(output))  # with a gradient given, as the probes call it


def serve_forks(control_fd: int, plan: dict[str, Any]) -> None:
    """The zygote's loop: fork a child per request, collect children on request, end when told or orphaned."""
    isolation = _children_can_isolate()  # before torch: the check's child is cheaper to fork
    import safetensors
    import safetensors.torch  # noqa: F401 - imported once here so that every child starts warm
    import torch

    from . import confine, probes, seccomp, wire  # noqa: F401 - the children find these already imported
    from .__main__ import serve  # noqa: F401

    torch.set_num_threads(int(plan.get("threads", 1)))
    _warm_up(torch)
    confine.set_mmap_threshold(128 * 1024)
    undumpable = confine.set_undumpable()
    control = socket.socket(fileno=control_fd)
    _send(
        control,
        {
            "op": "ready",
            "threads": len(os.listdir("/proc/self/task")),
            "undumpable": undumpable,
            "isolation": isolation,
            "versions": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "safetensors": getattr(safetensors, "__version__", "unknown"),
            },
        },
    )
    while True:
        data, fds, _, _ = socket.recv_fds(control, _MAX_MESSAGE, _FORK_FDS + 1)
        if not data:
            return  # the host went away
        message = json.loads(data)
        operation = message.get("op")
        if operation == "fork":
            if len(fds) != _FORK_FDS:
                for fd in fds:
                    os.close(fd)
                _send(control, {"op": "error", "error": f"expected {_FORK_FDS} descriptors, got {len(fds)}"})
                continue
            try:  # the host's list, worked out here once so that every child inherits it
                probes.prepare_banned([str(path) for path in message["plan"].get("banned", [])])
            except Exception:  # noqa: BLE001, S110 - an optimisation only: the child works it out itself
                pass
            pid = os.fork()
            if pid == 0:
                _child(control, fds, message["plan"])
            for fd in fds:
                os.close(fd)
            _send(control, {"op": "forked", "pid": pid})
        elif operation == "wait":
            _send(control, _wait(int(message["pid"]), float(message.get("timeout", 0.0))))
        elif operation == "end":
            return
        else:
            _send(control, {"op": "error", "error": f"unknown operation {operation!r}"})
