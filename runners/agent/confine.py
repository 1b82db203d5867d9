"""Confinement the child applies to itself before any candidate code is loaded.

The host decides the limits, creates the cgroups and starts the child inside them (and inside bubblewrap where
available); the child applies what only a process can apply to itself: a new network namespace when bubblewrap did
not give it one, resource limits, no_new_privs, the seccomp filter. Each step reports whether it took effect, and the
host records that in the scorecard, so a limit is never claimed that was not enforced.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import stat
from typing import Any

_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000
_PR_SET_NO_NEW_PRIVS = 38

_RLIMITS = {
    "cpu_s": resource.RLIMIT_CPU,
    "file_size_bytes": resource.RLIMIT_FSIZE,
    "open_files": resource.RLIMIT_NOFILE,
    "processes": resource.RLIMIT_NPROC,
    "address_space_bytes": resource.RLIMIT_AS,
    "core_bytes": resource.RLIMIT_CORE,
}


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def isolate_network() -> str | None:
    """Enter a fresh network namespace (only a downed loopback). Returns how, or None if it failed."""
    libc = _libc()
    if libc.unshare(_CLONE_NEWNET) == 0:
        return "netns"
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0:
        try:
            _map_own_ids(uid, gid)
        except OSError:
            pass
        return "userns+netns"
    return None


def _map_own_ids(uid: int, gid: int) -> None:
    """In a fresh user namespace, map the ids this process had outside to themselves (and nothing else)."""
    with open("/proc/self/setgroups", "w") as handle:
        handle.write("deny")
    with open("/proc/self/uid_map", "w") as handle:
        handle.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as handle:
        handle.write(f"{gid} {gid} 1")


def enter_user_namespace() -> None:
    """Enter a new user namespace as the same uid and gid, holding every capability there (and only there).

    A warm zygote in a container uses it to give its children their own mount, IPC and PID namespaces without any
    capability in the container itself. Must be called while the process has a single thread.
    """
    uid, gid = os.getuid(), os.getgid()
    _check(_libc().unshare(_CLONE_NEWUSER), "unshare(user)")
    _map_own_ids(uid, gid)


def drop_root(uid: int, gid: int) -> int:
    """Become ``uid``:``gid`` with no supplementary groups (a root host without bubblewrap asks for it).

    Leaving root for another uid clears every capability, so the candidate can read only what that user may: the
    host keeps the reference, the results and the grader's own files out of its reach by their permissions.
    """
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise OSError(f"could not drop to uid {uid}")
    return uid


def set_rlimits(limits: dict[str, int]) -> dict[str, int]:
    """Apply the given rlimits (soft = hard = value, never above the current hard limit); return those applied."""
    applied = {}
    for key, value in limits.items():
        which = _RLIMITS[key]
        _, hard = resource.getrlimit(which)
        target = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(which, (target, target))
            applied[key] = target
        except (ValueError, OSError):
            continue
    return applied


def set_no_new_privs() -> bool:
    """Forbid gaining privileges through exec (setuid binaries, file capabilities)."""
    return _libc().prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0


_M_MMAP_THRESHOLD = -3


def set_mmap_threshold(size: int) -> bool:
    """Fix glibc's mmap threshold: below it memory comes from the heap, above it from mmap (returned on free)."""
    try:
        return bool(_libc().mallopt(_M_MMAP_THRESHOLD, size))
    except (OSError, AttributeError):
        return False


def confine(plan: dict[str, Any]) -> dict[str, Any]:
    """Apply the host's confinement plan in order; return what took effect."""
    facts: dict[str, Any] = {}
    if plan.get("isolate_network", True):
        facts["network"] = isolate_network()
    if plan.get("user"):
        facts["dropped_to"] = drop_root(int(plan["user"]["uid"]), int(plan["user"]["gid"]))
    if plan.get("drop_capabilities") or facts.get("network") == "userns+netns":
        # Kept by bubblewrap only for the step above, or given by the new user namespace that made the network
        # namespace (every capability, inside it): nothing of the candidate's may run while one is held.
        facts["capabilities_dropped"] = drop_capabilities()
    facts["rlimits"] = set_rlimits(plan.get("rlimits", {}))
    facts["no_new_privs"] = set_no_new_privs()
    # Large tensors are mmapped and returned to the kernel when freed, so a probe's peak memory (read from the
    # cgroup) does not depend on what earlier probes left in the allocator's free lists.
    facts["mmap_threshold"] = set_mmap_threshold(128 * 1024)
    os.chdir(plan["scratch"])
    facts["uid"] = os.getuid()
    if plan.get("seccomp", True):
        from .seccomp import install

        facts["seccomp"] = install()  # last: it forbids unshare, which the steps above may need
    return facts


_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_MS_RDONLY = 0x1
_MS_NOSUID = 0x2
_MS_NODEV = 0x4
_MS_REMOUNT = 0x20
_MS_BIND = 0x1000
_MS_REC = 0x4000
_MS_PRIVATE = 0x40000
_MOUNT_OPTION_FLAGS = {"nodev": 0x4, "noexec": 0x8, "noatime": 0x400, "nodiratime": 0x800, "relatime": 0x200000}
_PR_CAPBSET_DROP = 24
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAPSET_BY_ARCH = {"x86_64": 126, "aarch64": 91}
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def _check(result: int, what: str) -> None:
    if result != 0:
        raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")


def _mount_points() -> list[tuple[str, set[str]]]:
    """The mount points of this mount namespace with their per-mount options (from /proc/self/mountinfo)."""
    points = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            points.append((fields[4].replace("\\040", " "), set(fields[5].split(","))))
    return points


_CLONE_NEWPID = 0x20000000


def new_pid_namespace() -> None:
    """Make the next child of this process the init of a new PID namespace (needs CAP_SYS_ADMIN)."""
    _check(_libc().unshare(_CLONE_NEWPID), "unshare(pid)")


def _submounts(path: str) -> list[tuple[str, int]]:
    """The outermost mounts strictly below ``path``, each with a handle that outlives a mount over ``path``.

    A virtual environment under /tmp is such a mount (bound read-only by the sandbox): a fresh tmpfs on /tmp would
    hide it, and the submission could no longer start its interpreter.
    """
    below = sorted({point for point, _ in _mount_points() if point.startswith(path.rstrip("/") + "/")}, key=len)
    outermost: list[str] = []
    for point in below:
        if not any(point.startswith(outer + "/") for outer in outermost):
            outermost.append(point)
    return [(point, os.open(point, os.O_PATH)) for point in outermost]


def _restore(kept: list[tuple[str, int]]) -> None:
    """Bind each kept mount (with what is mounted inside it) back at its path, over the fresh tmpfs."""
    libc = _libc()
    for point, handle in kept:
        if stat.S_ISDIR(os.fstat(handle).st_mode):
            os.makedirs(point, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(point), exist_ok=True)
            os.close(os.open(point, os.O_CREAT | os.O_WRONLY, 0o444))
        source = f"/proc/self/fd/{handle}".encode()
        _check(libc.mount(source, point.encode(), None, _MS_BIND | _MS_REC, None), f"bind {point} again")
        os.close(handle)


def private_filesystem(directories: dict[str, int]) -> list[str]:
    """Give this process its own mount and IPC namespaces, with its own writable directories.

    Each of ``directories`` (path -> bytes) gets a fresh size-limited tmpfs, and every other writable mount is
    remounted read-only, so that nothing written here outlives the process or reaches a sibling forked from the same
    zygote. Needs CAP_SYS_ADMIN in the user namespace; returns the mount points made read-only.
    """
    libc = _libc()
    _check(libc.unshare(_CLONE_NEWNS | _CLONE_NEWIPC), "unshare(mount, ipc)")
    _check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "make mounts private")
    for path, size in directories.items():
        kept = _submounts(path)
        data = f"size={size},mode=0755".encode()
        _check(libc.mount(b"tmpfs", path.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, data), f"tmpfs on {path}")
        _restore(kept)
    frozen = []
    for point, options in _mount_points():
        if "rw" not in options or point in directories or point == "/proc" or point.startswith("/proc/"):
            continue
        # A remount in a user namespace must keep the flags that are locked on the mount: carry them all over.
        flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID
        for option in options:
            flags |= _MOUNT_OPTION_FLAGS.get(option, 0)
        _check(libc.mount(None, point.encode(), None, flags, None), f"remount {point} read-only")
        frozen.append(point)
    return frozen


_MS_NOEXEC = 0x8


def fresh_proc() -> bool:
    """Mount a /proc of this process's own PID namespace over the inherited one; True when it took effect.

    Called by the init of a new PID namespace, in a mount namespace of its own: the processes of the namespace
    it came from (the warm zygote, bubblewrap's init) then have no entry in /proc at all, so their memory, root
    directory, descriptors and settings cannot even be named. Fails where the inherited /proc has parts masked by a
    more privileged namespace (a container's), which the kernel then refuses to reveal in a new mount.
    """
    libc = _libc()
    return libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None) == 0


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> bool:
    """Drop every capability for good: bounding and ambient sets, then effective, permitted and inheritable.

    Returns True when /proc confirms that none is left.
    """
    import platform

    libc = _libc()
    for capability in range(64):
        libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)  # fails past the kernel's last capability: harmless
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    number = _CAPSET_BY_ARCH.get(platform.machine())
    if number is None:
        return False
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    libc.syscall(number, ctypes.byref(header), data)
    with open("/proc/self/status") as handle:
        status = dict(line.split(":", 1) for line in handle if ":" in line)
    return all(int(status[key].strip(), 16) == 0 for key in ("CapEff", "CapPrm", "CapBnd"))


_PR_SET_DUMPABLE = 4


def set_undumpable() -> bool:
    """Make this process (and what it forks) non-dumpable.

    A process of the same uid without CAP_SYS_PTRACE can then neither read nor write its memory through
    /proc/PID/mem, nor open its /proc/PID/fd entries.
    """
    return _libc().prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
