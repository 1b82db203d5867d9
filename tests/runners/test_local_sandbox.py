"""Limits of the local sandbox: verdicts come from the kernel, and nothing is left behind."""

from __future__ import annotations

import glob
import os
import tempfile
import time

import pytest

from runners import Limits
from runners._bwrap import bwrap_path
from runners.local import LocalRunner
from tests.runners.test_conformance import GOOD, job, write
from tests.support import ROOT

FAST = Limits(wall_s=12, probe_s=4, startup_s=30, memory_mb=768)


@pytest.fixture(params=["warm", "cold"])
def local(request):
    """The local runner, warm (children forked from its zygote) and cold (a fresh interpreter per submission)."""
    with LocalRunner(warm=request.param == "warm") as runner:
        yield runner


def leftovers() -> tuple[list[str], list[str]]:
    sandboxes = glob.glob(os.path.join(tempfile.gettempdir(), "harness-sandbox-*"))
    cgroups = glob.glob("/sys/fs/cgroup/memory/harness/harness-*")
    return sandboxes, cgroups


def processes_with_cmdline(argv: list[str]) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if handle.read().split(b"\0")[:-1] == [a.encode() for a in argv]:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def test_infinite_loop_is_a_timeout_within_the_probe_budget(local, tmp_path):
    path = write(tmp_path, GOOD.replace('print("forward called")', "while True:\n            pass"))
    started = time.monotonic()
    result = local.run(job(path, limits=FAST))
    elapsed = time.monotonic() - started
    assert result.outcome == "timeout"
    assert result.interrupted_probe == "forward"
    assert "construct" in result.probe_results  # what ran before is kept
    assert elapsed < FAST.probe_s + 8


def test_sigterm_ignoring_sleeper_is_killed_at_the_wall_limit(local, tmp_path):
    source = GOOD.replace('print("forward called")',
                          "import signal, time\n        signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                          "        time.sleep(3600)")
    limits = Limits(wall_s=6, probe_s=30, startup_s=30)
    started = time.monotonic()
    result = local.run(job(write(tmp_path, source), limits=limits))
    assert result.outcome == "timeout" and "wall-clock" in result.reason
    assert time.monotonic() - started < limits.wall_s + 5


def test_memory_hog_is_a_memory_limit_from_the_oom_counter(local, tmp_path):
    if not os.access("/sys/fs/cgroup/memory", os.W_OK):
        pytest.skip("no writable cgroup v1 memory hierarchy on this machine")
    source = GOOD.replace('print("forward called")',
                          "hog = []\n        while True:\n            hog.append(torch.ones(64 * 1024 * 1024))")
    result = local.run(job(write(tmp_path, source), limits=FAST))
    assert result.outcome == "memory_limit"
    assert result.runner.enforced["memory"].startswith("cgroup")
    assert result.resources.peak_memory_mb is not None and result.resources.peak_memory_mb <= FAST.memory_mb + 1


def test_exit_in_the_middle_of_the_protocol_is_a_crash(local, tmp_path):
    forged = 'print("{\\"score\\": 100}"); import os; os._exit(0)'
    path = write(tmp_path, GOOD.replace('print("forward called")', forged))
    result = local.run(job(path, limits=FAST))
    assert result.outcome == "crashed"
    assert result.interrupted_probe == "forward"


def test_no_network_and_a_clean_environment(local, tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_TEST_SECRET", "hunter2")
    source = GOOD.replace('print("forward called")', (
        "import os, socket\n"
        "        print('SECRET' if 'HARNESS_TEST_SECRET' in os.environ else 'CLEAN')\n"
        "        try:\n"
        "            socket.create_connection(('127.0.0.1', 22), timeout=1)\n"
        "            print('CONNECTED')\n"
        "        except OSError as exc:\n"
        "            print('NO-NETWORK', type(exc).__name__)\n"
        "        print('CWD', os.getcwd())"
    ))
    result = local.run(job(write(tmp_path, source), limits=FAST))
    assert result.outcome == "completed", result.reason
    out = result.output.stdout
    assert "CLEAN" in out and "SECRET" not in out
    assert "NO-NETWORK" in out and "CONNECTED" not in out
    assert ("CWD /sandbox" in out) if bwrap_path() else ("harness-sandbox-" in out)
    assert result.runner.enforced["network"] != "not enforced"


needs_bwrap = pytest.mark.skipif(bwrap_path() is None,
                                 reason="bubblewrap is not installed (apt-get install bubblewrap)")


@needs_bwrap
def test_filesystem_view_hides_the_host_and_the_harness(local, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-CONTENT")
    source = GOOD.replace('print("forward called")', (
        "import os, importlib.util\n"
        f"        for path in [{str(secret)!r}, '/etc/shadow', {str(ROOT / 'reference_solutions')!r}]:\n"
        "            try:\n"
        "                print('READ', open(path).read()[:20])\n"
        "            except OSError as exc:\n"
        "                print('DENIED', type(exc).__name__)\n"
        "        for name in ['harness', 'reference_solutions', 'runners']:\n"
        "            spec = importlib.util.find_spec(name)\n"
        "            found = spec and (spec.origin or list(spec.submodule_search_locations or []))\n"
        "            print('PACKAGE', name, bool(found))\n"
        "        try:\n"
        "            open('/usr/pwned', 'w')\n"
        "            print('WROTE')\n"
        "        except OSError as exc:\n"
        "            print('READ-ONLY', type(exc).__name__)\n"
        "        print('UID', os.getuid())\n"
        "        status = open('/proc/self/status').read()\n"
        "        print('SECCOMP', status.split('Seccomp:')[1].split()[0])"
    ))
    result = local.run(job(write(tmp_path, source), limits=FAST))
    out = result.output.stdout
    assert result.outcome == "completed", result.reason
    assert "SECRET-CONTENT" not in out and "READ" not in out.replace("READ-ONLY", "")
    assert out.count("DENIED") >= 3
    for name in ["harness", "reference_solutions", "runners"]:
        assert f"PACKAGE {name} True" not in out
    assert "WROTE" not in out and "READ-ONLY" in out
    assert "UID 65534" in out and "SECCOMP 2" in out
    assert result.runner.enforced["filesystem"].startswith("bubblewrap")


def test_nothing_is_left_behind(local, tmp_path):
    before = leftovers()
    source = GOOD.replace('print("forward called")', (
        "import subprocess\n"
        "        print('DAEMON', subprocess.Popen(['sleep', '3141'], start_new_session=True).pid)\n"
        "        open('junk.bin', 'wb').write(b'0' * 1000)"
    ))
    result = local.run(job(write(tmp_path, source), limits=FAST))
    assert result.outcome == "completed", result.reason
    assert result.probe_results["forward"].ok and "DAEMON" in result.output.stdout
    local.close()  # a warm runner keeps its zygote (and its pool cgroup) until closed
    assert leftovers() == before
    time.sleep(0.2)
    assert not processes_with_cmdline(["sleep", "3141"])


def test_enforced_limits_are_reported(local, tmp_path):
    result = local.run(job(write(tmp_path, GOOD), limits=FAST))
    enforced = result.runner.enforced
    assert enforced["cpu"] == "RLIMIT_CPU"
    assert enforced["environment"].startswith("clean")
    assert {"wall", "memory", "processes", "network", "file_size", "output", "no_new_privs"} <= set(enforced)
    assert result.runner.versions["torch"]
    assert result.resources.cpu_s is not None and result.resources.cpu_s > 0


def test_harness_packages_installed_beside_torch_are_hidden(monkeypatch, tmp_path):
    """A non-editable install puts the harness in site-packages, which the sandbox must see: those dirs are masked."""
    import runners._bwrap as bwrap_module

    monkeypatch.setattr(bwrap_module, "python_roots", lambda: [str(ROOT)])
    command = bwrap_module.bwrap_command("/usr/bin/bwrap", tmp_path, {}, 1 << 20)
    masked = {command[i + 1] for i, arg in enumerate(command) if arg == "--tmpfs"}
    for package in ("harness", "runners", "reference_solutions", "problems", "rubrics"):
        assert str(ROOT / package) in masked


def test_fork_storm_is_bounded_and_killed(local, tmp_path):
    source = GOOD.replace('print("forward called")', (
        "import os\n"
        "        while True:\n"
        "            try:\n"
        "                os.fork()\n"
        "            except OSError:\n"
        "                pass"
    ))
    before = leftovers()
    started = time.monotonic()
    result = local.run(job(write(tmp_path, source), limits=FAST))
    assert result.outcome in ("timeout", "crashed")
    assert time.monotonic() - started < FAST.probe_s + 10
    local.close()
    assert leftovers() == before


def test_without_cgroups_memory_falls_back_to_rlimit_and_is_still_a_memory_verdict(tmp_path):
    from harness.api import grade
    from runners.local import LocalRunner
    from tests.support import corpus_file

    runner = LocalRunner(use_cgroups=False)
    scorecard = grade(corpus_file("broken_memory_hog"), "mhsa", runner, seed=3,
                      limits=Limits(wall_s=40, probe_s=10, startup_s=30, memory_mb=1024))
    assert scorecard.status == "memory_limit", scorecard.message
    assert scorecard.runner.enforced["memory"].startswith("RLIMIT_AS")


@pytest.mark.parametrize("use_bwrap", [True, False])
def test_correct_module_runs_with_and_without_bubblewrap(tmp_path, use_bwrap):
    from runners.local import LocalRunner

    if use_bwrap and bwrap_path() is None:
        pytest.skip("bubblewrap is not installed")
    result = LocalRunner(use_bwrap=use_bwrap).run(job(write(tmp_path, GOOD), limits=FAST))
    assert result.outcome == "completed", result.reason
    assert result.probe_results["forward"].ok
    assert result.runner.enforced["filesystem"].startswith("bubblewrap" if use_bwrap else "not isolated")


LEAK_PATHS = ("['/tmp/leak.txt', os.path.join(tempfile.gettempdir(), 'leak2.txt'), 'leak3.txt', '/dev/shm/leak4', "
              "'/dev/leak5']")
SYSV_KEY = 0x5EED1EAC
# Writes everywhere a sandbox might be able to write (and a SysV segment); the reader then looks for all of it.
LEAK_WRITER = GOOD.replace('print("forward called")', (
    "import ctypes, os, tempfile\n"
    f"        for path in {LEAK_PATHS}:\n"
    "            try:\n"
    "                open(path, 'w').write('LEAKED')\n"
    "                print('WROTE', path)\n"
    "            except OSError:\n"
    "                pass\n"
    "        libc = ctypes.CDLL(None)\n"
    f"        segment = libc.shmget({SYSV_KEY}, 4096, 0o1666)\n"  # IPC_CREAT | 0666
    "        print('SHM', segment)"
))
LEAK_READER = GOOD.replace('print("forward called")', (
    "import ctypes, os, tempfile\n"
    f"        for path in {LEAK_PATHS}:\n"
    "            print('FOUND' if os.path.exists(path) else 'ABSENT', path)\n"
    f"        print('SHM-FOUND' if ctypes.CDLL(None).shmget({SYSV_KEY}, 0, 0) >= 0 else 'SHM-ABSENT')"
))


def assert_nothing_leaked(first, second) -> None:
    """The writer's run wrote, and the reader's run (the next submission) found none of it."""
    assert first.outcome == second.outcome == "completed", (first.reason, second.reason)
    assert "WROTE" in first.output.stdout and "SHM -1" not in first.output.stdout  # the writer did write
    assert "ABSENT" in second.output.stdout and "FOUND" not in second.output.stdout
    assert "SHM-ABSENT" in second.output.stdout


# Signals its parent, every process it can see, and a low pid; prints what was refused.
ZYGOTE_ATTACKER = GOOD.replace('print("forward called")', (
    "import os, signal\n"
    "        print('PID', os.getpid(), 'PARENT', os.getppid())\n"
    "        print('NETNS', os.readlink('/proc/self/ns/net'))\n"
    "        for target in (os.getppid(), -1, 2):\n"
    "            try:\n"
    "                os.kill(target, signal.SIGKILL)\n"
    "            except OSError as exc:\n"
    "                print('REFUSED', target, type(exc).__name__)"
))


def assert_zygote_out_of_reach(result, zygote_pids: list[int]) -> None:
    """The attacker ran as the init of its own PID namespace, with its parent and the zygote out of sight, and in a
    network namespace other than the zygote's (compared while the zygote lives, so no namespace id is reused)."""
    assert result.outcome == "completed", result.reason
    assert "PID 1 PARENT 0" in result.output.stdout
    assert "REFUSED 2 ProcessLookupError" in result.output.stdout
    zygote_namespaces = {os.readlink(f"/proc/{pid}/ns/net") for pid in zygote_pids}
    child_namespaces = {line.split()[1] for line in result.output.stdout.splitlines() if line.startswith("NETNS")}
    assert zygote_namespaces and len(child_namespaces) == 1
    assert not child_namespaces & zygote_namespaces, (child_namespaces, zygote_namespaces)


@needs_bwrap  # without bubblewrap the child shares the host's /tmp: the scorecard says "not isolated"
def test_nothing_leaks_from_one_submission_to_the_next(local, tmp_path):
    first = local.run(job(write(tmp_path, LEAK_WRITER, "writer.py"), limits=FAST))
    second = local.run(job(write(tmp_path, LEAK_READER, "reader.py"), limits=FAST))
    assert_nothing_leaked(first, second)


@needs_bwrap
def test_warm_children_cannot_reach_their_zygote_and_a_dead_zygote_is_replaced(tmp_path):
    with LocalRunner(warm=True) as runner:
        first = runner.run(job(write(tmp_path, ZYGOTE_ATTACKER, "attacker.py"), limits=FAST))
        if not first.runner.enforced["startup"].startswith("forked"):
            pytest.skip(f"no warm start on this machine: {first.runner.enforced['startup']}")
        zygote = runner._zygote
        assert zygote is not None and zygote.alive()  # the attack reached nothing outside its own namespace
        assert_zygote_out_of_reach(first, zygote.cgroup.pids())
        second = runner.run(job(write(tmp_path, GOOD, "good.py"), limits=FAST))
        assert runner._zygote is zygote
        zygote.cgroup.kill_all()  # the zygote dies between two submissions: the next one gets a new zygote
        third = runner.run(job(write(tmp_path, GOOD, "again.py"), limits=FAST))
        assert runner._zygote is not zygote
    assert second.outcome == third.outcome == "completed", (second.reason, third.reason)
    assert third.runner.enforced["startup"].startswith("forked")
