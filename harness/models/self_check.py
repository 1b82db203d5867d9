"""What ``harness check`` tells a student about their file before the deadline."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from runners.base import CapturedOutput

from .scorecard import Diagnosis, ItemResult, ProblemRef, SubmissionRef, SubmissionStatus


class UncheckedItem(BaseModel):
    """A visible rubric item that only the full grading decides (speed and memory, for example)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    id: str
    """The rubric item's id."""
    title: str
    """Its title."""
    max_points: float
    """Its points in the full grading."""


class SelfCheck(BaseModel):
    """A self-check: the visible items on the visible configurations, and what the full grading adds.

    It holds no seed, no hidden configuration and no hidden item: nothing a student could tune a file to.
    """

    model_config = ConfigDict(use_attribute_docstrings=True)

    schema_version: Literal[1] = 1
    """Version of this format."""
    problem: ProblemRef
    """The problem checked against."""
    submission: SubmissionRef
    """The file checked."""
    status: SubmissionStatus
    """How the check went, in the scorecard's terms (graded, compile_error, timeout, ...)."""
    message: str = ""
    """One sentence about the outcome."""
    score: float
    """Points of the items checked."""
    max_score: float
    """The most those items give."""
    items: list[ItemResult]
    """The visible items the self-check decided, with their feedback."""
    diagnoses: list[Diagnosis] = Field(default_factory=list)
    """The named mistakes found on the visible configurations."""
    not_checked: list[UncheckedItem] = Field(default_factory=list)
    """Visible items only the full grading decides."""
    full_grading_adds: list[str] = Field(default_factory=list)
    """What the full grading does beyond this check, in sentences."""
    full_max_score: float
    """The full grading's maximum score."""
    logs: CapturedOutput = Field(default_factory=CapturedOutput)
    """What the file printed during the check."""
    wall_s: float = 0.0
    """Seconds the check took."""
