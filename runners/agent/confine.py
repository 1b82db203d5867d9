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
            with open("/proc/self/setgroups", "w") as handle:
                handle.write("deny")
            with open("/proc/self/uid_map", "w") as handle:
                handle.write(f"{uid} {uid} 1")
            with open("/proc/self/gid_map", "w") as handle:
                handle.write(f"{gid} {gid} 1")
        except OSError:
            pass
        return "userns+netns"
    return None


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
