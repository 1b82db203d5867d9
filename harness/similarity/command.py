"""``harness similarity GRADES_DIR``: which students' files share code, after a batch kept their sources.

Each file kept in ``GRADES_DIR/sources/`` (a notebook as the Python of its code cells) is tokenized and normalised
(:mod:`.tokens`), fingerprinted by winnowing (:mod:`.fingerprints`) and compared through an inverted index with the
starter code and the class's common fingerprints taken out (:mod:`.compare`); flagged pairs are grouped
(:mod:`.clusters`). Writes ``similarity.json`` and ``similarity.html`` (:mod:`.report`) atomically. A similarity is
a reason to look, never a verdict: the page says so.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from .._files import write_atomically
from .._submission_size import MAX_SUBMISSION_BYTES
from ..exit_codes import ExitCode
from ..reporters._safe_text import printable
from ..submission_source import SOURCE_SUFFIXES, SOURCES_DIR, SourceError, python_text
from .clusters import cluster_details
from .compare import ClassIndex, PairScore, Settings, build_index, matched_regions, merged_ranges, pair_scores
from .report import (
    Cluster,
    ClusterLink,
    Parameters,
    SharedRegion,
    SimilarityReport,
    SimilarPair,
    SkippedFile,
    render_html,
)
from .tokens import normalised_tokens

DEFAULT_THRESHOLD = 0.5
"""On the planted-copy corpus (k = 10) every direct copy scores 0.62 or more and every independent pair 0.36 or
less."""
DEFAULT_TOP = 20
MAX_PAIRS_KEPT = 5_000
"""Pairs kept in similarity.json: a class of 800 has 319,600 pairs, nearly all sharing a little."""
MAX_FILES = 20_000


class SimilarityError(ValueError):
    """The folder holds no batch sources, or an option is wrong; the message names the folder or file."""


def read_sources(grades_dir: Path) -> tuple[dict[str, str], list[SkippedFile]]:
    """The Python of every file in ``GRADES_DIR/sources/``, by student, and the files that could not be read."""
    folder = Path(grades_dir) / SOURCES_DIR
    if not folder.is_dir():
        raise SimilarityError(f"{grades_dir}: no {SOURCES_DIR}/ folder (run `harness batch` with this harness "
                              "version first: it keeps each graded file there)")
    texts: dict[str, str] = {}
    skipped: list[SkippedFile] = []
    paths = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    if len(paths) > MAX_FILES:
        raise SimilarityError(f"{folder}: more than {MAX_FILES} files")
    for path in paths:
        if path.suffix.lower() not in SOURCE_SUFFIXES:
            skipped.append(SkippedFile(student=path.name, reason="not a .py or .ipynb file"))
        elif path.is_symlink() or not path.is_file():
            skipped.append(SkippedFile(student=path.stem, reason="not a regular file"))
        elif path.stem in texts:
            skipped.append(SkippedFile(student=path.stem, reason=f"{path.name}: a second file for this student"))
        else:
            try:
                texts[path.stem] = python_text(path, MAX_SUBMISSION_BYTES)
            except SourceError as exc:
                skipped.append(SkippedFile(student=path.stem, reason=str(exc)))
    return texts, skipped


def compute_report(texts: dict[str, str], starter_texts: dict[str, str], *, threshold: float = DEFAULT_THRESHOLD,
                   top: int = DEFAULT_TOP, skipped: Sequence[SkippedFile] = (), problem: str | None = None,
                   settings: Settings | None = None) -> SimilarityReport:
    """The report for these files (student -> Python) with these starter files (name -> Python) left out."""
    settings = settings or Settings()
    skipped = list(skipped)
    streams = {}
    for student, text in texts.items():
        stream = normalised_tokens(text)
        if stream.error:
            skipped.append(SkippedFile(student=student, reason=f"compared up to where it stops: {stream.error}"))
        streams[student] = stream.tokens
    index = build_index(streams, [normalised_tokens(text).tokens for text in starter_texts.values()], settings)
    scores = pair_scores(index)
    kept = scores[:MAX_PAIRS_KEPT]
    pairs = [_pair(index, score, threshold, with_regions=rank < top or score.score >= threshold)
             for rank, score in enumerate(kept)]
    parameters = Parameters(k=settings.k, w=settings.w, threshold=threshold, common_share=settings.common_share,
                            min_common_files=settings.min_common_files, top=top,
                            starter_files=sorted(starter_texts), problem=problem)
    return SimilarityReport(parameters=parameters, students=len(texts), common_fingerprints=len(index.common),
                            pairs=pairs, pairs_left_out=len(scores) - len(kept),
                            clusters=_clusters([s for s in scores if s.score >= threshold], threshold),
                            skipped=skipped)


def _pair(index: ClassIndex, score: PairScore, threshold: float, with_regions: bool) -> SimilarPair:
    regions = matched_regions(index, score.a, score.b) if with_regions else []
    return SimilarPair(a=score.a, b=score.b, score=round(score.score, 4), share_a=round(score.share_a, 4),
                       share_b=round(score.share_b, 4), shared=score.shared, above_threshold=score.score >= threshold,
                       regions=[SharedRegion(lines_a=r.lines_a, lines_b=r.lines_b, fingerprints=r.fingerprints)
                                for r in regions],
                       lines_a=merged_ranges(r.lines_a for r in regions),
                       lines_b=merged_ranges(r.lines_b for r in regions))


def _clusters(flagged: list[PairScore], threshold: float) -> list[Cluster]:
    return [Cluster(members=group.members,
                    strongest_pairs=[ClusterLink(a=p.a, b=p.b, score=round(p.score, 4)) for p in group.strongest])
            for group in cluster_details(flagged, threshold)]


def write_similarity_report(grades_dir: Path, out_dir: Path, *, starter: Sequence[Path] = (),
                            threshold: float = DEFAULT_THRESHOLD, top: int = DEFAULT_TOP,
                            problem: str | None = None) -> SimilarityReport:
    """Compare the batch's kept sources; write ``out_dir/similarity.json`` and ``similarity.html``."""
    if not 0 < threshold <= 1:
        raise SimilarityError(f"threshold {threshold:g}: must be above 0 and at most 1")
    if top < 1:
        raise SimilarityError(f"top {top}: must be at least 1")
    starter_texts = {}
    for path in starter:
        try:
            starter_texts[Path(path).name] = python_text(Path(path))
        except SourceError as exc:
            raise SimilarityError(f"starter file {exc}") from exc
    texts, skipped = read_sources(grades_dir)
    report = compute_report(texts, starter_texts, threshold=threshold, top=top, skipped=skipped, problem=problem)
    write_atomically(Path(out_dir) / "similarity.json", report.model_dump_json(indent=2) + "\n")
    write_atomically(Path(out_dir) / "similarity.html", render_html(report, texts))
    return report


@click.command("similarity")
@click.argument("grades_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--starter", "starters", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The handout's starter code (.py or .ipynb), whose code never counts as shared; repeatable.")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True), default=DEFAULT_THRESHOLD,
              show_default=True, help="Flag and cluster pairs whose score is at least this.")
@click.option("--top", type=click.IntRange(1, 500), default=DEFAULT_TOP, show_default=True,
              help="How many pairs the HTML view shows side by side.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where similarity.json and similarity.html go (default: GRADES_DIR).")
@click.option("--problem", default=None, help="The problem's id, for the page's title only.")
def similarity_command(grades_dir: Path, starters: tuple[Path, ...], threshold: float, top: int,
                       out_dir: Path | None, problem: str | None) -> None:
    """Compare the files a batch kept in GRADES_DIR/sources/ and report the pairs that share code."""
    try:
        report = write_similarity_report(grades_dir, out_dir or grades_dir, starter=list(starters),
                                         threshold=threshold, top=top, problem=problem)
    except SimilarityError as exc:
        click.echo(f"harness: error: {exc}", err=True)
        sys.exit(int(ExitCode.USAGE_ERROR))
    click.echo(report.summary())
    for pair in report.flagged()[:20]:
        click.echo(f"  {pair.score:.2f}  {printable(pair.a)}  {printable(pair.b)}")
    for group in report.clusters[:10]:
        click.echo("  cluster: " + ", ".join(printable(member) for member in group.members))
    if report.skipped:
        click.echo(f"  {len(report.skipped)} files not compared in full (see similarity.json)")
    click.echo(f"wrote {printable((out_dir or grades_dir) / 'similarity.json')} and similarity.html")
