"""``harness export prairielearn``: the external grader's image context and a question that uses it.

``OUT/image/`` is a Docker build context (Dockerfile, the harness's wheel, ``harness_autograder.json``, ``run.sh``,
a course's problems); ``OUT/question/`` is a PrairieLearn question (``info.json``, ``question.html``) to copy into
the course's ``questions/`` folder, whose ``externalGradingOptions`` name that image.
"""

from __future__ import annotations

import html
import json
import math
import shutil
import tempfile
import uuid
from importlib import resources
from pathlib import Path

from ..packs.registry import PackRegistry
from .bundle import BundleError, build_harness_wheel, copy_wheelhouse, course_problems
from .config import CONFIG_NAME, AutograderConfig

ENTRYPOINT = "/opt/harness/run.sh"
UPLOAD_NAME = "solution.py"
NOTEBOOK_UPLOAD_NAME = "solution.ipynb"
"""A student may upload a notebook instead; whichever comes is graded (both: the .py, as a batch would)."""


def _file(name: str) -> str:
    return resources.files(__package__).joinpath("files", name).read_text()


def _question(title: str, statement: str, image: str, timeout_s: int) -> dict[str, str]:
    info = {
        "uuid": str(uuid.uuid4()),
        "title": title,
        "topic": "Machine learning",
        "tags": ["mlgrade"],
        "type": "v3",
        "singleVariant": True,
        "gradingMethod": "External",
        "externalGradingOptions": {"enabled": True, "image": image, "entrypoint": ENTRYPOINT,
                                   "timeout": timeout_s},
    }
    page = (f"<pl-question-panel>\n<markdown>\n{html.escape(statement.strip())}\n</markdown>\n"
            f"<p>Upload your file as <code>{UPLOAD_NAME}</code>, or your notebook as "
            f"<code>{NOTEBOOK_UPLOAD_NAME}</code>.</p>\n</pl-question-panel>\n\n"
            f'<pl-file-upload optional-file-names="{UPLOAD_NAME}, {NOTEBOOK_UPLOAD_NAME}"></pl-file-upload>\n\n'
            "<pl-submission-panel>\n<pl-external-grader-results></pl-external-grader-results>\n"
            "<pl-file-preview></pl-file-preview>\n</pl-submission-panel>\n")
    return {"info.json": json.dumps(info, indent=2) + "\n", "question.html": page}


def export_prairielearn(problem: str, out: Path, *, image: str, problems_dirs: list[Path] | None = None,
                        wheelhouse: Path | None = None, harness_wheel: Path | None = None) -> Path:
    """Write ``out/image`` and ``out/question``; ``out`` must not exist yet (it appears whole or not at all)."""
    if out.exists():
        raise BundleError(f"{out}: already exists; choose a new folder")
    dirs = list(problems_dirs or [])
    pack = PackRegistry(dirs).load(problem)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".harness-prairielearn-", dir=out.parent) as scratch:
        staging = Path(scratch) / "export"
        context = staging / "image"
        wheel = build_harness_wheel(context / "wheels", harness_wheel)
        if wheelhouse is not None:
            copy_wheelhouse(wheelhouse, context / "wheels")
        names = course_problems(dirs, context / "problems")
        config = AutograderConfig(problem=problem, harness_version=wheel.name.split("-")[1], problems_dirs=names)
        (context / CONFIG_NAME).write_text(config.model_dump_json(indent=2) + "\n")
        (context / "Dockerfile").write_text(_file("prairielearn.Dockerfile"))
        (context / "run.sh").write_text(_file("prairielearn_run.sh"))
        (context / "run.sh").chmod(0o755)
        # PrairieLearn's own limit on a grading job: the problem's wall limit, plus start-up and the reference.
        timeout = min(600, max(30, math.ceil(pack.problem.limits.wall_s * 2 + 30)))
        question = staging / "question"
        question.mkdir()
        for name, text in _question(pack.problem.title, pack.problem.statement, image, timeout).items():
            (question / name).write_text(text)
        shutil.move(str(staging), str(out))
    return out
