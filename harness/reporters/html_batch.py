"""A batch's HTML report: the class at a glance, and a page per student beside it.

``write_batch_html(grades_dir, report.html)`` reads the scorecards ``harness batch`` wrote (and each student's
graded file it kept in ``sources/``) and writes ``report.html`` with the score distribution, each item's pass rate,
the most common named mistakes and the time and memory ratios against the reference (drawn as inline SVG), and a
table of the students, sortable by any column, linking to ``report_students/<student>.html``. The report is the
instructor's: the student pages show every item, hidden ones included. Student names come from file names, so the
page names are made safe (no separator, no dot first, bounded, collisions numbered) and every name is escaped.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from markupsafe import Markup

from .._files import write_atomically
from ..batch.journal import SCORECARD_DIR
from ..models import Scorecard
from ..submission_source import SourceError, read_sections, stored_source
from . import ScorecardFileError, _html_charts, load_scorecard
from ._html_style import stylesheet
from .html import environment, performance_pairs, render_html

MAX_STUDENTS = 20_000
"""More scorecards than any class has: a folder beyond this is refused rather than read."""
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


class BatchReportError(ValueError):
    """The folder is not a batch's output, or one of its scorecards is unreadable; the message names the file."""


@dataclass(frozen=True)
class StudentRow:
    """One student's line of the class table."""

    student: str
    page: str
    score: float
    max_score: float
    status: str
    mistakes: str
    time_ratio: float | None
    memory_ratio: float | None


def page_names(students: list[str]) -> dict[str, str]:
    """A safe, unique file name for each student's page (``a/b`` -> ``a_b.html``, ``..`` -> ``_.html``)."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for student in students:
        stem = _SAFE.sub("_", student)[:80] or "_"
        candidate, number = stem, 2
        while candidate.lower() in used:
            candidate, number = f"{stem}-{number}", number + 1
        used.add(candidate.lower())
        names[student] = f"{candidate}.html"
    return names


def load_batch(grades_dir: Path) -> dict[str, Scorecard]:
    """Every scorecard of a batch folder, by student; errors name the folder or file."""
    folder = Path(grades_dir) / SCORECARD_DIR
    if not folder.is_dir():
        raise BatchReportError(f"{grades_dir}: not a batch's output (no {SCORECARD_DIR}/ folder)")
    paths = sorted(path for path in folder.glob("*.json") if not path.name.startswith("."))
    if len(paths) > MAX_STUDENTS:
        raise BatchReportError(f"{folder}: holds more than {MAX_STUDENTS} scorecards")
    cards = {}
    for path in paths:
        try:
            cards[path.stem] = load_scorecard(path)
        except ScorecardFileError as exc:
            raise BatchReportError(str(exc)) from exc
    if not cards:
        raise BatchReportError(f"{folder}: holds no scorecard")
    return cards


def _ratio(pair: tuple[float, float] | None) -> float | None:
    return pair[0] / pair[1] if pair and pair[1] > 0 else None


def _rows(cards: dict[str, Scorecard], pages: dict[str, str], folder_name: str) -> list[StudentRow]:
    rows = []
    for student, card in sorted(cards.items()):
        pairs = performance_pairs(card)
        rows.append(StudentRow(student, f"{quote(folder_name)}/{quote(pages[student])}", card.score, card.max_score,
                               card.status, ", ".join(d.id for d in card.diagnoses),
                               _ratio(pairs.get("time_ms")), _ratio(pairs.get("memory_mb"))))
    return rows


def _charts(cards: dict[str, Scorecard], rows: list[StudentRow]) -> dict[str, _html_charts.Chart | None]:
    cards_list = list(cards.values())
    maximum = max((card.max_score for card in cards_list), default=0.0) or 1.0
    bins = [0] * 10
    for card in cards_list:
        bins[min(9, int(10 * card.score / maximum))] += 1
    labels = [f"{10 * i}-{10 * i + 9}%" if i < 9 else "90-100%" for i in range(10)]
    item_ids: list[str] = []
    titles: dict[str, str] = {}
    for card in cards_list:
        for item in card.items:
            if item.id not in titles:
                item_ids.append(item.id)
                titles[item.id] = item.title
    rates = []
    for item_id in item_ids:
        results = [item for card in cards_list for item in card.items if item.id == item_id]
        passed = sum(1 for item in results if item.status == "passed")
        rates.append((titles[item_id], passed / len(results), f"{100 * passed / len(results):.0f}% ({passed})"))
    mistakes = Counter(d.id for card in cards_list for d in card.diagnoses).most_common(10)
    times = [row.time_ratio for row in rows if row.time_ratio is not None]
    memories = [row.memory_ratio for row in rows if row.memory_ratio is not None]
    return {
        "scores": _html_charts.histogram(bins, labels, "Score distribution (share of the maximum)"),
        "item_rates": _html_charts.horizontal_bars(rates, "Pass rate per item", 1.0),
        "mistakes": _html_charts.horizontal_bars([(m, float(n), str(n)) for m, n in mistakes],
                                                 "Most common named mistakes") if mistakes else None,
        "time": _html_charts.histogram(*_html_charts.ratio_bins(times), "Time against the reference")
        if times else None,
        "memory": _html_charts.histogram(*_html_charts.ratio_bins(memories), "Peak memory against the reference")
        if memories else None,
    }


def render_batch_html(cards: dict[str, Scorecard], pages: dict[str, str], folder_name: str, title: str) -> str:
    """The class page for these scorecards, linking to the student pages named by ``pages`` in ``folder_name``."""
    rows = _rows(cards, pages, folder_name)
    scores = [card.score for card in cards.values()]
    statuses = Counter(card.status for card in cards.values())
    return environment().get_template("batch.html.j2").render(
        title=title, rows=rows, charts=_charts(cards, rows), statuses=sorted(statuses.items()),
        count=len(cards), mean=statistics.fmean(scores), median=statistics.median(scores),
        maximum=max((card.max_score for card in cards.values()), default=0.0),
        css=Markup(stylesheet()))  # noqa: S704 - the package's own stylesheet


def write_batch_html(grades_dir: Path, out_path: Path) -> list[Path]:
    """Write the class page to ``out_path`` and a page per student beside it; returns every path written."""
    cards = load_batch(grades_dir)
    pages = page_names(sorted(cards))
    folder = out_path.parent / f"{out_path.stem}_students"
    problem = next(iter(cards.values())).problem
    written = []
    for student, card in sorted(cards.items()):
        source = stored_source(grades_dir, student)
        try:
            sections = read_sections(source) if source is not None else None
        except SourceError:
            sections = None
        target = folder / pages[student]
        write_atomically(target, render_html(card, reveal_hidden=True, sections=sections))
        written.append(target)
    title = f"{problem.id} v{problem.version}"
    write_atomically(out_path, render_batch_html(cards, pages, folder.name, title))
    return [out_path, *written]
