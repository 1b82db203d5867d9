"""Which students' submissions share code: normalised tokens, winnowed fingerprints, pairs, clusters, a report.

``harness similarity GRADES_DIR`` (:data:`similarity_command`) and ``harness batch --similarity`` both call
:func:`write_similarity_report`.
"""

from .command import (
           DEFAULT_THRESHOLD,
           DEFAULT_TOP,
           SimilarityError,
           compute_report,
           similarity_command,
           write_similarity_report,
)
from .report import SimilarityReport

__all__ = ["DEFAULT_THRESHOLD", "DEFAULT_TOP", "SimilarityError", "SimilarityReport", "compute_report",
           "similarity_command", "write_similarity_report"]
