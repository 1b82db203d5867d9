"""A seccomp filter that refuses the system calls a submission never needs (sockets, tracing, mounts, modules...).

The filter is a classic BPF program installed with prctl, written here without libseccomp so that the agent needs
nothing beyond the standard library. Refused calls fail with EPERM; anything from a foreign ABI (x32) is refused
too. Only x86_64 is supported; elsewhere the filter is not installed and the host reports it as not enforced.
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
_BPF_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000
_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000

# x86_64 numbers of the refused calls.
DENIED_X86_64 = {
    "socket": 41, "connect": 42, "accept": 43, "bind": 49, "listen": 50, "socketpair": 53, "accept4": 288,
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "pidfd_getfd": 438,
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "swapon": 167, "swapoff": 168, "reboot": 169, "kexec_load": 246, "kexec_file_load": 320,
    "init_module": 175, "finit_module": 313, "delete_module": 176, "bpf": 321, "perf_event_open": 298,
    "keyctl": 250, "add_key": 248, "request_key": 249, "userfaultfd": 323, "open_by_handle_at": 304,
    "name_to_handle_at": 303, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "acct": 163, "settimeofday": 164, "clock_settime": 227, "adjtimex": 159, "syslog": 103, "iopl": 172,
    "ioperm": 173, "quotactl": 179, "fanotify_init": 300, "lookup_dcookie": 212, "personality": 135,
}


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def build_program(denied: dict[str, int], arch: int) -> list[tuple[int, int, int, int]]:
    """The BPF program: wrong architecture -> kill; foreign ABI or a denied number -> EPERM; else allow."""
    deny = _RET_ERRNO | errno.EPERM
    numbers = sorted(set(denied.values()))
    program = [
        (_BPF_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (_BPF_JEQ_K, 1, 0, arch),
        (_BPF_RET_K, 0, 0, _RET_KILL_PROCESS),
        (_BPF_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
        (_BPF_JGE_K, len(numbers) + 1, 0, _X32_SYSCALL_BIT),
    ]
    for index, number in enumerate(numbers):
        remaining = len(numbers) - index - 1
        program.append((_BPF_JEQ_K, remaining + 1, 0, number))
    program += [(_BPF_RET_K, 0, 0, _RET_ALLOW), (_BPF_RET_K, 0, 0, deny)]
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
    return f"seccomp-bpf, {len(DENIED_X86_64)} system calls refused"
