"""``harness check``: a student's quick self-check of their file against a problem's visible items."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from runners.base import runner_names

from .exit_codes import ExitCode
from .packs.pack import SelfCheckUnavailable
from .reporters.self_check_text import render_self_check_json, render_self_check_text
from .self_check import check_many

_RENDERERS = {"text": render_self_check_text, "json": render_self_check_json}


@click.command("check")
@click.argument("submissions", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--problem", "problem_id", required=True, help="Problem id (see `harness problems list`) or file.")
@click.option("--format", "output_format", type=click.Choice(sorted(_RENDERERS)), default="text", show_default=True,
              help="text for a person; json for a tool (one SelfCheck object per line with several files).")
@click.option("--runner", "runner_name", default="local", show_default=True,
              help=f"Where the code runs: {', '.join(runner_names())}.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes for several files.")
@click.option("--problems-dir", "problems_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="A directory of extra problem files; may be repeated.")
def check_command(submissions: tuple[Path, ...], problem_id: str, output_format: str, runner_name: str,
                  workers: int, problems_dirs: tuple[Path, ...]) -> None:
    """Check SUBMISSIONS (.py or .ipynb files) on the problem's visible items, quickly, before handing them in.

    Correctness only, on the visible configurations: no timing, no hidden item or configuration, and a fresh secret
    seed each time. The report says what the full grading adds. Exit 0 when every file was checked (whatever the
    result), 1 when the harness failed, 2 for a usage error.
    """
    missing = [str(path) for path in submissions if not path.is_file()]
    if missing:
        click.echo(f"harness: error: {missing[0]}: no such submission file", err=True)
        sys.exit(int(ExitCode.USAGE_ERROR))
    try:
        reports = check_many(list(submissions), problem_id, runner_name, workers=workers,
                             problems_dirs=list(problems_dirs))
    except SelfCheckUnavailable as exc:
        click.echo(f"harness: error: {exc}", err=True)
        sys.exit(int(ExitCode.USAGE_ERROR))
    json_lines = output_format == "json" and len(reports) > 1  # one compact object per line, as a tool reads them
    for report in reports:
        if json_lines:
            click.echo(report.model_dump_json())
        else:
            click.echo(_RENDERERS[output_format](report), nl=False)
    if any(report.status == "internal_error" for report in reports):
        sys.exit(int(ExitCode.INTERNAL_ERROR))
