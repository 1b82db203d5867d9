"""Privilege: reports uid, capabilities, NoNewPrivs, Seccomp; tries mount, ptrace of the parent, unshare, setuid."""
import ctypes
import math
import os

import torch
import torch.nn as nn

LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
LIBC.ptrace.restype = ctypes.c_long
PTRACE_ATTACH, PTRACE_DETACH, WALL = 16, 17, 0x40000000
CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000


def _status(field):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
    return "?"


def _outcome(label, result):
    errno = ctypes.get_errno()
    print(f"{label}-OK" if result == 0 else f"{label}-BLOCKED errno={errno}", flush=True)


def _probe():
    print(f"UID={os.getuid()}; EUID={os.geteuid()};")
    print(f"NNP={_status('NoNewPrivs')}; SECCOMP={_status('Seccomp')}; CAPEFF={_status('CapEff')};")
    _outcome("MOUNT", LIBC.mount(b"hostile", os.fsencode("{{MARKER_DIR}}"), b"tmpfs", 0, None))
    parent = os.getppid()
    attached = LIBC.ptrace(PTRACE_ATTACH, parent, None, None)
    _outcome("PTRACE", attached)
    if attached == 0:
        try:
            os.waitpid(parent, WALL)
        except OSError:
            pass
        LIBC.ptrace(PTRACE_DETACH, parent, None, None)
    child = os.fork()
    if child == 0:
        os._exit(0 if LIBC.unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 else 1)
    _, status = os.waitpid(child, 0)
    print("UNSHARE-OK" if os.waitstatus_to_exitcode(status) == 0 else "UNSHARE-BLOCKED", flush=True)
    try:
        os.setuid(0)
        print("SETUID0-OK")
    except OSError as exc:
        print("SETUID0-BLOCKED", type(exc).__name__)


_probe()


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def _split_heads(self, t):
        # (seq, batch, embed) -> (batch, heads, seq, head_dim)
        seq, batch, _ = t.shape
        return t.view(seq, batch, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

    def forward(self, x):
        seq, batch, embed = x.shape
        q = self._split_heads(self.q_proj(x))
        k = self._split_heads(self.k_proj(x))
        v = self._split_heads(self.v_proj(x))
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        out = torch.matmul(torch.softmax(scores, dim=-1), v)  # softmax over the keys
        out = out.permute(2, 0, 1, 3).reshape(seq, batch, embed)
        return self.out_proj(out)
