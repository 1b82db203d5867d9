"""A seccomp filter that refuses the system calls a submission never needs (sockets, tracing, mounts, modules...).

The filter is a classic BPF program installed with prctl, written here without libseccomp so that the agent needs
nothing beyond the standard library. Refused calls fail with EPERM; anything from a foreign ABI (x32) is refused
too. ``clone`` is refused when its flags ask for a new namespace (``unshare`` is refused outright, and the same
namespaces must not be reachable through process creation); ``clone3``, whose flags lie behind a pointer that a
filter cannot read, fails with ENOSYS, on which the C library falls back to ``clone``. Only x86_64 is supported;
elsewhere the filter is not installed and the host reports it as not enforced.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import platform
import struct

_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JGE_K = 0x35
_BPF_JSET_K = 0x45
_BPF_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000
_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000
_CLONE_X86_64 = 56
_CLONE3_X86_64 = 435
_ARG0_LOW_WORD = 16  # offset of the low 32 bits of seccomp_data.args[0] (little-endian)
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET (CLONE_NEWTIME exists only for clone3 and unshare).
NAMESPACE_CLONE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

# x86_64 numbers of the refused calls.
DENIED_X86_64 = {
    "socket": 41,
    "connect": 42,
    "accept": 43,
    "bind": 49,
    "listen": 50,
    "socketpair": 53,
    "accept4": 288,
    "ptrace": 101,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "pidfd_getfd": 438,
    "mount": 165,
    "umount2": 166,
    "pivot_root": 155,
    "chroot": 161,
    "unshare": 272,
    "setns": 308,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
    "swapon": 167,
    "swapoff": 168,
    "reboot": 169,
    "kexec_load": 246,
    "kexec_file_load": 320,
    "init_module": 175,
    "finit_module": 313,
    "delete_module": 176,
    "bpf": 321,
    "perf_event_open": 298,
    "keyctl": 250,
    "add_key": 248,
    "request_key": 249,
    "userfaultfd": 323,
    "open_by_handle_at": 304,
    "name_to_handle_at": 303,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "acct": 163,
    "settimeofday": 164,
    "clock_settime": 227,
    "adjtimex": 159,
    "syslog": 103,
    "iopl": 172,
    "ioperm": 173,
    "quotactl": 179,
    "fanotify_init": 300,
    "lookup_dcookie": 212,
    "personality": 135,
}


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def build_program(denied: dict[str, int], arch: int) -> list[tuple[int, int, int, int]]:
    """The BPF program, in order.

    Wrong architecture -> kill; foreign ABI or a denied number -> EPERM; ``clone3`` -> ENOSYS; ``clone`` with a
    namespace flag -> EPERM; anything else -> allow.
    """
    deny = _RET_ERRNO | errno.EPERM
    numbers = sorted(set(denied.values()) - {_CLONE_X86_64, _CLONE3_X86_64})
    # Jump offsets count the instructions between a jump and its target; the tail is laid out as:
    #   [allow] [deny] [clone3: ENOSYS] [clone: load flags] [jset] [allow] [deny]
    program = [
        (_BPF_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (_BPF_JEQ_K, 1, 0, arch),
        (_BPF_RET_K, 0, 0, _RET_KILL_PROCESS),
        (_BPF_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
        (_BPF_JGE_K, len(numbers) + 3, 0, _X32_SYSCALL_BIT),
        (_BPF_JEQ_K, len(numbers) + 3, 0, _CLONE3_X86_64),
        (_BPF_JEQ_K, len(numbers) + 3, 0, _CLONE_X86_64),
    ]
    for index, number in enumerate(numbers):
        remaining = len(numbers) - index - 1
        program.append((_BPF_JEQ_K, remaining + 1, 0, number))
    program += [
        (_BPF_RET_K, 0, 0, _RET_ALLOW),
        (_BPF_RET_K, 0, 0, deny),
        (_BPF_RET_K, 0, 0, _RET_ERRNO | errno.ENOSYS),
        (_BPF_LD_W_ABS, 0, 0, _ARG0_LOW_WORD),
        (_BPF_JSET_K, 1, 0, NAMESPACE_CLONE_FLAGS),
        (_BPF_RET_K, 0, 0, _RET_ALLOW),
        (_BPF_RET_K, 0, 0, deny),
    ]
    return program


def install() -> str | None:
    """Install the filter on this thread (and every thread or process it creates later); return how, or None."""
    if platform.machine() != "x86_64" or struct.calcsize("P") != 8:
        return None
    program = build_program(DENIED_X86_64, _AUDIT_ARCH_X86_64)
    filters = (_SockFilter * len(program))(*[_SockFilter(*instruction) for instruction in program])
    fprog = _SockFprog(len(program), ctypes.cast(filters, ctypes.POINTER(_SockFilter)))
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) != 0:
        return None
    return f"seccomp-bpf, {len(DENIED_X86_64)} system calls refused, clone3 unavailable, no namespace through clone"
