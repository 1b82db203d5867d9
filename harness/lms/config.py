"""The configuration an LMS package carries to the container: which problem, from where, with what options."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

CONFIG_NAME = "harness_autograder.json"


class AutograderConfig(BaseModel):
    """``harness_autograder.json``: written by ``harness export``, read by ``harness autograder``."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    problem: str
    """The problem id graded."""
    harness_version: str
    """The version of the harness that made the package (the one its wheel installs)."""
    problems_dirs: list[str] = Field(default_factory=list)
    """A course's own problem folders, relative to the configuration file."""
    leaderboard: bool = False
    """Whether Gradescope's leaderboard gets the speed against the reference."""

    def resolved_problems_dirs(self, config_path: Path) -> list[Path]:
        """The problem folders as paths on this machine."""
        return [config_path.parent / folder for folder in self.problems_dirs]


def read_config(path: Path) -> AutograderConfig:
    """The configuration at ``path``; ValueError naming the file and field when it is wrong."""
    from pydantic import ValidationError

    try:
        return AutograderConfig.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"{path}: {problems}") from exc
