"""A per-run cgroup that the host creates and the child joins: cgroup v1 or v2, whichever the machine mounts.

On v1 (separate memory, pids, cpuacct and freezer hierarchies) a run has one cgroup per controller, named alike. On
v2 (the unified hierarchy of Ubuntu 22.04+, Debian 12, Fedora) it has one cgroup, under a parent delegated to the
harness: ``$HARNESS_CGROUP_PARENT`` when set, ``/sys/fs/cgroup/harness`` for root, otherwise the caller's own
cgroup where it was delegated (``systemd-run --user --scope -p Delegate=yes ...``), which the harness then splits into
a leaf for itself and one cgroup per run (v2 lets only leaves hold processes where controllers are enabled).
"""

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
_UNIFIED_CONTROLLERS = ("memory", "pids")
"""What a v2 parent must offer its children (CPU time comes from cpu.stat, which every v2 cgroup has)."""
PARENT_VARIABLE = "HARNESS_CGROUP_PARENT"


class CgroupUnavailable(Exception):
    """The machine offers no writable cgroup (v1 hierarchies or a delegated v2 subtree) with the controllers needed."""


def is_unified(root: Path = CGROUP_ROOT) -> bool:
    """Whether ``root`` is the cgroup v2 (unified) hierarchy rather than a folder of v1 hierarchies."""
    return (root / "cgroup.controllers").is_file()


_swept: set[Path] = set()


def _sweep_stale(bases: list[Path]) -> None:
    """Remove the empty cgroups that harness processes which no longer exist left behind (after a SIGKILL).

    Names carry the creating process's pid; only empty ones can be removed, so a live run is never touched.
    """
    for base in bases:
        if base in _swept:
            continue
        _swept.add(base)
        for path in base.glob("harness-*-*"):
            pid = path.name.split("-")[1]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                with contextlib.suppress(OSError):
                    path.rmdir()


class CgroupView:
    """Reads of existing cgroups: usage, high-water mark, OOM kills, CPU time; freezing and killing them.

    ``paths`` maps each controller to its cgroup: one per controller on v1, the same folder for all on v2.
    """

    def __init__(self, paths: dict[str, Path], unified: bool = False) -> None:
        self.paths = paths
        self.unified = unified
        self._peak_handle: int | None = None  # v2: memory.peak, reset through this descriptor (Linux 6.12+)

    @property
    def version(self) -> str:
        """``v2`` or ``v1``, as the enforced limits name it."""
        return "v2" if self.unified else "v1"

    @classmethod
    def of_container(cls, container_id: str, root: Path = CGROUP_ROOT) -> CgroupView:
        """The cgroups of a Docker container (cgroupfs or systemd driver); empty where they are not found."""
        if is_unified(root):
            for path in (root / "system.slice" / f"docker-{container_id}.scope", root / "docker" / container_id):
                if path.is_dir():
                    return cls(dict.fromkeys((*_CONTROLLERS, *_OPTIONAL_CONTROLLERS), path), unified=True)
            return cls({}, unified=True)
        paths = {controller: root / controller / "docker" / container_id
                 for controller in (*_CONTROLLERS, *_OPTIONAL_CONTROLLERS)}
        return cls({name: path for name, path in paths.items() if path.is_dir()})

    def can_freeze(self) -> bool:
        """Whether this cgroup can be frozen (a v1 freezer hierarchy, or v2's cgroup.freeze)."""
        if self.unified:
            return "memory" in self.paths and (self.paths["memory"] / "cgroup.freeze").exists()
        return "freezer" in self.paths

    def _is_frozen(self) -> bool:
        if self.unified:
            return "frozen 1" in self._read("memory", "cgroup.events").splitlines()
        return self._read("freezer", "freezer.state").strip() == "FROZEN"

    def _freeze(self, frozen: bool) -> None:
        if not self.can_freeze():
            return
        with contextlib.suppress(OSError):
            if self.unified:
                self._write("memory", "cgroup.freeze", "1" if frozen else "0")
            else:
                self._write("freezer", "freezer.state", "FROZEN" if frozen else "THAWED")
            deadline = time.monotonic() + 1.0
            while frozen and not self._is_frozen():
                if time.monotonic() > deadline:
                    break
                time.sleep(0.005)

    @contextlib.contextmanager
    def frozen(self) -> Iterator[bool]:
        """Stop every process of the cgroup for the duration (True when a freezer did it), then let them go on.

        The host times trusted code meanwhile: nothing the candidate started can compete with it for the CPU.
        """
        if not self.can_freeze():
            yield False
            return
        self._freeze(True)
        try:
            yield True
        finally:
            self._freeze(False)

    def _write(self, controller: str, filename: str, value: str) -> None:
        (self.paths[controller] / filename).write_text(value)

    def _read(self, controller: str, filename: str) -> str:
        if controller not in self.paths:
            raise FileNotFoundError(f"no {controller} cgroup")
        return (self.paths[controller] / filename).read_text()

    def _keyed(self, controller: str, filename: str, key: str) -> int | None:
        """The value of ``key`` in a file of "key value" lines (memory.events, cpu.stat, memory.oom_control)."""
        try:
            for line in self._read(controller, filename).splitlines():
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
        except (OSError, ValueError):
            pass
        return None

    def pids(self) -> list[int]:
        """Processes in the cgroup now (on v2, in its whole subtree: processes may have been moved into leaves)."""
        if self.unified and "pids" in self.paths:
            found: list[int] = []
            for folder, _, _ in os.walk(self.paths["pids"]):
                found += _procs(Path(folder))
            return found
        try:
            return [int(line) for line in self._read("pids", "cgroup.procs").split()]
        except OSError:
            return []

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer killed in this cgroup."""
        if self.unified:
            return self._keyed("memory", "memory.events", "oom_kill") or 0
        return self._keyed("memory", "memory.oom_control", "oom_kill") or 0

    def peak_memory_bytes(self) -> int | None:
        """The cgroup's memory high-water mark (since its creation, or since the last reset on v1)."""
        try:
            return int(self._read("memory", "memory.peak" if self.unified else "memory.max_usage_in_bytes"))
        except (OSError, ValueError):
            return None

    def usage_bytes(self) -> int | None:
        """Memory the cgroup uses now."""
        try:
            return int(self._read("memory", "memory.current" if self.unified else "memory.usage_in_bytes"))
        except (OSError, ValueError):
            return None

    def reset_peak(self) -> bool:
        """Reset the high-water mark to the current usage.

        v1 accepts a write of 0. v2 (Linux 6.12 and later) resets it for reads through the descriptor written to,
        which is kept open for :meth:`delta_mb`; older v2 kernels cannot reset it, and the step is then unmeasured.
        """
        try:
            if not self.unified:
                self._write("memory", "memory.max_usage_in_bytes", "0")
                return True
            self._close_peak_handle()
            self._peak_handle = os.open(self.paths["memory"] / "memory.peak", os.O_RDWR)
            os.write(self._peak_handle, b"reset\n")
            return True
        except (OSError, KeyError):
            self._close_peak_handle()
            return False

    def _close_peak_handle(self) -> None:
        if self._peak_handle is not None:
            with contextlib.suppress(OSError):
                os.close(self._peak_handle)
            self._peak_handle = None

    def _measured_peak(self) -> int | None:
        """The high-water mark since the last :meth:`reset_peak`."""
        if not self.unified:
            return self.peak_memory_bytes()
        if self._peak_handle is None:
            return None
        try:
            return int(os.pread(self._peak_handle, 64, 0))
        except (OSError, ValueError):
            return None

    def cpu_seconds(self) -> float | None:
        """CPU time every process of the cgroup used so far, from the kernel's accounting."""
        if self.unified:
            usage = self._keyed("memory", "cpu.stat", "usage_usec")
            return usage / 1e6 if usage is not None else None
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
        peak = self._measured_peak()
        return round(max(0, peak - baseline) / (1 << 20), 2) if peak is not None else None

    def peak_mb(self) -> float | None:
        peak = self.peak_memory_bytes()
        return round(peak / (1 << 20), 1) if peak is not None else None

    def kill_all(self, timeout: float = 5.0) -> bool:
        """SIGKILL everything in the cgroup until it is empty; True when empty.

        On v2 the kernel kills the whole cgroup at once (cgroup.kill, Linux 5.14+), fork storm included; on v1 the
        first sweep happens frozen, so that a fork storm cannot create processes between listing and killing; frozen
        processes die as soon as they are thawed.
        """
        if self.unified and self.pids():
            with contextlib.suppress(OSError, KeyError):
                self._write("memory", "cgroup.kill", "1")
        elif self.can_freeze() and self.pids():
            self._freeze(True)
            try:
                for pid in self.pids():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            finally:
                self._freeze(False)
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

    def describe_memory(self) -> str:
        """How the memory limit is enforced, for the scorecard's ``runner.enforced``."""
        if self.unified:
            return "cgroup v2 memory.max (memory.swap.max 0: no swap)"
        return "cgroup v1 memory.limit_in_bytes (swap included)"

    def describe_processes(self) -> str:
        """How the process limit is enforced."""
        return f"cgroup {self.version} pids.max"


def _in_hierarchy(base: Path) -> bool:
    """Whether ``base`` is, or will be made, a cgroup of a mounted v1 hierarchy (it or its parent is one)."""
    return (base / "cgroup.procs").exists() or (base.parent / "cgroup.procs").exists()


def own_cgroup(root: Path = CGROUP_ROOT) -> Path | None:
    """The v2 cgroup of the calling process, under ``root`` (from /proc/self/cgroup)."""
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                return root / line[3:].lstrip("/")
    except OSError:
        pass
    return None


def _enable(parent: Path, controllers: tuple[str, ...]) -> None:
    """Enable ``controllers`` for the children of ``parent`` (those not enabled already)."""
    enabled = set((parent / "cgroup.subtree_control").read_text().split())
    missing = [c for c in controllers if c not in enabled]
    if missing:
        (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in missing))


def unified_parent(root: Path = CGROUP_ROOT) -> Path:
    """The v2 cgroup under which runs get theirs, prepared: the controllers they need are enabled for its children.

    In order: ``$HARNESS_CGROUP_PARENT``; ``ROOT/harness`` when this process may write the root (root, or a
    container's own cgroup namespace); this process's own cgroup where it was delegated to this user, after moving
    this process into a leaf ``harness-host`` of it (v2 allows processes only in leaves once controllers are on).
    Raises :class:`CgroupUnavailable` naming what is missing and how to get it.
    """
    explicit = os.environ.get(PARENT_VARIABLE)
    if explicit:
        parent = Path(explicit)
        if not (parent / "cgroup.controllers").is_file():
            raise CgroupUnavailable(f"${PARENT_VARIABLE}={explicit} is not a cgroup v2 directory")
    elif os.access(root / "cgroup.subtree_control", os.W_OK):
        parent = root / "harness"
        available = set((root / "cgroup.controllers").read_text().split())
        _require(root, available)
        _enable(root, _UNIFIED_CONTROLLERS)
        parent.mkdir(exist_ok=True)
    else:
        own = own_cgroup(root)
        if own is None or not os.access(own / "cgroup.subtree_control", os.W_OK) \
                or not os.access(own / "cgroup.procs", os.W_OK):
            raise CgroupUnavailable(
                f"no cgroup v2 subtree is delegated to this user (own cgroup {own}); run the harness in one: "
                "systemd-run --user --scope -p Delegate=yes harness ..., or set $HARNESS_CGROUP_PARENT")
        if own.name == HOST_LEAF:
            parent = own.parent  # a worker process started after its batch made the leaf: already in place
        else:
            parent = own
            _vacate(own, [os.getpid()])
    available = set((parent / "cgroup.controllers").read_text().split())
    _require(parent, available)
    try:
        _enable(parent, _UNIFIED_CONTROLLERS)
    except OSError as exc:
        raise CgroupUnavailable(f"cannot enable {', '.join(_UNIFIED_CONTROLLERS)} under {parent}: {exc} (a cgroup "
                                "that still holds processes cannot delegate controllers to children)") from exc
    return parent


def _require(parent: Path, available: set[str]) -> None:
    missing = [c for c in _UNIFIED_CONTROLLERS if c not in available]
    if missing:
        raise CgroupUnavailable(f"cgroup v2 at {parent} lacks the {', '.join(missing)} controller(s) (available: "
                                f"{' '.join(sorted(available)) or 'none'}); delegate them to it")


HOST_LEAF = "harness-host"


def _vacate(parent: Path, pids: list[int]) -> None:
    """Move ``pids`` of ``parent`` into its leaf ``harness-host``, so that controllers can be enabled below it."""
    staying = [pid for pid in pids if pid in _procs(parent)]
    if not staying:
        return
    leaf = parent / HOST_LEAF
    leaf.mkdir(exist_ok=True)
    for pid in staying:
        with contextlib.suppress(ProcessLookupError):
            (leaf / "cgroup.procs").write_text(str(pid))


def _procs(path: Path) -> list[int]:
    try:
        return [int(line) for line in (path / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


class RunCgroup(CgroupView):
    """The cgroup of one run (one per controller on v1, a single one on v2), removed on :meth:`remove`.

    They are made under ``harness/`` of each v1 hierarchy or under the v2 parent (:func:`unified_parent`), or under
    the given ``parents`` (per controller: a pooled container's own cgroups, whose limits then bound them too).
    """

    def __init__(self, memory_bytes: int, max_pids: int, root: Path = CGROUP_ROOT,
                 parents: dict[str, Path] | None = None, unified: bool | None = None) -> None:
        unified = is_unified(root) if unified is None else unified
        super().__init__({}, unified=unified)
        name = f"harness-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        try:
            if unified:
                self._make_unified(name, memory_bytes, max_pids, root, parents)
            else:
                self._make_v1(name, memory_bytes, max_pids, root, parents)
        except (OSError, CgroupUnavailable) as exc:
            self.remove()
            raise CgroupUnavailable(str(exc)) from exc

    def _make_unified(self, name: str, memory_bytes: int, max_pids: int, root: Path,
                      parents: dict[str, Path] | None) -> None:
        if parents is not None:
            if "memory" not in parents:
                raise CgroupUnavailable("the container's cgroup v2 was not found")
            parent = parents["memory"]
            available = set((parent / "cgroup.controllers").read_text().split())
            _require(parent, available)
            _vacate(parent, _procs(parent))  # the container's own processes (its zygote) into a leaf of their own
            _enable(parent, _UNIFIED_CONTROLLERS)
        else:
            parent = unified_parent(root)
            _sweep_stale([parent])
        path = parent / name
        path.mkdir()
        self.paths = dict.fromkeys((*_CONTROLLERS, *_OPTIONAL_CONTROLLERS), path)
        self._write("memory", "memory.max", str(memory_bytes))
        with contextlib.suppress(OSError):  # absent when the kernel has no swap accounting
            self._write("memory", "memory.swap.max", "0")
        with contextlib.suppress(OSError):  # the OOM killer takes the whole run, never one process of it
            self._write("memory", "memory.oom.group", "1")
        self._write("pids", "pids.max", str(max_pids))

    def _make_v1(self, name: str, memory_bytes: int, max_pids: int, root: Path,
                 parents: dict[str, Path] | None) -> None:
        bases = parents if parents is not None else {
            controller: root / controller / "harness" for controller in (*_CONTROLLERS, *_OPTIONAL_CONTROLLERS)}
        if parents is None:
            _sweep_stale(list(bases.values()))
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

    @property
    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files the child writes its pid to (one on v2)."""
        return sorted({str(path / "cgroup.procs") for path in self.paths.values()})

    def adopt(self, pid: int) -> None:
        """Move a process (all its threads) into these cgroups; what it allocates from now on is charged here."""
        for procs in self.procs_files:
            Path(procs).write_text(str(pid))

    def remove(self) -> None:
        """Remove the cgroups (they must be empty)."""
        self._close_peak_handle()
        for path in set(self.paths.values()):
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
        self.paths = {}
