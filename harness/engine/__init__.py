"""The trusted grading engine: plans probes, analyses results against the reference, scores rubric items."""

from .checks import ITEM_CHECKS, CheckContext, ItemOutcome, item_check
from .grade import grade_submission
from .reference import ReferenceLoadError, ReferenceSolution, load_reference

__all__ = [
    "ITEM_CHECKS",
    "CheckContext",
    "ItemOutcome",
    "ReferenceLoadError",
    "ReferenceSolution",
    "grade_submission",
    "item_check",
    "load_reference",
]
