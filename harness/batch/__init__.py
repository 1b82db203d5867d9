"""Batch grading: many submissions, parallel workers, a journal that survives crashes, class-wide reports."""

from .inputs import InputError, Submission, discover_submissions
from .journal import Journal
from .run import BatchResult, grade_batch

__all__ = ["BatchResult", "InputError", "Journal", "Submission", "discover_submissions", "grade_batch"]
