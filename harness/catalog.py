"""Finding, loading and validating problem and rubric files (built-in, or from a course's own directory)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from pydantic import BaseModel, ValidationError

from .models import Problem, Rubric
from .schemas import load_schema


class ProblemFileError(Exception):
    """A problem or rubric file is missing or invalid; the message names the file and the field."""


@dataclass
class LoadedProblem:
    """A validated problem with its rubric and where they came from."""

    problem: Problem
    rubric: Rubric
    problem_path: Path
    rubric_path: Path


def _builtin_dir(package: str) -> Path:
    return Path(str(resources.files(package)))


def _field(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def read_yaml(path: Path) -> Any:
    """Parse a YAML file, naming the file and line on error."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProblemFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ProblemFileError(f"{path}:{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc


def validate_file(path: Path, kind: str, model: type[BaseModel]) -> Any:
    """Validate ``path`` against the shipped JSON Schema, then the model's own rules; errors name the field."""
    data = read_yaml(path)
    validator = jsonschema.Draft202012Validator(load_schema(kind))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  {_field(e.absolute_path)}: {e.message}" for e in errors[:10]]
        raise ProblemFileError(f"{path}: invalid {kind} file:\n" + "\n".join(lines))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [f"  {_field(e['loc'])}: {e['msg']}" for e in exc.errors()[:10]]
        raise ProblemFileError(f"{path}: invalid {kind} file:\n" + "\n".join(lines)) from exc


class Catalog:
    """The problems and rubrics visible to a run: a course's directories first, then the built-in ones."""

    def __init__(self, problem_dirs: list[Path] | None = None) -> None:
        extra = [Path(d) for d in (problem_dirs or [])]
        for directory in extra:
            if not directory.is_dir():
                raise ProblemFileError(f"{directory}: not a directory")
        self.problem_dirs = [*extra, _builtin_dir("problems")]
        self.rubric_dirs = [*(d / "rubrics" for d in extra), *extra, _builtin_dir("rubrics")]

    def problem_files(self) -> dict[str, Path]:
        """Problem id (file stem) -> file, earlier directories shadowing later ones."""
        found: dict[str, Path] = {}
        for directory in reversed(self.problem_dirs):
            for path in sorted(directory.glob("*.yaml")):
                if not path.name.endswith(".rubric.yaml"):
                    found[path.stem] = path
        return dict(sorted(found.items()))

    def _rubric_file(self, rubric_id: str) -> Path:
        for directory in self.rubric_dirs:
            for candidate in (directory / f"{rubric_id}.rubric.yaml", directory / f"{rubric_id}.yaml"):
                if candidate.is_file() and (directory.name == "rubrics" or candidate.name.endswith(".rubric.yaml")):
                    return candidate
        raise ProblemFileError(f"rubric {rubric_id!r} not found (looked in: "
                               + ", ".join(str(d) for d in self.rubric_dirs) + ")")

    def load(self, problem: str | Path) -> LoadedProblem:
        """Load a problem by id, or from a file path, with its rubric."""
        path = Path(problem)
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            files = self.problem_files()
            if str(problem) not in files:
                known = ", ".join(files) or "none"
                raise ProblemFileError(f"unknown problem {str(problem)!r}; known problems: {known}")
            path = files[str(problem)]
        loaded = validate_file(path, "problem", Problem)
        rubric_path = self._rubric_file(loaded.rubric)
        rubric = validate_file(rubric_path, "rubric", Rubric)
        if rubric.id != loaded.rubric:
            raise ProblemFileError(f"{rubric_path}: id: {rubric.id!r} does not match the problem's rubric "
                                   f"{loaded.rubric!r}")
        return LoadedProblem(problem=loaded, rubric=rubric, problem_path=path, rubric_path=rubric_path)
