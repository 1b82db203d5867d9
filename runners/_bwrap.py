"""The sandbox's view of the filesystem, built with bubblewrap.

The child sees: the system's programs and libraries and the Python installation, read-only; a private, size-limited
tmpfs as its working directory holding only its own submission and the agent; a private /tmp; fresh /proc and /dev.
The harness's own packages are hidden even where they are installed next to torch, as are the caller's home and
everything else of the host. It also enters new user, PID, network, IPC and UTS namespaces, as an unprivileged uid
with every capability dropped.
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

SANDBOX_DIR = "/sandbox"
SANDBOX_UID = 65534
# Packages of the harness (the trusted side): never visible to candidate code, wherever they are installed.
HIDDEN_PACKAGES = ("harness", "runners", "reference_solutions", "problems", "rubrics")
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64")
_SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf")


def gpu_device_binds() -> list[tuple[str, str]]:
    """The host's NVIDIA device nodes (``/dev/nvidia*``, MIG's ``/dev/nvidia-caps``), each bound to its own path.

    bubblewrap's ``--dev`` holds only null, zero, random and the like: without these, CUDA sees no GPU in the sandbox.
    """
    return [(node, node) for node in sorted(glob.glob("/dev/nvidia*"))]


def devices_for(device: str) -> list[tuple[str, str]]:
    """The device nodes (host path, sandbox path) a job on ``device`` needs in the sandbox: the GPUs' for cuda."""
    return gpu_device_binds() if device == "cuda" else []


def bwrap_path() -> str | None:
    """The bubblewrap executable, if installed."""
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=8)
def bwrap_options(bwrap: str) -> frozenset[str]:
    """The command-line options this bubblewrap knows (older releases lack ``--disable-userns``)."""
    try:
        text = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(word for word in text.split() if word.startswith("--"))


def python_roots() -> list[str]:
    """Directories the interpreter and its packages need, without nested duplicates."""
    candidates = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, *site.getsitepackages())}
    user_site = site.getusersitepackages()
    if user_site and os.path.isdir(user_site):
        candidates.add(os.path.realpath(user_site))
    for name in ("torch", "safetensors"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            candidates.add(os.path.realpath(Path(spec.origin).parent.parent))
    roots: list[str] = []
    for path in sorted(candidates, key=len):
        if os.path.isdir(path) and not any(path == r or path.startswith(r + os.sep) for r in roots):
            roots.append(path)
    return roots


def _hidden_dirs(roots: list[str]) -> list[str]:
    """Installed locations of the harness's packages that fall inside a directory the sandbox can see."""
    hidden = []
    for name in HIDDEN_PACKAGES:
        spec = importlib.util.find_spec(name)
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        for location in locations:
            real = os.path.realpath(location)
            if any(real.startswith(root + os.sep) for root in roots):
                hidden.append(real)
    return sorted(set(hidden))


_DEVICE_NODES = ("null", "zero", "full", "random", "urandom", "tty")
_DEVICE_LINKS = {
    "fd": "/proc/self/fd",
    "stdin": "/proc/self/fd/0",
    "stdout": "/proc/self/fd/1",
    "stderr": "/proc/self/fd/2",
}


def _minimal_dev(tmpfs_bytes: int) -> list[str]:
    """A /dev of the usual harmless nodes and a size-limited /dev/shm, built without bubblewrap's ``--dev``.

    ``--dev`` mounts a devpts, which makes bubblewrap map the sandbox's uid to 0 and then nest a second user
    namespace for the real one; every mount is then locked for the sandbox, and the warm zygote's children could not
    mount a /proc of their own. A sandbox needs no terminal, so no devpts.
    """
    arguments = ["--size", str(1 << 20), "--tmpfs", "/dev"]
    for node in _DEVICE_NODES:
        if os.path.exists(f"/dev/{node}"):
            arguments += ["--dev-bind", f"/dev/{node}", f"/dev/{node}"]
    for name, target in _DEVICE_LINKS.items():
        arguments += ["--symlink", target, f"/dev/{name}"]
    return [*arguments, "--size", str(tmpfs_bytes), "--tmpfs", "/dev/shm"]


def bwrap_command(
    bwrap: str,
    host_scratch: Path,
    env: dict[str, str],
    tmpfs_bytes: int,
    keep_capabilities: tuple[str, ...] = (),
    devices: list[tuple[str, str]] | None = None,
    disable_user_namespaces: bool = True,
) -> list[str]:
    """The bubblewrap arguments that precede the sandboxed command.

    The sandboxed command runs as PID 1 of its namespace (``--as-pid-1``): bubblewrap's own init would otherwise be
    a process of the candidate's uid, dumpable and without the seccomp filter, that candidate code could write
    through ``/proc/1/mem``. ``keep_capabilities`` (inside the new user namespace only) lets the agent build what it
    needs before dropping every capability: CAP_SYS_ADMIN for its own network namespace (where even the loopback is
    down, unlike bubblewrap's) and, in the warm zygote's children, mount and PID namespaces; CAP_SETPCAP to empty its
    bounding set. ``devices`` are (host path, sandbox path) device nodes added to the minimal /dev; with them comes a
    read-only /sys. ``disable_user_namespaces`` has the kernel refuse any user namespace inside (where bubblewrap
    can); the warm zygote goes without it, because the nested user namespace bubblewrap makes for it would lock every
    mount, and its children could no longer mount a /proc of their own (its children refuse user namespaces in
    their seccomp filter instead).
    """
    known = bwrap_options(bwrap)
    command = [
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        "--hostname",
        "sandbox",
    ]
    if "--as-pid-1" in known:
        command.append("--as-pid-1")
    if disable_user_namespaces and "--disable-userns" in known:
        # No user namespace can be made inside: the kernel refuses it, whatever reaches clone() or unshare().
        command += ["--unshare-user", "--disable-userns"]  # --unshare-all only tries a user namespace
    for capability in keep_capabilities:
        command += ["--cap-add", capability]
    for directory in _SYSTEM_DIRS:
        if os.path.islink(directory):
            command += ["--symlink", os.readlink(directory), directory]
        elif os.path.isdir(directory):
            command += ["--ro-bind", directory, directory]
    for path in _SYSTEM_FILES:
        if os.path.exists(path):
            command += ["--ro-bind", path, path]
    command += [
        "--proc",
        "/proc",
        *_minimal_dev(tmpfs_bytes),
        "--size",
        str(tmpfs_bytes),
        "--tmpfs",
        "/tmp",
        "--size",
        str(tmpfs_bytes),
        "--tmpfs",
        SANDBOX_DIR,
    ]
    # The interpreter after the private /tmp: bubblewrap mounts in order, and a virtual environment under /tmp
    # bound before it would vanish under the tmpfs (every submission would then fail to start).
    roots = python_roots()
    for root in roots:
        command += ["--ro-bind", root, root]
    for hidden in _hidden_dirs(roots):
        command += ["--tmpfs", hidden, "--remount-ro", hidden]
    for source, target in devices or []:
        command += ["--dev-bind", source, target]
    if devices and os.path.isdir("/sys"):
        # CUDA's initialisation reads the devices' topology in sysfs, and fails without it: read-only, GPU jobs only.
        command += ["--ro-bind", "/sys", "/sys"]
    for entry in sorted(os.listdir(host_scratch)):
        command += ["--ro-bind", str(host_scratch / entry), f"{SANDBOX_DIR}/{entry}"]
    # The root bubblewrap builds, and its /dev, are writable tmpfs without a size limit: make both read-only, so
    # that only the working directory, /tmp and /dev/shm (each size-limited) can be written. Device nodes stay
    # usable on a read-only mount.
    command += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", SANDBOX_DIR, "--clearenv"]
    for key, value in sorted(env.items()):
        command += ["--setenv", key, value]
    return command
