"""cgroup v2: the unified hierarchy's files, against a real cgroup2 mount where this kernel allows one.

These machines run cgroup v1, where the memory and pids controllers belong to their v1 hierarchies and cannot join a
cgroup2 mount; a second mount of the unified hierarchy still has the core files every v2 cgroup has (cgroup.procs,
cgroup.freeze, cgroup.events, cgroup.kill, cpu.stat), which the tests drive for real. The controller files
(memory.max, memory.swap.max, memory.events, memory.peak, pids.max) are checked on a tree laid out as v2 lays them
out, and for real on a v2 machine (the device machine, where lent).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from runners._cgroups import CgroupUnavailable, CgroupView, RunCgroup, is_unified, unified_parent

BUSY = "import time\nwhile True:\n    time.sleep(0) or sum(range(1000))\n"


def _mount_cgroup2() -> Path | None:
    if os.geteuid() != 0:
        return None
    folder = Path(tempfile.mkdtemp(prefix="harness-cgroup2-"))
    if subprocess.run(["mount", "-t", "cgroup2", "none", str(folder)], capture_output=True).returncode != 0:
        folder.rmdir()
        return None
    return folder


@pytest.fixture(scope="module")
def cgroup2():
    """A real cgroup2 mount, unmounted afterwards; skipped where this user or kernel cannot mount one."""
    if is_unified():
        yield Path("/sys/fs/cgroup")  # a v2 machine: the real hierarchy
        return
    mount = _mount_cgroup2()
    if mount is None:
        pytest.skip("cannot mount cgroup2 here (needs root and a kernel that allows a second hierarchy)")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)
    with contextlib.suppress(OSError):
        mount.rmdir()


@pytest.fixture
def busy_in_cgroup(cgroup2):
    """A CPU-bound process moved into a fresh v2 cgroup, with a view of that cgroup."""
    path = cgroup2 / f"harness-test-{os.getpid()}-{time.monotonic_ns()}"
    path.mkdir()
    process = subprocess.Popen([sys.executable, "-c", BUSY])
    (path / "cgroup.procs").write_text(str(process.pid))
    view = CgroupView(dict.fromkeys(("memory", "pids", "cpuacct", "freezer"), path), unified=True)
    yield view, process
    process.kill()
    process.wait()
    for _ in range(100):
        try:
            path.rmdir()
            break
        except OSError:
            time.sleep(0.02)


def test_a_v2_mount_is_recognised(cgroup2):
    assert is_unified(cgroup2)
    assert not is_unified(Path(tempfile.gettempdir()))


def test_v2_lists_the_processes_and_counts_their_cpu_time(busy_in_cgroup):
    view, process = busy_in_cgroup
    assert view.pids() == [process.pid]
    first = view.cpu_seconds()
    time.sleep(0.5)
    second = view.cpu_seconds()
    assert first is not None and second is not None and second - first > 0.1  # cpu.stat usage_usec, really counted


def test_v2_freezes_the_whole_cgroup_while_the_host_times_trusted_code(busy_in_cgroup):
    view, process = busy_in_cgroup
    time.sleep(0.2)
    with view.frozen() as frozen:
        assert frozen
        assert "frozen 1" in (view.paths["memory"] / "cgroup.events").read_text()
        before = view.cpu_seconds()
        time.sleep(0.4)
        after = view.cpu_seconds()
        assert before is not None and after is not None and after - before < 0.02  # nothing of it ran
    time.sleep(0.3)
    assert (view.cpu_seconds() or 0) - (after or 0) > 0.05  # thawed: it runs again
    assert process.poll() is None


def test_v2_kills_everything_in_the_cgroup_at_once(busy_in_cgroup):
    view, process = busy_in_cgroup
    assert view.kill_all(timeout=5)  # cgroup.kill
    assert process.wait(timeout=5) == -9
    assert view.pids() == []


def test_a_v2_parent_without_the_memory_and_pids_controllers_is_refused_with_the_reason(cgroup2, monkeypatch):
    available = set((cgroup2 / "cgroup.controllers").read_text().split())
    if {"memory", "pids"} <= available:
        pytest.skip("this v2 hierarchy has both controllers: see the v2-machine test below")
    parent = cgroup2 / f"harness-parent-{os.getpid()}"
    parent.mkdir(exist_ok=True)
    monkeypatch.setenv("HARNESS_CGROUP_PARENT", str(parent))
    try:
        with pytest.raises(CgroupUnavailable, match="lacks the memory, pids controller"):
            RunCgroup(256 << 20, 16, root=cgroup2)
        assert [p.name for p in parent.iterdir() if p.is_dir()] == []  # nothing half-made is left
    finally:
        parent.rmdir()


def test_a_v2_parent_that_is_no_cgroup_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CGROUP_PARENT", str(tmp_path))
    with pytest.raises(CgroupUnavailable, match="HARNESS_CGROUP_PARENT.*not a cgroup v2 directory"):
        unified_parent(tmp_path)


def v2_tree(root: Path) -> Path:
    """Files laid out as a cgroup v2 root with memory, pids and cpu available, writable by this test."""
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("\n")
    (root / "harness").mkdir()
    (root / "harness" / "cgroup.controllers").write_text("memory pids\n")
    (root / "harness" / "cgroup.subtree_control").write_text("\n")
    return root / "harness"


def test_a_v2_run_cgroup_sets_memory_swap_and_pids_limits_and_reads_the_kernel_accounting(tmp_path, monkeypatch):
    monkeypatch.delenv("HARNESS_CGROUP_PARENT", raising=False)
    parent = v2_tree(tmp_path)
    run = RunCgroup(300 << 20, 32, root=tmp_path)
    (path,) = {run.paths[c] for c in ("memory", "pids", "cpuacct", "freezer")}  # one cgroup for every controller
    assert path.parent == parent and path.name.startswith(f"harness-{os.getpid()}-")
    assert (path / "memory.max").read_text() == str(300 << 20)
    assert (path / "memory.swap.max").read_text() == "0"
    assert (path / "memory.oom.group").read_text() == "1"
    assert (path / "pids.max").read_text() == "32"
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert run.procs_files == [str(path / "cgroup.procs")]
    assert run.describe_memory().startswith("cgroup v2 memory.max") and "pids.max" in run.describe_processes()

    (path / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 1\noom_kill 2\noom_group_kill 1\n")
    (path / "cpu.stat").write_text("usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n")
    (path / "memory.current").write_text("1048576\n")
    (path / "memory.peak").write_text("4194304\n")
    assert run.oom_kills() == 2
    assert run.cpu_seconds() == 1.5
    assert run.usage_bytes() == 1 << 20
    assert run.peak_mb() == 4.0
    # A step's measurement starts with a write to memory.peak (the kernel then resets it for that descriptor).
    assert run.start_measure() == 1 << 20
    for name in ("memory.events", "cpu.stat", "memory.current", "memory.peak", "memory.max", "memory.swap.max",
                 "memory.oom.group", "pids.max"):
        (path / name).unlink()
    run.remove()
    assert not path.exists()


@pytest.mark.skipif(not is_unified(), reason="needs a cgroup v2 machine (this one mounts v1): run on the device")
def test_on_a_v2_machine_a_run_cgroup_limits_memory_for_real():
    run = RunCgroup(64 << 20, 8)
    try:
        hog = [sys.executable, "-c", "x = bytearray(256 << 20); print(len(x))"]
        joined = ["/bin/sh", "-c", 'echo $$ > "$1" && shift && exec "$@"', "sh", run.procs_files[0], *hog]
        process = subprocess.run(joined, capture_output=True, timeout=60)
        assert process.returncode == -9 and run.oom_kills() >= 1  # killed by the kernel at memory.max
        assert (run.peak_mb() or 0) <= 64.5
    finally:
        run.kill_all()
        run.remove()
