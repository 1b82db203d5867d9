"""`harness doctor`: what this machine supports, and the isolation each runner really has here.

Every finding is measured, not assumed: bubblewrap is started, a cgroup is made and removed, the Docker engine is
pinged, and each runner asked for runs its canary (an empty submission through the whole sandbox start), whose
report of what it enforced is the answer to "what would a submission get here".
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from runners.base import Limits, SandboxUnavailable, create_runner

FindingStatus = Literal["ok", "limited", "missing", "not applicable"]


class Finding(BaseModel):
    """One capability of this machine that a runner relies on."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    name: str
    """What was checked: ``platform``, ``python``, ``bubblewrap``, ``user namespaces``, ``cgroups``, ``seccomp``,
    ``docker``, ``gpu``."""
    status: FindingStatus
    """``ok``; ``limited`` (works, with weaker isolation or a missing part); ``missing``; ``not applicable``."""
    detail: str
    """What was found, in a sentence."""
    fix: str = ""
    """What to do about a status other than ``ok`` (empty when nothing is needed)."""


class RunnerReadiness(BaseModel):
    """Whether a runner can grade here, from its canary run."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    name: str
    """The runner's registered name."""
    ready: bool
    """True when its canary started a sandbox and the agent answered."""
    detail: str
    """``ready``, or what broke and how to fix it."""
    enforced: dict[str, str] = Field(default_factory=dict)
    """How the canary's sandbox enforced each limit (as a scorecard's ``runner.enforced`` would say)."""


class DoctorReport(BaseModel):
    """What `harness doctor` found on this machine."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    machine: str
    """Operating system, kernel release and architecture."""
    findings: list[Finding]
    """One finding per capability, in a fixed order."""
    runners: list[RunnerReadiness] = Field(default_factory=list)
    """The runners whose canary was run."""

    @property
    def ready(self) -> bool:
        """True when every runner asked about can grade here."""
        return all(runner.ready for runner in self.runners)


def _run(command: list[str], timeout: float = 20.0) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def check_platform() -> Finding:
    """The local sandbox needs Linux (namespaces, cgroups, seccomp); elsewhere, containers."""
    system = platform.system()
    if system == "Linux":
        return Finding(name="platform", status="ok", detail=f"Linux {platform.release()} ({platform.machine()})")
    return Finding(name="platform", status="missing",
                   detail=f"{system or 'this system'}: the local sandbox is Linux-only",
                   fix="grade with --runner docker (Docker Desktop runs the sandbox in a Linux VM)")


def check_python() -> Finding:
    """The interpreter the sandbox binds, and the packages it must find there."""
    from runners._bwrap import python_roots

    missing = []
    versions = []
    for package in ("torch", "numpy", "safetensors"):
        try:
            module = __import__(package)
            versions.append(f"{package} {getattr(module, '__version__', '?')}")
        except ImportError:
            missing.append(package)
    where = ", ".join(python_roots())
    detail = f"Python {platform.python_version()} at {sys.prefix} ({'; '.join(versions)}); bound read-only: {where}"
    if missing:
        return Finding(name="python", status="missing", detail=f"{detail}; cannot import {', '.join(missing)}",
                       fix="pip install torch==2.13.0 (a CPU build on the team's machines), then pip install -e .")
    return Finding(name="python", status="ok", detail=detail)


def check_bubblewrap() -> Finding:
    """Whether bubblewrap is installed and can make the namespaces the sandbox uses."""
    from runners._bwrap import bwrap_path

    bwrap = bwrap_path()
    if bwrap is None:
        return Finding(name="bubblewrap", status="missing",
                       detail="not installed: the local sandbox would run without a private filesystem view, "
                              "without namespaces and without its warm start",
                       fix="sudo apt-get install bubblewrap (Debian, Ubuntu) or sudo dnf install bubblewrap (Fedora)")
    version_run = _run([bwrap, "--version"])
    version = version_run.stdout.strip() if version_run and version_run.returncode == 0 else "unknown version"
    trial = _run([bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc",
                  "/bin/true"])
    if trial is None or trial.returncode != 0:
        said = (trial.stderr.strip() if trial else "it did not run")[-300:]
        return Finding(name="bubblewrap", status="missing",
                       detail=f"{bwrap} ({version}) cannot make its namespaces: {said}",
                       fix="allow unprivileged user namespaces (see the user namespaces finding), or use "
                           "--runner docker")
    return Finding(name="bubblewrap", status="ok", detail=f"{bwrap} ({version}): user, PID, network, IPC, UTS and "
                                                          "mount namespaces work")


def check_user_namespaces() -> Finding:
    """The kernel settings that decide whether an ordinary user may make a user namespace."""
    limit = _read("/proc/sys/user/max_user_namespaces")
    debian = _read("/proc/sys/kernel/unprivileged_userns_clone")
    apparmor = _read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
    settings = [f"user.max_user_namespaces={limit}"] if limit is not None else []
    if debian is not None:
        settings.append(f"kernel.unprivileged_userns_clone={debian}")
    if apparmor is not None:
        settings.append(f"kernel.apparmor_restrict_unprivileged_userns={apparmor}")
    detail = ", ".join(settings) or "no setting readable"
    if limit == "0":
        return Finding(name="user namespaces", status="missing", detail=f"disabled ({detail})",
                       fix="sudo sysctl -w user.max_user_namespaces=15000")
    if os.geteuid() != 0 and debian == "0":
        return Finding(name="user namespaces", status="missing", detail=f"root only ({detail})",
                       fix="sudo sysctl -w kernel.unprivileged_userns_clone=1")
    if os.geteuid() != 0 and apparmor == "1" and not Path("/etc/apparmor.d/bwrap-userns-restrict").exists():
        return Finding(name="user namespaces", status="missing",
                       detail=f"AppArmor refuses them to unconfined programs ({detail})",
                       fix="give bwrap an AppArmor profile that allows userns (Ubuntu 24.04 ships "
                           "bwrap-userns-restrict in apparmor-profiles), or sudo sysctl -w "
                           "kernel.apparmor_restrict_unprivileged_userns=0")
    who = "root" if os.geteuid() == 0 else "this user"
    return Finding(name="user namespaces", status="ok", detail=f"available to {who} ({detail})")


def check_cgroups() -> Finding:
    """Which cgroup hierarchy is mounted, and whether a run's cgroup can really be made (and removed) here."""
    from runners._cgroups import CgroupUnavailable, RunCgroup, is_unified

    version = "v2 (unified)" if is_unified() else "v1"
    try:
        probe = RunCgroup(256 << 20, 8)
    except CgroupUnavailable as exc:
        fix = ("run as root, or in a delegated scope: systemd-run --user --scope -p Delegate=yes harness ...; "
               "or set $HARNESS_CGROUP_PARENT to a cgroup delegated to you" if is_unified()
               else "run as root (v1 hierarchies are not delegated to ordinary users)")
        return Finding(name="cgroups", status="limited",
                       detail=f"cgroup {version}: no cgroup for the runs ({exc}); memory is then bounded by "
                              "RLIMIT_AS only, processes by RLIMIT_NPROC, and the warm start is off",
                       fix=fix)
    try:
        where = sorted({str(path.parent) for path in probe.paths.values()})
        frozen = "freezer" if probe.can_freeze() else "no freezer"
        detail = (f"cgroup {version}: runs get memory, pids and CPU accounting ({frozen}) under "
                  f"{', '.join(where)}")
    finally:
        probe.remove()
    return Finding(name="cgroups", status="ok", detail=detail)


def check_seccomp() -> Finding:
    """The kernel's seccomp filters, and whether the agent has a filter for this architecture."""
    status = _read("/proc/self/status") or ""
    if "Seccomp:" not in status:
        return Finding(name="seccomp", status="missing", detail="this kernel has no seccomp",
                       fix="a kernel built with CONFIG_SECCOMP_FILTER (every distribution kernel is)")
    if platform.machine() != "x86_64":
        return Finding(name="seccomp", status="limited",
                       detail=f"the agent's filter is written for x86_64; on {platform.machine()} submissions run "
                              "without it (namespaces and dropped capabilities still apply)",
                       fix="use an x86_64 machine for the strictest sandbox")
    return Finding(name="seccomp", status="ok", detail="seccomp-bpf available; the agent's x86_64 filter applies")


def check_docker() -> Finding:
    """Whether a Docker engine answers, for the docker and docker-pool runners."""
    try:
        import docker
    except ImportError:
        return Finding(name="docker", status="missing", detail="the docker package is not installed",
                       fix="pip install docker")
    try:
        client = docker.from_env(timeout=5)
        try:
            version = client.version().get("Version", "?")
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001 - the SDK raises many types for an absent or refusing engine
        return Finding(name="docker", status="missing", detail=f"no Docker engine answers ({str(exc)[:200]})",
                       fix="install Docker Engine and let this user reach it (the docker group), then "
                           "`harness images build`; not needed for the local runner")
    return Finding(name="docker", status="ok", detail=f"Docker engine {version} answers; `harness doctor --runner "
                                                      "docker` tries a container")


def check_gpu() -> Finding:
    """NVIDIA GPUs, their driver, and whether torch here can use them."""
    nodes = sorted(p for p in os.listdir("/dev") if p.startswith("nvidia")) if os.path.isdir("/dev") else []
    smi = shutil.which("nvidia-smi")
    listed = _run([smi, "--query-gpu=name,driver_version", "--format=csv,noheader"]) if smi else None
    gpus = [line.strip() for line in listed.stdout.splitlines() if line.strip()] if listed and not listed.returncode \
        else []
    try:
        import torch

        usable = torch.cuda.is_available()
        cuda = torch.version.cuda
    except Exception:  # noqa: BLE001 - a broken CUDA install must not stop the doctor
        usable, cuda = False, None
    if not nodes and not gpus:
        return Finding(name="gpu", status="not applicable",
                       detail="no NVIDIA GPU; --device cuda runs on the CPU and the scorecard says so")
    detail = f"{'; '.join(gpus) or 'device nodes ' + ', '.join(nodes)}; torch CUDA {cuda or 'none'}"
    if not usable:
        return Finding(name="gpu", status="limited", detail=f"{detail}, but torch cannot use it",
                       fix="install a CUDA build of torch that matches the driver")
    return Finding(name="gpu", status="ok", detail=f"{detail}; --device cuda binds the GPUs into the sandbox")


CHECKS: tuple[Callable[[], Finding], ...] = (
    check_platform, check_python, check_bubblewrap, check_user_namespaces, check_cgroups, check_seccomp,
    check_docker, check_gpu,
)


def check_runner(name: str, limits: Limits | None = None) -> RunnerReadiness:
    """Run the runner's canary, and report what its sandbox enforced."""
    try:
        runner = create_runner(name)
    except Exception as exc:  # noqa: BLE001 - an unknown name or a runner that cannot exist here
        return RunnerReadiness(name=name, ready=False, detail=str(exc))
    try:
        runner.ensure_ready(limits or Limits())
    except SandboxUnavailable as exc:
        return RunnerReadiness(name=name, ready=False, detail=str(exc))
    except Exception as exc:  # noqa: BLE001 - reported, not raised: the doctor must finish its report
        return RunnerReadiness(name=name, ready=False, detail=f"{type(exc).__name__}: {exc}")
    finally:
        with contextlib.suppress(Exception):
            runner.close()
    report = runner.canary_report
    return RunnerReadiness(name=name, ready=True, detail="ready", enforced=dict(report.enforced) if report else {})


def diagnose(runners: list[str] | None = None) -> DoctorReport:
    """Check this machine, then run the canary of each of ``runners`` (default: the local runners on Linux)."""
    findings = [check() for check in CHECKS]
    if runners is None:
        runners = ["local", "local-cold"] if platform.system() == "Linux" else []
    machine = f"{platform.system()} {platform.release()} {platform.machine()}"
    return DoctorReport(machine=machine, findings=findings, runners=[check_runner(name) for name in runners])


def render_text(report: DoctorReport) -> str:
    """The report for a terminal: one line per finding, its fix below it, then each runner's isolation."""
    lines = [f"harness doctor: {report.machine}", ""]
    for finding in report.findings:
        lines.append(f"  {finding.status:<15} {finding.name:<16} {finding.detail}")
        if finding.fix:
            lines.append(f"  {'':<15} {'':<16} fix: {finding.fix}")
    for runner in report.runners:
        lines += ["", f"runner {runner.name}: {runner.detail}"]
        for limit, how in runner.enforced.items():
            lines.append(f"  {limit:<14} {how}")
    if not report.runners and platform.system() != "Linux":
        lines += ["", "the local runners need Linux: use --runner docker"]
    return "\n".join(lines) + "\n"
