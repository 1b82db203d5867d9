"""JSON Schemas generated from the pydantic models, shipped with the package and used to validate files."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..doctor import DoctorReport
from ..models import Problem, Rubric, Scorecard
from ..models.self_check import SelfCheck
from ..packs.spec import PackProblem

SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "problem": Problem, "rubric": Rubric, "scorecard": Scorecard, "doctor": DoctorReport,
    "pack_problem": PackProblem, "self_check": SelfCheck,
}


def generate(name: str) -> dict[str, Any]:
    """The JSON Schema of model ``name`` as generated now."""
    schema = SCHEMA_MODELS[name].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://mlgrade.invalid/schemas/{name}.schema.json"
    return schema


def render(name: str) -> str:
    """The schema file's text (stable key order, trailing newline)."""
    return json.dumps(generate(name), indent=2, sort_keys=True) + "\n"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The shipped schema ``name`` (``problem``, ``rubric`` or ``scorecard``)."""
    text = resources.files(__package__).joinpath(f"{name}.schema.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return,unused-ignore]


def write_all(directory: Path | None = None) -> list[Path]:
    """Regenerate every shipped schema file; returns the paths written."""
    target = directory or Path(__file__).parent
    written = []
    for name in SCHEMA_MODELS:
        path = target / f"{name}.schema.json"
        path.write_text(render(name))
        written.append(path)
    return written
