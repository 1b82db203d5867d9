"""``harness render``: a scorecard written once by ``harness grade --out card.json``, rendered in another format.

Grading is the slow, sandboxed part; a CI job that wants JUnit for the test report and markdown for the job summary
grades once and renders twice. The lead attaches this command to the CLI with ``main.add_command(render_command)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .._files import write_atomically
from ..exit_codes import ExitCode
from . import REPORTERS, ScorecardFileError, render_file


@click.command("render")
@click.argument("scorecard", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "output_format", type=click.Choice(sorted(REPORTERS)), default="text", show_default=True,
              help="Output format.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
def render_command(scorecard: Path, output_format: str, out_path: Path | None) -> None:
    """Render SCORECARD (a JSON scorecard from `harness grade --out`) in another format."""
    try:
        rendered = render_file(scorecard, output_format)
    except ScorecardFileError as exc:
        click.echo(f"harness: error: {exc}", err=True)
        sys.exit(int(ExitCode.USAGE_ERROR))
    if out_path is not None:
        write_atomically(out_path, rendered)
    else:
        click.echo(rendered, nl=False)
