"""The scorecard: the one result of grading a submission, rendered by every reporter."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from runners.base import CapturedOutput, ResourceUsage, RunnerReport

from .rubric import Visibility

SCORECARD_SCHEMA_VERSION = 1

SubmissionStatus = Literal[
    "graded", "compile_error", "interface_error", "runtime_error", "timeout", "memory_limit", "internal_error"
]
ItemStatus = Literal["passed", "failed", "partial", "error", "skipped"]


class ProblemRef(BaseModel):
    """Which problem was graded."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    id: str
    """Problem id."""
    version: str
    """Problem version."""


class SubmissionRef(BaseModel):
    """Which file was graded."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    path: str
    """Path of the submission as given to the harness."""
    sha256: str
    """SHA-256 of the submission's bytes."""


class ItemResult(BaseModel):
    """The outcome of one rubric item."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    id: str
    """Rubric item id."""
    title: str
    """Rubric item title."""
    status: ItemStatus
    """passed, failed, partial (some credit), error (could not be checked because of a fault), skipped (not checked)."""
    points: float
    """Points awarded."""
    max_points: float
    """Points available."""
    visibility: Visibility = "visible"
    """Who may see this item (from the rubric)."""
    feedback: str
    """What was found, addressed to the candidate: what is wrong and what to check."""
    details: dict[str, Any] = Field(default_factory=dict)
    """Evidence behind the verdict (errors, shapes, configurations)."""


class Diagnosis(BaseModel):
    """A named mistake found in the submission."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    id: str
    """Mistake id (e.g. ``no_scale``)."""
    message: str
    """What the mistake is and how to fix it."""
    evidence: dict[str, Any] = Field(default_factory=dict)
    """Measurements that show it."""
    items: list[str] = Field(default_factory=list)
    """Rubric items this mistake fails."""


class Scorecard(BaseModel):
    """The result of grading one submission against one problem."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    schema_version: Literal[1] = 1
    """Version of the scorecard format."""
    problem: ProblemRef
    """The problem graded."""
    submission: SubmissionRef
    """The file graded."""
    status: SubmissionStatus
    """How grading ended; a run that ended abnormally still scores what was verified before it."""
    message: str = ""
    """One-line explanation of the status, addressed to the candidate."""
    score: float
    """Points awarded."""
    max_score: float
    """Points available."""
    items: list[ItemResult]
    """One result per rubric item, in rubric order."""
    diagnoses: list[Diagnosis] = Field(default_factory=list)
    """Named mistakes found."""
    resources: ResourceUsage
    """What the sandboxed run consumed."""
    logs: CapturedOutput = Field(default_factory=CapturedOutput)
    """The submission's output, capped with head and tail kept."""
    runner: RunnerReport
    """Runner name, versions, and the limits it enforced."""
    grading_s: float = 0.0
    """Seconds the whole grading took on the host, run and checks included."""
    seed: int | None = None
    """The secret seed of this grading run, recorded so that it can be reproduced."""
    started_at: datetime
    """When grading started (UTC)."""
    finished_at: datetime
    """When grading finished (UTC)."""
