"""A per-run cgroup (v1 hierarchies: memory, pids, cpuacct) that the host creates and the child joins."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
_CONTROLLERS = ("memory", "pids", "cpuacct")
_OPTIONAL_CONTROLLERS = ("freezer",)


class CgroupUnavailable(Exception):
    """The machine offers no writable cgroup v1 hierarchy for the controllers we need."""


_swept: set[Path] = set()


def _sweep_stale(root: Path) -> None:
    """Remove the empty cgroups that harness processes which no longer exist left behind (after a SIGKILL).

    Names carry the creating process's pid; only empty ones can be removed, so a live run is never touched.
    """
    if root in _swept:
        return
    _swept.add(root)
    for controller in (*_CONTROLLERS, *_OPTIONAL_CONTROLLERS):
        for path in (root / controller / "harness").glob("harness-*-*"):
            pid = path.name.split("-")[1]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                with contextlib.suppress(OSError):
                    path.rmdir()


class CgroupView:
    """Reads of existing v1 cgroups, one per controller: usage, high-water mark, OOM kills, CPU time."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = paths

    @classmethod
    def of_container(cls, container_id: str, root: Path = CGROUP_ROOT) -> CgroupView:
        """The cgroups of a Docker container (cgroupfs driver, default parent); empty where they are not found."""
        paths = {controller: root / controller / "docker" / container_id
                 for controller in (*_CONTROLLERS, *_OPTIONAL_CONTROLLERS)}
        return cls({name: path for name, path in paths.items() if path.is_dir()})

    def _freeze(self, state: str) -> None:
        if "freezer" not in self.paths:
            return
        with contextlib.suppress(OSError):
            self._write("freezer", "freezer.state", state)
            deadline = time.monotonic() + 1.0
            while state == "FROZEN" and self._read("freezer", "freezer.state").strip() != "FROZEN":
                if time.monotonic() > deadline:
                    break
                time.sleep(0.005)

    @contextlib.contextmanager
    def frozen(self) -> Iterator[bool]:
        """Stop every process of the cgroup for the duration (True when a freezer did it), then let them go on.

        The host times trusted code meanwhile: nothing the candidate started can compete with it for the CPU.
        """
        if "freezer" not in self.paths:
            yield False
            return
        self._freeze("FROZEN")
        try:
            yield True
        finally:
            self._freeze("THAWED")

    def _write(self, controller: str, filename: str, value: str) -> None:
        (self.paths[controller] / filename).write_text(value)

    def _read(self, controller: str, filename: str) -> str:
        if controller not in self.paths:
            raise FileNotFoundError(f"no {controller} cgroup")
        return (self.paths[controller] / filename).read_text()

    def pids(self) -> list[int]:
        """Processes currently in the cgroup."""
        try:
            return [int(line) for line in self._read("pids", "cgroup.procs").split()]
        except OSError:
            return []

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer killed in this cgroup."""
        try:
            for line in self._read("memory", "memory.oom_control").splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except OSError:
            pass
        return 0

    def peak_memory_bytes(self) -> int | None:
        try:
            return int(self._read("memory", "memory.max_usage_in_bytes"))
        except (OSError, ValueError):
            return None

    def usage_bytes(self) -> int | None:
        """Memory the cgroup uses now."""
        try:
            return int(self._read("memory", "memory.usage_in_bytes"))
        except (OSError, ValueError):
            return None

    def reset_peak(self) -> bool:
        """Reset the high-water mark to the current usage (cgroup v1 accepts a write of 0)."""
        try:
            self._write("memory", "memory.max_usage_in_bytes", "0")
            return True
        except OSError:
            return False

    def cpu_seconds(self) -> float | None:
        try:
            return int(self._read("cpuacct", "cpuacct.usage")) / 1e9
        except (OSError, ValueError):
            return None

    def start_measure(self) -> int | None:
        """The usage before a measured step, with the high-water mark reset to it; None if not measurable."""
        if "memory" not in self.paths or not self.reset_peak():
            return None
        return self.usage_bytes()

    def delta_mb(self, baseline: int | None) -> float | None:
        """The peak increase over ``baseline`` since :meth:`start_measure`, in MiB."""
        if baseline is None:
            return None
        peak = self.peak_memory_bytes()
        return round(max(0, peak - baseline) / (1 << 20), 2) if peak is not None else None

    def peak_mb(self) -> float | None:
        peak = self.peak_memory_bytes()
        return round(peak / (1 << 20), 1) if peak is not None else None


def _in_hierarchy(base: Path) -> bool:
    """Whether ``base`` is, or will be made, a cgroup of a mounted v1 hierarchy (it or its parent is one)."""
    return (base / "cgroup.procs").exists() or (base.parent / "cgroup.procs").exists()


class RunCgroup(CgroupView):
    """One cgroup per controller, named alike, removed on :meth:`remove`.

    They are made under ``harness/`` of each hierarchy, or under the given ``parents`` (per controller: a pooled
    container's own cgroups, whose limits then bound them too).
    """

    def __init__(self, memory_bytes: int, max_pids: int, root: Path = CGROUP_ROOT,
                 parents: dict[str, Path] | None = None) -> None:
        if parents is None:
            _sweep_stale(root)
        name = f"harness-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        bases = parents if parents is not None else {
            controller: root / controller / "harness" for controller in (*_CONTROLLERS, *_OPTIONAL_CONTROLLERS)}
        super().__init__({})
        try:
            for controller in _CONTROLLERS:
                base = bases.get(controller)
                if base is None or not _in_hierarchy(base):
                    raise CgroupUnavailable(f"no cgroup v1 {controller} hierarchy at {base or root / controller}")
                path = base / name
                path.mkdir(parents=True)
                self.paths[controller] = path
            self._write("memory", "memory.limit_in_bytes", str(memory_bytes))
            with contextlib.suppress(OSError):  # absent when swap accounting is off
                self._write("memory", "memory.memsw.limit_in_bytes", str(memory_bytes))
            with contextlib.suppress(OSError):
                self._write("memory", "memory.swappiness", "0")
            self._write("pids", "pids.max", str(max_pids))
            for controller in _OPTIONAL_CONTROLLERS:
                base = bases.get(controller)
                if base is not None and _in_hierarchy(base):
                    with contextlib.suppress(OSError):
                        (base / name).mkdir(parents=True)
                        self.paths[controller] = base / name
        except (OSError, CgroupUnavailable) as exc:
            self.remove()
            raise CgroupUnavailable(str(exc)) from exc

    @property
    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files the child writes its pid to."""
        return [str(path / "cgroup.procs") for path in self.paths.values()]

    def adopt(self, pid: int) -> None:
        """Move a process (all its threads) into these cgroups; what it allocates from now on is charged here."""
        for path in self.paths.values():
            (path / "cgroup.procs").write_text(str(pid))

    def kill_all(self, timeout: float = 5.0) -> bool:
        """SIGKILL everything in the cgroup until it is empty; True when empty.

        The first sweep happens frozen, so that a fork storm cannot create processes between listing and killing;
        frozen processes die as soon as they are thawed.
        """
        if "freezer" in self.paths and self.pids():
            self._freeze("FROZEN")
            try:
                for pid in self.pids():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            finally:
                self._freeze("THAWED")
        return self._kill_loop(timeout)

    def _kill_loop(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids:
                return True
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)

    def remove(self) -> None:
        """Remove the cgroups (they must be empty)."""
        for path in self.paths.values():
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
        self.paths = {}
