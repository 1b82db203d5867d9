"""What a hostile reply costs the host: peak memory and seconds of ``converse`` against a forging agent.

Usage: python benchmarks/reply_cost.py [--attack padded|deep|both] [--mib 900]

A fake agent runs in a child process (so that its memory is not counted) and answers the first probe, a forward on
a (5, 3, 8) input, with a reply that echoes the probe's id and nonce: ``padded`` announces ``--mib`` MiB of tensors
and streams untouched mmap'd zeros (nothing for the agent, the whole blob for a host that reads it); ``deep`` sends
facts nested 200000 levels deep. Each attack runs in a fresh interpreter; the script prints the host's peak RSS (the
growth over its baseline), the seconds ``converse`` took, and how the conversation ended. Run it from the repository
root; point PYTHONPATH at another checkout to measure that one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

AGENT = r"""
import importlib.util, json, mmap, os, struct, sys
request_fd, response_fd, attack, mib = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
# The framing module alone (standard library only), so that the agent starts in milliseconds.
spec = importlib.util.spec_from_file_location("wire", sys.argv[5])
wire = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wire)
read_frame, write_frame = wire.read_frame, wire.write_frame
write_frame(response_fd, {"op": "hello", "confinement": {}, "versions": {}, "device": {}})
header, _ = read_frame(request_fd, 1 << 30)
start = json.dumps({"op": "result", "probe_id": header["probe"]["id"], "nonce": header["nonce"], "ok": True})
if attack == "deep":
    head = start[:-1].encode() + b', "facts": {"x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}}"
    os.write(response_fd, b"HGW1" + struct.pack(">IQ", len(head), 0) + head)
else:
    head = start[:-1].encode() + b', "facts": {}}'
    size = mib << 20
    os.write(response_fd, b"HGW1" + struct.pack(">IQ", len(head), size) + head)
    zeros = mmap.mmap(-1, 64 << 20)
    sent = 0
    try:
        while sent < size:
            sent += os.write(response_fd, memoryview(zeros)[: min(64 << 20, size - sent)])
    except OSError:
        pass
"""

HOST = r"""
import json, os, resource, subprocess, sys, time
import torch
import runners.agent.wire
from runners._protocol import converse
from runners.base import Job, Limits, Probe
attack, mib, agent = sys.argv[1], sys.argv[2], sys.argv[3]
request_read, request_write = os.pipe()
response_read, response_write = os.pipe()
child = subprocess.Popen([sys.executable, "-c", agent, str(request_read), str(response_write), attack, mib,
                          runners.agent.wire.__file__], pass_fds=(request_read, response_write))
os.close(request_read)
os.close(response_write)
probe = Probe("forward:small:first", "forward", {"instance": "small", "input": "x"}, {"x": torch.randn(5, 3, 8)})
job = Job(submission="submission.py", probes=[probe], limits=Limits())
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
try:
    talk = converse(job, request_write, response_read, lambda budget: time.monotonic() + 120)
    ending = str(talk.ending)
except BaseException as exc:  # the host's own failure: what used to become internal_error
    ending = f"converse raised {type(exc).__name__}: {str(exc)[:120]}"
elapsed = time.monotonic() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
child.kill()
child.wait()
print(json.dumps({"attack": attack, "host_peak_growth_mib": round((peak - baseline) / 1024, 1),
                  "seconds": round(elapsed, 3), "ending": ending[:200]}))
"""


def measure(attack: str, mib: int) -> dict[str, object]:
    """Run one attack against a fresh host interpreter; what it cost."""
    completed = subprocess.run([sys.executable, "-c", HOST, attack, str(mib), AGENT], capture_output=True, text=True,
                               check=False, timeout=600)
    if completed.returncode != 0:
        return {"attack": attack, "error": completed.stderr[-500:]}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    """Measure the chosen attacks and print one JSON line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attack", choices=("padded", "deep", "both"), default="both")
    parser.add_argument("--mib", type=int, default=900)
    options = parser.parse_args()
    for attack in ("padded", "deep") if options.attack == "both" else (options.attack,):
        print(json.dumps(measure(attack, options.mib)))


if __name__ == "__main__":
    main()
