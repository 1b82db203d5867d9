"""The docker runner's images: building them from the Dockerfiles beside this module.

The build context holds only the Dockerfile, the agent's modules and an optional wheelhouse: nothing else of the
harness (no reference, no rubric) ever enters an image. The tag carries the harness version, so that a grading
host never runs an agent older or newer than itself.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import agent as agent_package

HERE = Path(__file__).resolve().parent


def harness_version() -> str:
    """The installed harness's version (the images' tag)."""
    try:
        return metadata.version("mlgrade-harness")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def image_tag(gpu: bool = False, version: str | None = None) -> str:
    """The tag of the CPU or GPU image for this harness version."""
    return f"mlgrade-harness-{'gpu' if gpu else 'cpu'}:{version or harness_version()}"


@dataclass
class BuildResult:
    """An image that was built."""

    tag: str
    image_id: str
    log: list[str]


class ImageBuildError(Exception):
    """The engine refused or failed the build; the message carries the end of the build log."""


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


AGENT_LABEL = "mlgrade-harness.agent-sha256"


def agent_digest() -> str:
    """A digest of what makes an image: the agent's modules and the Dockerfiles.

    An image whose label differs carries another agent, or another setup, than this harness's.
    """
    digest = hashlib.sha256()
    files = sorted(Path(agent_package.__file__).parent.glob("*.py")) + sorted(HERE.glob("Dockerfile.*"))
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_context(directory: Path, gpu: bool, wheelhouse: Path | None) -> Path:
    """Lay out a build context in ``directory``: Dockerfile, agent/, wheelhouse/ (empty unless given)."""
    shutil.copyfile(HERE / ("Dockerfile.gpu" if gpu else "Dockerfile.cpu"), directory / "Dockerfile")
    agent_dir = directory / "agent"
    agent_dir.mkdir()
    for module in Path(agent_package.__file__).parent.glob("*.py"):
        shutil.copyfile(module, agent_dir / module.name)
    wheels = directory / "wheelhouse"
    wheels.mkdir()
    (wheels / ".keep").write_text("")
    if wheelhouse is not None:
        for wheel in sorted(wheelhouse.glob("*.whl")):
            _link_or_copy(wheel, wheels / wheel.name)
    return directory


def build_image(client: Any, *, gpu: bool = False, base_image: str | None = None, wheelhouse: Path | None = None,
                tag: str | None = None, torch_spec: str | None = None) -> BuildResult:
    """Build and tag the CPU or GPU image with the docker SDK ``client``.

    ``base_image`` overrides the Dockerfile's default (a local image for offline builds); ``wheelhouse`` is a folder
    of wheels used as the only package index (torch and safetensors with their dependencies).
    """
    import docker.errors

    tag = tag or image_tag(gpu)
    buildargs = {}
    if base_image:
        buildargs["BASE_IMAGE"] = base_image
    if torch_spec:
        buildargs["TORCH_SPEC"] = torch_spec
    log: list[str] = []
    with tempfile.TemporaryDirectory(prefix="harness-image-") as work:
        context = build_context(Path(work), gpu, wheelhouse)
        try:
            # Offline-friendly: with a wheelhouse nothing is downloaded, and build containers need no network.
            image, stream = client.images.build(path=str(context), tag=tag, buildargs=buildargs, rm=True,
                                                forcerm=True, network_mode="none" if wheelhouse else None,
                                                labels={AGENT_LABEL: agent_digest()})
        except docker.errors.BuildError as exc:
            lines = [str(chunk.get("stream") or chunk.get("error") or "") for chunk in exc.build_log]
            raise ImageBuildError(f"building {tag} failed: {exc.msg}\n{''.join(lines)[-3000:]}") from exc
        except docker.errors.APIError as exc:
            raise ImageBuildError(f"building {tag} failed: {exc}") from exc
        for chunk in stream:
            if isinstance(chunk, dict) and chunk.get("stream"):
                log.append(str(chunk["stream"]))
    return BuildResult(tag=tag, image_id=str(image.id), log=log)
