"""Entry point of the agent inside the sandbox.

Usage (by a runner, never by hand): ``python -I -B -c BOOT AGENT_ROOT REQUEST_FD RESPONSE_FD PLAN_JSON``.
The agent confines itself, imports torch, says hello, then answers one probe per request frame until told to end.
With ``zygote CONTROL_FD PLAN_JSON`` it becomes the warm zygote instead (see ``zygote.py``); with
``connect SOCKET_PATH PLAN_JSON`` (in a container) it talks over a Unix socket the host listens on, and with
``zygote-connect SOCKET_PATH PLAN_JSON`` it is the warm zygote of a pooled container, reached the same way.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from typing import Any


def serve(request_fd: int, response_fd: int, plan: dict[str, Any], confinement: dict[str, Any]) -> None:
    """Say hello with what confinement took effect, then answer probes until told to end."""
    import safetensors
    import safetensors.torch
    import torch

    from .probes import ProbeExecutor
    from .wire import read_frame, write_frame

    torch.set_num_threads(int(plan.get("threads", 1)))
    versions = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "safetensors": getattr(safetensors, "__version__", "unknown"),
    }
    # The device is chosen only now, after any fork: a zygote never touches CUDA.
    executor = ProbeExecutor(plan["submission"], plan.get("banned", []), str(plan.get("device", "cpu")))
    write_frame(response_fd, {"op": "hello", "confinement": confinement, "versions": versions,
                              "device": executor.device_facts})
    max_blob = int(plan.get("max_request_bytes", 1 << 30))
    while True:
        header, blob = read_frame(request_fd, max_blob)
        if header.get("op") == "end":
            write_frame(response_fd, {"op": "bye"})
            return
        probe = header["probe"]
        tensors = safetensors.torch.load(blob) if blob else {}
        reply, out = executor.answer(probe, tensors)
        reply["nonce"] = header.get("nonce")
        try:
            payload = safetensors.torch.save(out) if out else b""
        except Exception as exc:  # noqa: BLE001
            reply.update(ok=False, error={"type": type(exc).__name__, "message": f"result not serialisable: {exc}"})
            payload = b""
        _flush_output()
        write_frame(response_fd, reply, payload)


def _flush_output() -> None:
    """Push what the candidate printed during this probe into the host's pipes before the reply.

    The host stops keeping the output when the hidden checks begin; what was printed before then must have reached
    it by then, not sit in this process's buffers until exit.
    """
    streams = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
    for stream in {id(s): s for s in streams if s is not None}.values():
        try:
            stream.flush()
        except Exception:  # noqa: BLE001,S110 - a stream the candidate closed or replaced must not stop the reply
            pass


def main(argv: list[str]) -> None:
    """Confine, then serve probes; see the module docstring for the arguments."""
    if argv[0] == "zygote":
        from .zygote import serve_forks

        serve_forks(int(argv[1]), json.loads(argv[2]))
        return
    if argv[0] == "zygote-connect":
        from .zygote import connect_and_serve_forks

        connect_and_serve_forks(argv[1], json.loads(argv[2]))
        return
    if argv[0] == "connect":
        # In a container the channel is a Unix socket the host listens on, mounted in: one fd for both ways,
        # connected before seccomp (which refuses socket()) is installed.
        import socket

        channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        channel.connect(argv[1])
        request_fd = response_fd = channel.detach()
        plan = json.loads(argv[2])
    else:
        request_fd, response_fd = int(argv[0]), int(argv[1])
        plan = json.loads(argv[2])
    from .confine import confine

    confinement = confine(plan)
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[key] = str(plan.get("threads", 1))
    # The channel must not be inherited by processes the candidate starts.
    os.set_inheritable(request_fd, False)
    os.set_inheritable(response_fd, False)
    serve(request_fd, response_fd, plan, confinement)
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
