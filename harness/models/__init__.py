"""Pydantic models of the harness's files and results; their JSON Schemas ship in ``harness/schemas``."""

from .problem import BenchmarkSpec, ConfigSpec, InterfaceSpec, Problem, Tolerance
from .rubric import Rubric, RubricItem, Visibility
from .scorecard import (
    Diagnosis,
    ItemResult,
    ItemStatus,
    ProblemRef,
    Scorecard,
    SubmissionRef,
    SubmissionStatus,
)

__all__ = [
    "BenchmarkSpec",
    "ConfigSpec",
    "Diagnosis",
    "InterfaceSpec",
    "ItemResult",
    "ItemStatus",
    "Problem",
    "ProblemRef",
    "Rubric",
    "RubricItem",
    "Scorecard",
    "SubmissionRef",
    "SubmissionStatus",
    "Tolerance",
    "Visibility",
]
