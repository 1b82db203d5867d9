"""``harness similarity GRADES_DIR``: which students' files share code, after a batch kept their sources.

Each file kept in ``GRADES_DIR/sources/`` (a notebook as the Python of its code cells) is tokenized and normalised
(:mod:`.tokens`), fingerprinted by winnowing (:mod:`.fingerprints`) and compared through an inverted index with the
starter code and the class's common fingerprints taken out (:mod:`.compare`). Writes ``similarity.json`` and
``similarity.html`` atomically. A similarity is a reason to look, never a verdict: the page says so.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import click
from markupsafe import Markup

from .._files import write_atomically
from .._submission_size import MAX_SUBMISSION_BYTES
from ..exit_codes import ExitCode
from ..reporters._html_style import stylesheet
from ..reporters._safe_text import printable
from ..submission_source import SOURCE_SUFFIXES, SOURCES_DIR, SourceError, python_text
from .clusters import clusters
from .compare import Settings, build_index, matched_regions, pair_scores
from .report import SharedRegion, SimilarityReport, SimilarPair, SkippedFile, environment
from .tokens import normalised_tokens

DEFAULT_THRESHOLD = 0.5
DEFAULT_TOP = 20
MAX_PAIRS_KEPT = 5_000
MAX_FILES = 20_000
REGION_TONES = 6
"""Colours the side-by-side view cycles through for the regions of one pair."""


class SimilarityError(ValueError):
    """The folder holds no batch sources, or an option is wrong; the message names the folder or file."""


@dataclass(frozen=True)
class _Line:
    number: int
    text: str
    region: int | None


def read_sources(grades_dir: Path) -> tuple[dict[str, str], list[SkippedFile]]:
    """The Python of every file in ``GRADES_DIR/sources/``, by student, and the files that could not be read."""
    folder = Path(grades_dir) / SOURCES_DIR
    if not folder.is_dir():
        raise SimilarityError(f"{grades_dir}: no {SOURCES_DIR}/ folder (run `harness batch` with this harness "
                              "version first: it keeps each graded file there)")
    texts: dict[str, str] = {}
    skipped: list[SkippedFile] = []
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in SOURCE_SUFFIXES and not p.name.startswith("."))
    if len(paths) > MAX_FILES:
        raise SimilarityError(f"{folder}: more than {MAX_FILES} files")
    for path in paths:
        if path.is_symlink() or not path.is_file():
            skipped.append(SkippedFile(student=path.stem, reason="not a regular file"))
            continue
        try:
            texts[path.stem] = python_text(path, MAX_SUBMISSION_BYTES)
        except SourceError as exc:
            skipped.append(SkippedFile(student=path.stem, reason=str(exc)))
    return texts, skipped


def compute_report(texts: dict[str, str], starter_texts: dict[str, str], *, threshold: float = DEFAULT_THRESHOLD,
                   top: int = DEFAULT_TOP, skipped: list[SkippedFile] | None = None) -> SimilarityReport:
    """The report for these files (student -> Python) with these starter files (name -> Python) left out."""
    skipped = list(skipped or [])
    streams = {}
    for student, text in texts.items():
        stream = normalised_tokens(text)
        if stream.error:
            skipped.append(SkippedFile(student=student, reason=f"compared up to where it stops: {stream.error}"))
        streams[student] = stream.tokens
    settings = Settings()
    index = build_index(streams, [normalised_tokens(text).tokens for text in starter_texts.values()], settings)
    scores = pair_scores(index)[:MAX_PAIRS_KEPT]
    pairs = []
    for rank, score in enumerate(scores):
        regions = []
        if rank < top or score.score >= threshold:
            regions = [SharedRegion(lines_a=r.lines_a, lines_b=r.lines_b, fingerprints=r.fingerprints)
                       for r in matched_regions(index, score.a, score.b)]
        pairs.append(SimilarPair(a=score.a, b=score.b, score=round(score.score, 4), share_a=round(score.share_a, 4),
                                 share_b=round(score.share_b, 4), shared=score.shared, regions=regions))
    return SimilarityReport(students=len(texts), threshold=threshold, k=settings.k, w=settings.w,
                            starter_files=sorted(starter_texts), common_fingerprints=len(index.common),
                            pairs=pairs, clusters=clusters(scores, threshold), skipped=skipped)


def _lines(text: str, regions: list[tuple[int, int]]) -> list[_Line]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        region = next((i for i, (first, last) in enumerate(regions) if first <= number <= last), None)
        found.append(_Line(number, printable(line), region))
    return found


def render_similarity_html(report: SimilarityReport, texts: dict[str, str], top: int = DEFAULT_TOP) -> str:
    """The HTML view: flagged pairs and clusters, and the top pairs side by side with their shared regions marked."""
    views = []
    for pair in report.pairs[:top]:
        views.append({"pair": pair,
                      "a": _lines(texts.get(pair.a, ""), [r.lines_a for r in pair.regions]),
                      "b": _lines(texts.get(pair.b, ""), [r.lines_b for r in pair.regions])})
    return environment().get_template("similarity.html.j2").render(
        report=report, views=views, tones=REGION_TONES, flagged=report.flagged(),
        css=Markup(stylesheet()))  # noqa: S704 - the package's own stylesheet


def write_similarity_report(grades_dir: Path, out_dir: Path, *, starter: list[Path] | None = None,
                            threshold: float = DEFAULT_THRESHOLD, top: int = DEFAULT_TOP) -> SimilarityReport:
    """Compare the batch's kept sources; write ``out_dir/similarity.json`` and ``similarity.html``."""
    if not 0 < threshold <= 1:
        raise SimilarityError(f"threshold {threshold:g}: must be above 0 and at most 1")
    starter_texts = {}
    for path in starter or []:
        try:
            starter_texts[path.name] = python_text(Path(path))
        except SourceError as exc:
            raise SimilarityError(f"--starter {exc}") from exc
    texts, skipped = read_sources(grades_dir)
    report = compute_report(texts, starter_texts, threshold=threshold, top=top, skipped=skipped)
    write_atomically(Path(out_dir) / "similarity.json", report.model_dump_json(indent=2) + "\n")
    write_atomically(Path(out_dir) / "similarity.html", render_similarity_html(report, texts, top))
    return report


@click.command("similarity")
@click.argument("grades_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--starter", "starters", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The handout's starter code (.py or .ipynb), whose code never counts as shared; repeatable.")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True), default=DEFAULT_THRESHOLD,
              show_default=True, help="Flag and cluster pairs whose score is at least this.")
@click.option("--top", type=click.IntRange(1, 500), default=DEFAULT_TOP, show_default=True,
              help="How many pairs the HTML view shows side by side.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where similarity.json and similarity.html go (default: GRADES_DIR).")
def similarity_command(grades_dir: Path, starters: tuple[Path, ...], threshold: float, top: int,
                       out_dir: Path | None) -> None:
    """Compare the files a batch graded into GRADES_DIR and report the pairs that share code."""
    try:
        report = write_similarity_report(grades_dir, out_dir or grades_dir, starter=list(starters),
                                         threshold=threshold, top=top)
    except SimilarityError as exc:
        click.echo(f"harness: error: {exc}", err=True)
        sys.exit(int(ExitCode.USAGE_ERROR))
    click.echo(report.summary())
    for pair in report.flagged()[:20]:
        click.echo(f"  {pair.score:.2f}  {printable(pair.a)}  {printable(pair.b)}")
    for group in report.clusters[:10]:
        click.echo("  cluster: " + ", ".join(printable(member) for member in group))
    click.echo(f"wrote {(out_dir or grades_dir) / 'similarity.html'}")
