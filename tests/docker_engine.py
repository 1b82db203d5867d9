"""A private Docker engine for the docker tests, and the harness image built in it with no registry.

Where ``HARNESS_TEST_DOCKER_HOST`` names an engine, it is used as it is (the image is built there if missing or
stale). Otherwise, as root with Debian's dockerd and debootstrap installed, the fixture starts a dockerd of its own
(own data root, exec root, socket and pidfile, no iptables, no bridge), makes a base image from a minimal Debian
(debootstrap piped into ``docker import``), builds the harness image from it with torch from a local wheelhouse, and
stops the daemon by its pid at the end. Where none of this is possible the docker tests skip, saying why.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

STATE = Path("/tmp/harness-dockerd")  # kept between runs on a developer's machine: the images are cached there
BASE_IMAGE = "harness-test-base:bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"


@dataclass
class Engine:
    base_url: str
    image: str


class EngineUnavailable(Exception):
    """No Docker engine can be used here; the message is the skip reason."""


def _client(base_url: str):  # type: ignore[no-untyped-def]
    import docker

    return docker.DockerClient(base_url=base_url, timeout=600)


def _wait_for(base_url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _client(base_url).ping()
            return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.5)
    raise EngineUnavailable(f"dockerd did not answer within {timeout:g} s (log: {STATE / 'dockerd.log'})")


class PrivateDaemon:
    """A dockerd of our own, stopped by its pid."""

    def __init__(self) -> None:
        if os.geteuid() != 0:
            raise EngineUnavailable("starting a private dockerd needs root")
        for tool in ("dockerd", "debootstrap"):
            if shutil.which(tool) is None:
                raise EngineUnavailable(f"{tool} is not installed (apt-get install docker.io debootstrap)")
        STATE.mkdir(parents=True, exist_ok=True)
        self.socket = STATE / "docker.sock"
        self.pidfile = STATE / "docker.pid"
        self._stop_stale()
        self.base_url = f"unix://{self.socket}"
        self.log = open(STATE / "dockerd.log", "ab")  # noqa: SIM115 - open for the daemon's lifetime
        self.process = subprocess.Popen(
            ["dockerd", "--data-root", str(STATE / "data"), "--exec-root", str(STATE / "exec"), "-H", self.base_url,
             "--pidfile", str(self.pidfile), "--iptables=false", "--ip-masq=false", "--bridge=none"],
            stdout=self.log, stderr=self.log, start_new_session=True)
        try:
            _wait_for(self.base_url)
        except EngineUnavailable:
            self.stop()
            raise

    def _stop_stale(self) -> None:
        """A daemon left by an interrupted run holds the pidfile: stop it first."""
        try:
            pid = int(self.pidfile.read_text())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.1)
        except (OSError, ValueError):
            pass

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()


def _base_image(base_url: str) -> None:
    """A minimal Debian with python3 and pip, imported without any registry."""
    import docker.errors

    client = _client(base_url)
    try:
        client.images.get(BASE_IMAGE)
        return
    except docker.errors.ImageNotFound:
        pass
    rootfs = STATE / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    done = subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-pip", "bookworm",
                           str(rootfs), DEBIAN_MIRROR], capture_output=True, text=True)
    if done.returncode != 0:
        raise EngineUnavailable(f"debootstrap failed: {done.stderr[-1000:]}")
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    docker_import = subprocess.run(["docker", "-H", base_url, "import", "-", BASE_IMAGE], stdin=tar.stdout,
                                   capture_output=True, text=True)
    tar.wait()
    shutil.rmtree(rootfs, ignore_errors=True)
    if docker_import.returncode != 0:
        raise EngineUnavailable(f"docker import failed: {docker_import.stderr[-1000:]}")


def _wheelhouse() -> Path:
    """torch (the same version as the host's), safetensors and numpy with their dependencies, as wheels."""
    import torch

    wheels = STATE / "wheelhouse"
    wheels.mkdir(exist_ok=True)
    version = torch.__version__.split("+")[0]
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                           "--only-binary=:all:", "-d", str(wheels), f"torch=={version}", "safetensors", "numpy"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise EngineUnavailable(f"pip download of the wheelhouse failed: {done.stderr[-1000:]}")
    return wheels


def _harness_image(base_url: str) -> str:
    """The harness's CPU image, built if missing or carrying another agent."""
    import docker.errors

    from runners.images import AGENT_LABEL, agent_digest, build_image, image_tag

    client = _client(base_url)
    tag = image_tag()
    try:
        if (client.images.get(tag).labels or {}).get(AGENT_LABEL) == agent_digest():
            return tag
    except docker.errors.ImageNotFound:
        pass
    _base_image(base_url)
    build_image(client, base_image=BASE_IMAGE, wheelhouse=_wheelhouse(), tag=tag)
    return tag


def start_engine() -> tuple[Engine, PrivateDaemon | None]:
    """The engine to test against, and the daemon to stop afterwards (None for an external engine)."""
    try:
        import docker  # noqa: F401
    except ImportError as exc:
        raise EngineUnavailable("the docker SDK is not installed") from exc
    external = os.environ.get("HARNESS_TEST_DOCKER_HOST")
    daemon = None
    if external:
        base_url = external
        _wait_for(base_url, 10)
    else:
        daemon = PrivateDaemon()
        base_url = daemon.base_url
    try:
        return Engine(base_url=base_url, image=_harness_image(base_url)), daemon
    except BaseException:
        if daemon is not None:
            daemon.stop()
        raise


def _harness_dependencies() -> list[str]:
    """The harness's dependencies as pyproject lists them (extras and markers kept), besides the sandbox image's."""
    import re

    import tomllib

    listed = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    return [spec for spec in listed["dependencies"]
            if re.split(r"[<>=!~ \[;]", spec, maxsplit=1)[0] not in ("torch", "numpy", "safetensors")]


def lms_wheelhouse() -> Path:
    """Every wheel an LMS image needs to install the harness offline: the sandbox image's, and the harness's deps."""
    wheels = STATE / "lms-wheelhouse"
    wheels.mkdir(exist_ok=True)
    for wheel in _wheelhouse().glob("*.whl"):
        if not (wheels / wheel.name).exists():
            shutil.copyfile(wheel, wheels / wheel.name)
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                           "--only-binary=:all:", "-d", str(wheels), *_harness_dependencies()],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise EngineUnavailable(f"pip download of the harness's dependencies failed: {done.stderr[-1000:]}")
    return wheels
