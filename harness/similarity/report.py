"""The similarity report: what was compared, the pairs and their shared regions, the clusters (similarity.json).

The HTML view (``similarity.html``, ``templates/similarity.html.j2``, autoescaped and self-contained) shows the top
pairs side by side with the shared regions marked, the same colour for the same region on both sides.
"""

from __future__ import annotations

from functools import cache

import jinja2
from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid")


class SharedRegion(_Model):
    """The same code in both files of a pair."""

    lines_a: tuple[int, int]
    """First and last line in the first file."""
    lines_b: tuple[int, int]
    """First and last line in the second file."""
    fingerprints: int
    """How many fingerprints the region holds (its weight)."""


class SimilarPair(_Model):
    """Two students' files and how much of each the other holds."""

    a: str
    """The first student."""
    b: str
    """The second student."""
    score: float
    """The larger of the two shares: padding a copy with other code does not hide it."""
    share_a: float
    """Share of a's fingerprints found in b."""
    share_b: float
    """Share of b's fingerprints found in a."""
    shared: int
    """Fingerprints in common."""
    regions: list[SharedRegion] = Field(default_factory=list)
    """Where the shared code is (only for the pairs above the threshold, and the top ones)."""


class SkippedFile(_Model):
    """A student whose file was not compared, or only in part."""

    student: str
    """Who."""
    reason: str
    """Why (unreadable, not a notebook, no tokens; or Python that stopped tokenizing at a line)."""


class SimilarityReport(_Model):
    """Pairwise similarity of a class's submissions, with the starter code and common boilerplate left out."""

    schema_version: int = 1
    """Version of this format."""
    students: int
    """Files compared."""
    threshold: float
    """Pairs at or above this score are flagged and clustered."""
    k: int
    """Tokens per k-gram."""
    w: int
    """Winnowing window."""
    starter_files: list[str] = Field(default_factory=list)
    """The starter code whose k-grams were removed from every file."""
    common_fingerprints: int = 0
    """Fingerprints held by so much of the class that they were ignored as boilerplate."""
    pairs: list[SimilarPair] = Field(default_factory=list)
    """Pairs sharing anything, highest score first (at most a few thousand kept)."""
    clusters: list[list[str]] = Field(default_factory=list)
    """Groups of students joined by flagged pairs, largest first."""
    skipped: list[SkippedFile] = Field(default_factory=list)
    """Files not compared, or compared only in part."""

    def flagged(self) -> list[SimilarPair]:
        """The pairs at or above the threshold."""
        return [pair for pair in self.pairs if pair.score >= self.threshold]

    def summary(self) -> str:
        """One line for a terminal."""
        return (f"{self.students} files compared; {len(self.flagged())} pairs at or above {self.threshold:g}, "
                f"in {len(self.clusters)} clusters")


@cache
def environment() -> jinja2.Environment:
    """The report's templates, autoescaped."""
    return jinja2.Environment(loader=jinja2.PackageLoader("harness.similarity", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
