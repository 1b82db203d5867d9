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
from ..submission_source import SourceSection, sections_if_unchanged, stored_source
from . import ScorecardFileError, _html_charts, load_scorecard
from ._html_style import stylesheet
from .html import environment, performance_ratios, render_html

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
    paths = sorted(path for path in folder.glob("*.json") if path.is_file())  # a dot-named student too
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


def _rows(cards: dict[str, Scorecard], pages: dict[str, str], folder_name: str) -> list[StudentRow]:
    rows = []
    for student, card in sorted(cards.items()):
        ratios = performance_ratios(card)
        rows.append(StudentRow(student, f"{quote(folder_name)}/{quote(pages[student])}", card.score, card.max_score,
                               card.status, ", ".join(d.id for d in card.diagnoses),
                               ratios.get("time"), ratios.get("memory")))
    return rows


def _charts(cards: dict[str, Scorecard], rows: list[StudentRow],
            rubric_items: list[tuple[str, str]]) -> dict[str, _html_charts.Chart | None]:
    cards_list = list(cards.values())
    maximum = max((card.max_score for card in cards_list), default=0.0) or 1.0
    bins = [0] * 10
    for card in cards_list:
        bins[min(9, int(10 * card.score / maximum))] += 1
    labels = [f"{10 * i}-{10 * i + 9}%" if i < 9 else "90-100%" for i in range(10)]
    item_ids = [item_id for item_id, _ in rubric_items]
    titles = dict(rubric_items)
    for card in cards_list:
        for item in card.items:
            if item.id not in titles:
                item_ids.append(item.id)
                titles[item.id] = item.title
    rates = []
    for item_id in item_ids:
        results = [item for card in cards_list for item in card.items if item.id == item_id]
        if not results:
            continue  # in the rubric, but no scorecard has it (an older version of the problem): no rate to draw
        passed = sum(1 for item in results if item.status == "passed")
        skipped = sum(1 for item in results if item.status == "skipped")
        text = f"{100 * passed / len(results):.0f}% ({passed})"
        if 2 * skipped >= len(results):  # mostly unmeasured (no memory controller): say so, not just "0%"
            text += f", {skipped} not checked"  # the bar is at most half long, which leaves room for this
        rates.append((titles[item_id], passed / len(results), text))
    mistakes = Counter(d.id for card in cards_list for d in card.diagnoses).most_common(10)
    times = [row.time_ratio for row in rows if row.time_ratio is not None]
    memories = [row.memory_ratio for row in rows if row.memory_ratio is not None]
    return {
        "scores": _html_charts.histogram(bins, labels, "Score distribution (share of the maximum)",
                                          tone="bar score-bin"),
        "item_rates": _html_charts.horizontal_bars(rates, "Pass rate per item", 1.0),
        "mistakes": _html_charts.horizontal_bars([(m, float(n), str(n)) for m, n in mistakes],
                                                 "Most common named mistakes") if mistakes else None,
        "time": _html_charts.histogram(*_html_charts.ratio_bins(times), "Time against the reference",
                                       tone="bar ratio-bin")
        if times else None,
        "memory": _html_charts.histogram(*_html_charts.ratio_bins(memories), "Peak memory against the reference",
                                         tone="bar ratio-bin")
        if memories else None,
    }


def render_batch_html(cards: dict[str, Scorecard], pages: dict[str, str], folder_name: str, title: str,
                      rubric_items: list[tuple[str, str]] | None = None) -> str:
    """The class page for these scorecards, linking to the student pages named by ``pages`` in ``folder_name``.

    ``rubric_items`` ((id, title) in the rubric's order) orders the pass rates; items only the scorecards name follow.
    """
    rows = _rows(cards, pages, folder_name)
    scores = [card.score for card in cards.values()]
    statuses = Counter(card.status for card in cards.values())
    return environment().get_template("batch.html.j2").render(
        title=title, rows=rows, charts=_charts(cards, rows, rubric_items or []), statuses=sorted(statuses.items()),
        count=len(cards), mean=statistics.fmean(scores), median=statistics.median(scores),
        maximum=max((card.max_score for card in cards.values()), default=0.0),
        css=Markup(stylesheet()))  # noqa: S704 - the package's own stylesheet


def kept_source(grades_dir: Path, student: str, card: Scorecard) -> list[SourceSection]:
    """The student's file as the batch kept it, while it is the one graded (same SHA-256); else no section."""
    source = stored_source(grades_dir, student)
    if source is None:
        return []
    return sections_if_unchanged(source, card.submission.sha256) or []


def _rubric_items(problem_id: str, problems_dirs: list[Path] | None) -> list[tuple[str, str]]:
    """The problem's rubric items as (id, title), or none when the problem is not found here."""
    from ..catalog import ProblemFileError
    from ..packs.registry import PackRegistry

    try:
        rubric = PackRegistry(problems_dirs).load(problem_id).rubric
    except (ProblemFileError, OSError, ValueError):
        return []  # the scorecards name their items: the page is drawn from them alone
    return [(item.id, item.title) for item in rubric.items]


def _remove_stale_pages(folder: Path, current: set[str]) -> None:
    """Remove the pages of students no longer in the batch (a report written again after a regrade or a removal).

    Only ``.html`` files directly in the report's own ``*_students`` folder go: that folder is the report's.
    """
    for page in folder.glob("*.html"):
        if page.name not in current and page.is_file() and not page.is_symlink():
            page.unlink(missing_ok=True)


def write_batch_html(grades_dir: Path, out_path: Path, *, problems_dirs: list[Path] | None = None) -> list[Path]:
    """Write the class page to ``out_path`` and a page per student beside it; returns every path written.

    The student pages are written first and the class page last, each atomically, so the class page never links to
    a page that is not there yet. ``problems_dirs`` are searched for the problem's rubric (for the items' order).
    """
    cards = load_batch(grades_dir)
    pages = page_names(sorted(cards))
    out_path = Path(out_path)
    folder = out_path.parent / f"{out_path.stem}_students"
    problem = next(iter(sorted(cards.items())))[1].problem
    written = []
    back = (f"../{quote(out_path.name)}", "The class report")
    for student, card in sorted(cards.items()):
        target = folder / pages[student]
        sections = kept_source(Path(grades_dir), student, card)
        write_atomically(target, render_html(card, reveal_hidden=True, sections=sections, back=back))
        written.append(target)
    _remove_stale_pages(folder, set(pages.values()))
    versions = sorted({f"v{card.problem.version}" for card in cards.values()})
    problems = sorted({card.problem.id for card in cards.values()})
    title = f"{', '.join(problems)} {', '.join(versions)}"
    rubric_items = _rubric_items(problem.id, problems_dirs) if len(problems) == 1 else []
    write_atomically(out_path, render_batch_html(cards, pages, folder.name, title, rubric_items))
    return [out_path, *written]
