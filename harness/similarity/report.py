"""The similarity report: what was compared, the pairs and their shared regions, the clusters (similarity.json).

The HTML view (``similarity.html``, ``templates/similarity.html.j2``, autoescaped and self-contained) shows the top
pairs side by side with the shared regions marked, the same colour for the same region on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import jinja2
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field

from ..reporters._html_style import stylesheet
from ..reporters._safe_text import printable

REGION_TONES = 6
"""Colours the side-by-side view cycles through for the regions of one pair."""
MAX_SHOWN_LINES = 2_000
"""Lines of one file shown side by side; the rest is counted, not shown."""
MAX_LINE_CHARS = 300
"""Characters of one line shown; a longer line is cut with an ellipsis."""


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
    """The first student (the file's name without its suffix)."""
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
    above_threshold: bool
    """Whether ``score`` reaches the report's threshold (the pair is flagged and clustered)."""
    regions: list[SharedRegion] = Field(default_factory=list)
    """Where the shared code is, region by region (only for the flagged pairs and the top ones)."""
    lines_a: list[tuple[int, int]] = Field(default_factory=list)
    """The lines of a that b shares, as merged (first, last) ranges."""
    lines_b: list[tuple[int, int]] = Field(default_factory=list)
    """The lines of b that a shares, as merged (first, last) ranges."""


class ClusterLink(_Model):
    """One flagged pair inside a cluster."""

    a: str
    """The first student."""
    b: str
    """The second student."""
    score: float
    """The pair's score."""


class Cluster(_Model):
    """Students joined, directly or through one another, by pairs at or above the threshold."""

    members: list[str]
    """The students, sorted."""
    strongest_pairs: list[ClusterLink]
    """Its highest-scoring pairs (a few), highest first."""


class SkippedFile(_Model):
    """A student whose file was not compared, or only in part."""

    student: str
    """Who (the file's name without its suffix)."""
    reason: str
    """Why (unreadable, not UTF-8, not a notebook; or Python that stopped tokenizing at a line)."""


class Parameters(_Model):
    """What the comparison was run with."""

    k: int
    """Tokens per k-gram."""
    w: int
    """K-grams per winnowing window."""
    threshold: float
    """Pairs at or above this score are flagged and clustered."""
    common_share: float
    """A fingerprint held by more than this share of the class is boilerplate, ignored."""
    min_common_files: int
    """...but only when at least this many files hold it."""
    top: int
    """Pairs shown side by side in the HTML view."""
    starter_files: list[str] = Field(default_factory=list)
    """The starter code (file names) whose k-grams were removed from every file."""
    problem: str | None = None
    """The problem's id, for the title only."""


class SimilarityReport(_Model):
    """Pairwise similarity of a class's submissions, with the starter code and common boilerplate left out."""

    schema_version: int = 1
    """Version of this format."""
    parameters: Parameters
    """What the comparison was run with."""
    students: int
    """Files compared."""
    common_fingerprints: int = 0
    """Fingerprints held by so much of the class that they were ignored as boilerplate."""
    pairs: list[SimilarPair] = Field(default_factory=list)
    """Pairs sharing anything, highest score first (at most ``MAX_PAIRS_KEPT``)."""
    pairs_left_out: int = 0
    """Pairs sharing something that were not kept, lowest scores first, to bound the file."""
    clusters: list[Cluster] = Field(default_factory=list)
    """Groups of students joined by flagged pairs, largest first."""
    skipped: list[SkippedFile] = Field(default_factory=list)
    """Files not compared, or compared only in part."""

    def flagged(self) -> list[SimilarPair]:
        """The pairs at or above the threshold."""
        return [pair for pair in self.pairs if pair.above_threshold]

    def summary(self) -> str:
        """One line for a terminal."""
        return (f"{self.students} files compared; {len(self.flagged())} pairs at or above "
                f"{self.parameters.threshold:g}, in {len(self.clusters)} clusters")


@cache
def environment() -> jinja2.Environment:
    """The report's templates, autoescaped."""
    return jinja2.Environment(loader=jinja2.PackageLoader("harness.similarity", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class _Line:
    number: int
    text: str
    region: int | None


def _lines(text: str, regions: list[tuple[int, int]]) -> tuple[list[_Line], int]:
    """The lines to show (made printable, cut to size), each with its region, and how many lines were left out."""
    all_lines = text.splitlines()
    shown = []
    for number, line in enumerate(all_lines[:MAX_SHOWN_LINES], start=1):
        region = next((i for i, (first, last) in enumerate(regions) if first <= number <= last), None)
        cut = line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 1] + "…"
        shown.append(_Line(number, printable(cut), region))
    return shown, max(0, len(all_lines) - MAX_SHOWN_LINES)


def render_html(report: SimilarityReport, texts: dict[str, str]) -> str:
    """The HTML view: flagged pairs and clusters, and the top pairs side by side with their shared regions marked.

    Every student name and source line is autoescaped by jinja2 (and made printable, so bidirectional overrides
    and control characters show as escapes); the page has no script and loads nothing.
    """
    views = []
    for pair in report.pairs[:report.parameters.top]:
        a_lines, a_left_out = _lines(texts.get(pair.a, ""), [r.lines_a for r in pair.regions])
        b_lines, b_left_out = _lines(texts.get(pair.b, ""), [r.lines_b for r in pair.regions])
        views.append({"pair": pair, "a": a_lines, "b": b_lines, "a_left_out": a_left_out,
                      "b_left_out": b_left_out})
    return environment().get_template("similarity.html.j2").render(
        report=report, views=views, tones=REGION_TONES, flagged=report.flagged(),
        css=Markup(stylesheet()))  # the package's own stylesheet, no candidate text in it
