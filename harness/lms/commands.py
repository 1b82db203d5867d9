"""The LMS commands of ``harness``: ``export`` (make a package) and ``autograder`` (run inside the LMS's container).

Each only parses options and calls the functions of this package.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from ..catalog import ProblemFileError
from ..exit_codes import ExitCode
from .bundle import BundleError, lock_down
from .config import read_config

_problems_dir_option = click.option(
    "--problems-dir", "problems_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
    help="A course's own problem folder, bundled into the package; may be repeated.")
_wheelhouse_option = click.option(
    "--wheelhouse", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
    help="A folder of wheels (torch, its and the harness's dependencies) bundled so the image builds offline.")
_harness_wheel_option = click.option(
    "--harness-wheel", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="The harness's own wheel (default: built from the source tree this harness runs from).")


def _fail(message: str, code: ExitCode) -> NoReturn:
    click.echo(f"harness: error: {message}", err=True)
    sys.exit(int(code))


@click.group("export")
def export_group() -> None:
    """Package a problem as an LMS autograder (Gradescope zip, PrairieLearn image and question)."""


@export_group.command("gradescope")
@click.option("--problem", "problem_id", required=True, help="Problem id (see `harness problems list`).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The autograder zip to write, e.g. autograder.zip.")
@click.option("--leaderboard", is_flag=True, help="Fill Gradescope's leaderboard with the time against the reference.")
@_wheelhouse_option
@_harness_wheel_option
@_problems_dir_option
def export_gradescope_command(problem_id: str, out_path: Path, leaderboard: bool, wheelhouse: Path | None,
                              harness_wheel: Path | None, problems_dirs: tuple[Path, ...]) -> None:
    """Write the autograder zip to upload as a Gradescope programming assignment's autograder."""
    from .gradescope_export import export_gradescope

    try:
        written = export_gradescope(problem_id, out_path, problems_dirs=list(problems_dirs), wheelhouse=wheelhouse,
                                    harness_wheel=harness_wheel, leaderboard=leaderboard)
    except (BundleError, ProblemFileError) as exc:
        _fail(str(exc), ExitCode.USAGE_ERROR)
    click.echo(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB); upload it as the assignment's autograder")


@export_group.command("prairielearn")
@click.option("--problem", "problem_id", required=True, help="Problem id (see `harness problems list`).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="A new folder for image/ (the grader's build context) and question/.")
@click.option("--image", required=True, help="The image name the question's externalGradingOptions will pull.")
@_wheelhouse_option
@_harness_wheel_option
@_problems_dir_option
def export_prairielearn_command(problem_id: str, out_dir: Path, image: str, wheelhouse: Path | None,
                                harness_wheel: Path | None, problems_dirs: tuple[Path, ...]) -> None:
    """Write a PrairieLearn external grader's image context and a question that uses it."""
    from .prairielearn_export import export_prairielearn

    try:
        written = export_prairielearn(problem_id, out_dir, image=image, problems_dirs=list(problems_dirs),
                                      wheelhouse=wheelhouse, harness_wheel=harness_wheel)
    except (BundleError, ProblemFileError) as exc:
        _fail(str(exc), ExitCode.USAGE_ERROR)
    click.echo(f"wrote {written}/image (docker build -t {image} {written}/image) and {written}/question")


@click.group("autograder")
def autograder_group() -> None:
    """Run inside an LMS's grading container: what the exported packages call."""


_config_option = click.option("--config", "config_path", required=True,
                              type=click.Path(exists=True, dir_okay=False, path_type=Path),
                              help="The package's harness_autograder.json.")


@autograder_group.command("gradescope")
@_config_option
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/autograder"),
              show_default=True, help="Gradescope's folder (submission/ in, results/results.json out).")
def autograder_gradescope(config_path: Path, root: Path) -> None:
    """Grade ROOT/submission and write ROOT/results/results.json; exit 1 (no results) on a fault of the harness."""
    from .gradescope import GraderFault, run_autograder

    try:
        config = read_config(config_path)
    except ValueError as exc:
        _fail(str(exc), ExitCode.USAGE_ERROR)
    try:
        card = run_autograder(config.problem, root, problems_dirs=config.resolved_problems_dirs(config_path),
                              leaderboard=config.leaderboard)
    except GraderFault as exc:
        _fail(f"not graded, by a fault of the grader (rerun it): {exc}", ExitCode.INTERNAL_ERROR)
    click.echo(f"graded: {card.status}, {card.score:g} / {card.max_score:g}")


@autograder_group.command("prairielearn")
@_config_option
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/grade"),
              show_default=True, help="PrairieLearn's folder (data/, student/ in, results/results.json out).")
def autograder_prairielearn(config_path: Path, root: Path) -> None:
    """Grade ROOT/student and write ROOT/results/results.json (not gradable: no attempt is counted)."""
    from .prairielearn import run_external_grader

    try:
        config = read_config(config_path)
    except ValueError as exc:
        _fail(str(exc), ExitCode.USAGE_ERROR)
    card = run_external_grader(config.problem, root, problems_dirs=config.resolved_problems_dirs(config_path))
    click.echo("not gradable" if card is None else f"graded: {card.status}, {card.score:g} / {card.max_score:g}")
    if card is not None and card.status == "internal_error":
        sys.exit(int(ExitCode.INTERNAL_ERROR))


@autograder_group.command("lock-down")
@click.argument("folders", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
def autograder_lock_down(folders: tuple[Path, ...]) -> None:
    """In an LMS image: make the installed harness and FOLDERS readable by root alone (the student runs as nobody)."""
    try:
        changed = lock_down(list(folders))
    except BundleError as exc:
        _fail(str(exc), ExitCode.USAGE_ERROR)
    click.echo(f"locked down {len(changed)} folders")
