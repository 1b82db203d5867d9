"""The ``harness`` command: parses options, calls the Python API, picks a reporter. Nothing else."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from pydantic import ValidationError

from runners.base import Runner, UnknownRunnerError, create_runner, runner_names

from . import __version__
from ._files import write_atomically
from .api import grade
from .batch import InputError, grade_batch
from .batch.executors import ExecutorUnavailable, executor_names
from .batch.progress import BatchProgress
from .batch.run import BatchExistsError, BatchStopped
from .catalog import ProblemFileError
from .check_command import check_command
from .engine import ReferenceLoadError
from .exit_codes import EXIT_CODES_HELP, ExitCode
from .lms.batch_exports import EXPORTS, ExportError, ExportOptions, check_exports, make_export
from .lms.commands import autograder_group, export_group
from .lms.lti_cli import publish_group
from .models.problem import Limits
from .packs.registry import PackRegistry
from .packs.scaffold import KINDS, ScaffoldError, scaffold
from .packs.selftest import cross_references, self_test
from .reporters import REPORTERS
from .reporters.render_command import render_command
from .similarity.command import similarity_command


def parse_limit_overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    """``("wall_s=30", "processes=16")`` -> ``{"wall_s": "30", "processes": "16"}``; unknown names are usage errors."""
    overrides = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in Limits.model_fields:
            raise click.UsageError(f"--limit {pair!r}: expected NAME=VALUE with NAME one of "
                                   f"{', '.join(Limits.model_fields)}")
        overrides[name] = value
    return overrides


def _run_limits(problem_id: str, problems_dirs: tuple[Path, ...], overrides: dict[str, object]) -> Limits | None:
    """The problem's limits with this run's overrides, or None when nothing is overridden."""
    if not overrides:
        return None
    base = PackRegistry(list(problems_dirs)).load(problem_id).problem.limits
    try:
        return Limits.model_validate({**base.model_dump(), **overrides})
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        _fail(f"invalid limit: {problems}", ExitCode.USAGE_ERROR)


_export_options = click.option(
    "--assignment", default=None, metavar='"TITLE (ID)"',
    help='canvas-csv: the Canvas gradebook column, e.g. "Attention (4242)" (the id is in the assignment\'s URL).',
)


def _roster_option(function: Any) -> Any:
    return click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                        help="canvas-csv: the gradebook CSV exported from Canvas, to match students by.")(function)


def _fail(message: str, code: ExitCode) -> NoReturn:
    click.echo(f"harness: error: {message}", err=True)
    sys.exit(int(code))


class _Group(click.Group):
    """Maps the harness's own user-facing errors to exit code 2 with a one-line message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ProblemFileError, ReferenceLoadError, UnknownRunnerError, FileNotFoundError) as exc:
            _fail(str(exc), ExitCode.USAGE_ERROR)


@click.group(cls=_Group, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="harness")
def main() -> None:
    """Grade machine-learning coding submissions in a sandbox and write JSON scorecards."""


_problems_dir_option = click.option(
    "--problems-dir", "problems_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
    help="A directory of extra problem files (and rubrics/); may be repeated. Searched before the built-in ones.",
)


@main.command("grade", epilog=EXIT_CODES_HELP)
@click.argument("submission", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--problem", "problem_id", required=True, help="Problem id (see `harness problems list`) or file.")
@click.option("--runner", "runner_name", default="local", show_default=True,
              help=f"Where candidate code runs: {', '.join(runner_names())}.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the scorecard to this file instead of standard output.")
@click.option("--format", "output_format", type=click.Choice(sorted(REPORTERS)), default="json",
              show_default=True, help="Scorecard format.")
@click.option("--fail-under", type=click.FloatRange(0, 100), default=None,
              help="Exit with 3 when the score is below this percentage of the maximum.")
@click.option("--seed", type=int, default=None, help="Fix the secret seed (to reproduce a grading run).")
@click.option("--gpus", default=None, metavar="all|N|ID,ID",
              help="GPUs for the docker runners' containers (device request); implies --device cuda.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default=None,
              help="Run the candidate's module on this device (default: the problem's); cuda falls back to the CPU "
                   "where no GPU is visible, and the scorecard says so.")
@click.option("--timeout", "wall_s", type=click.FloatRange(min=1), default=None,
              help="Wall-clock limit in seconds for the whole run (default: the problem's).")
@click.option("--memory-mb", type=click.IntRange(min=256), default=None,
              help="Memory limit in MiB (default: the problem's).")
@click.option("--limit", "limit_overrides", multiple=True, metavar="NAME=VALUE",
              help=f"Override any limit of the problem; repeatable. Names: {', '.join(Limits.model_fields)}.")
@_problems_dir_option
def grade_command(submission: Path, problem_id: str, runner_name: str, out_path: Path | None,
                  output_format: str, fail_under: float | None, seed: int | None, gpus: str | None,
                  device: str | None, wall_s: float | None,
                  memory_mb: int | None, limit_overrides: tuple[str, ...], problems_dirs: tuple[Path, ...]) -> None:
    """Grade SUBMISSION (a .py file or a .ipynb notebook) and print or write its scorecard."""
    if not submission.is_file():
        _fail(f"{submission}: no such submission file", ExitCode.USAGE_ERROR)
    overrides: dict[str, object] = dict(parse_limit_overrides(limit_overrides))
    overrides.update({k: v for k, v in {"wall_s": wall_s, "memory_mb": memory_mb}.items() if v is not None})
    limits = _run_limits(problem_id, problems_dirs, overrides)
    runner: str | Runner = runner_name
    if gpus is not None:
        try:
            runner = create_runner(runner_name, gpus=gpus)
        except TypeError:
            _fail(f"--gpus is for the docker runners, not {runner_name!r} (use --device cuda)", ExitCode.USAGE_ERROR)
        device = device or "cuda"
    try:
        scorecard = grade(submission, problem_id, runner, problems_dirs=list(problems_dirs), seed=seed,
                          limits=limits, device=device)
    finally:
        if not isinstance(runner, str):
            runner.close()
    rendered = REPORTERS[output_format](scorecard)
    if out_path is not None:
        write_atomically(out_path, rendered)
    else:
        click.echo(rendered, nl=False)
    if scorecard.status == "internal_error":
        sys.exit(int(ExitCode.INTERNAL_ERROR))
    if fail_under is not None and scorecard.max_score > 0:
        percent = 100.0 * scorecard.score / scorecard.max_score
        if percent < fail_under:
            click.echo(f"harness: score {percent:.1f}% is below --fail-under {fail_under:g}%", err=True)
            sys.exit(int(ExitCode.BELOW_THRESHOLD))


@main.command("batch", epilog=EXIT_CODES_HELP)
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--problem", "problem_id", required=True, help="Problem id (see `harness problems list`) or file.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for scorecards/, grades.csv, summary.json and the journal.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Parallel grading processes (default: the number of CPUs).")
@click.option("--runner", "runner_name", default="local", show_default=True,
              help=f"Where candidate code runs: {', '.join(runner_names())}.")
@click.option("--executor", "executor_name", type=click.Choice(executor_names()), default="process", show_default=True,
              help="Where grading tasks run: local worker processes, or a Ray cluster (needs the [ray] extra).")
@click.option("--address", default=None,
              help="Ray cluster address (e.g. 10.0.0.5:6379, or 'auto'); without it Ray starts a local cluster.")
@click.option("--task-cpus", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="CPUs each Ray task asks for.")
@click.option("--task-gpus", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="GPUs each Ray task asks for.")
@click.option("--resume", is_flag=True, help="Finish a batch in OUT: grade only what its journal lacks.")
@click.option("--regrade", is_flag=True,
              help="Grade the batch in OUT again (e.g. after a rubric change) and report whose scores changed.")
@click.option("--limit", "limit_overrides", multiple=True, metavar="NAME=VALUE",
              help="Override a limit of the problem for every submission; repeatable.")
@click.option("--export", "exports", multiple=True, type=click.Choice(sorted(EXPORTS)),
              help="Also write OUT/canvas.csv (Canvas's gradebook import) or OUT/junit.xml; repeatable.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the class's HTML report here (as `harness report OUT --html FILE`).")
@click.option("--similarity", is_flag=True,
              help="Also write OUT/similarity.json and OUT/similarity.html (as `harness similarity OUT`).")
@click.option("--starter", "starters", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="--similarity: the handout's starter code, whose lines never count as shared; repeatable.")
@_export_options
@_roster_option
@_problems_dir_option
def batch_command(source: Path, problem_id: str, out_dir: Path, workers: int | None, runner_name: str,
                  executor_name: str, address: str | None, task_cpus: float, task_gpus: float,
                  resume: bool, regrade: bool, limit_overrides: tuple[str, ...], exports: tuple[str, ...],
                  html_path: Path | None, similarity: bool, starters: tuple[Path, ...],
                  assignment: str | None, roster: Path | None, problems_dirs: tuple[Path, ...]) -> None:
    """Grade every submission in SOURCE: a folder of .py or .ipynb files, of per-student folders, or a zip."""
    if starters and not similarity:
        _fail("--starter is for --similarity", ExitCode.USAGE_ERROR)
    limits = _run_limits(problem_id, problems_dirs, dict(parse_limit_overrides(limit_overrides)))
    export_options = ExportOptions(assignment=assignment, roster=roster)
    try:
        check_exports(list(exports), export_options)
    except ExportError as exc:
        _fail(str(exc), ExitCode.USAGE_ERROR)
    reporter = BatchProgress()
    try:
        with reporter:
            result = grade_batch(source, problem_id, out_dir, workers=workers or os.cpu_count() or 1,
                                 runner=runner_name, resume=resume, regrade=regrade,
                                 problems_dirs=list(problems_dirs), limits=limits, progress=reporter.update,
                                 executor=executor_name,
                                 executor_options={"address": address, "num_cpus": task_cpus, "num_gpus": task_gpus})
    except (InputError, BatchExistsError, ExecutorUnavailable) as exc:
        _fail(str(exc), ExitCode.USAGE_ERROR)
    except BatchStopped as exc:
        _fail(f"{exc}; its scorecard is in {out_dir / 'stopped.json'}", ExitCode.INTERNAL_ERROR)
    click.echo(f"{result.total} submissions: {result.graded_now} graded now, {result.already_done} already done, "
               f"{result.failures} internal errors, in {result.wall_s:.1f} s; results in {result.out_dir}/",
               err=True)
    if result.regrade is not None:
        click.echo(f"regrade: {len(result.regrade['changed'])} scores changed, {result.regrade['unchanged']} "
                   f"unchanged (details in {result.out_dir}/regrade.json)", err=True)
        for change in result.regrade["changed"][:20]:
            items = ", ".join(c["item"] for c in change["items"])
            click.echo(f"  {change['student']}: {change['old_score']:g} -> {change['new_score']:g} ({items})", err=True)
    for name in exports:
        _write_export(name, out_dir, export_options, None)
    if html_path is not None:
        _write_html_report(out_dir, html_path)
    if similarity:
        _write_similarity(out_dir, list(starters))
    if result.failures:
        sys.exit(int(ExitCode.INTERNAL_ERROR))


def _write_export(name: str, grades_dir: Path, options: ExportOptions, out_path: Path | None) -> None:
    """Make export ``name`` of a batch and write it to ``out_path`` (default: its file in the batch directory)."""
    try:
        exported = make_export(name, grades_dir, options)
    except ExportError as exc:
        _fail(str(exc), ExitCode.USAGE_ERROR)
    target = out_path or grades_dir / exported.file_name
    write_atomically(target, exported.text)
    click.echo(f"{name}: wrote {target}; {exported.summary}", err=True, nl=False)


@main.command("report", epilog=EXIT_CODES_HELP)
@click.argument("grades_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the class's HTML report here (one self-contained file, with a page per student beside "
                   "it in REPORT_students/).")
@click.option("--format", "export_name", default=None, type=click.Choice(sorted(EXPORTS)),
              help="canvas-csv: Canvas's gradebook import; junit: one test suite per submission.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="--format's file (default: canvas.csv or junit.xml in GRADES_DIR).")
@_export_options
@_roster_option
def report_command(grades_dir: Path, html_path: Path | None, export_name: str | None, out_path: Path | None,
                   assignment: str | None, roster: Path | None) -> None:
    """Report on the batch graded into GRADES_DIR (by `harness batch --out GRADES_DIR`): HTML, or an export."""
    if html_path is None and export_name is None:
        _fail("say what to write: --html REPORT.html and/or --format canvas-csv|junit", ExitCode.USAGE_ERROR)
    options = ExportOptions(assignment=assignment, roster=roster)
    if export_name is not None:
        try:
            check_exports([export_name], options)
        except ExportError as exc:
            _fail(str(exc), ExitCode.USAGE_ERROR)
    if html_path is not None:
        _write_html_report(grades_dir, html_path)
    if export_name is not None:
        _write_export(export_name, grades_dir, options, out_path)


def _write_similarity(grades_dir: Path, starters: list[Path]) -> None:
    from .similarity.command import SimilarityError, write_similarity_report

    try:
        report = write_similarity_report(grades_dir, grades_dir, starter=starters)
    except SimilarityError as exc:
        _fail(str(exc), ExitCode.USAGE_ERROR)
    click.echo(f"similarity: wrote {grades_dir / 'similarity.html'}; {report.summary()}", err=True)


def _write_html_report(grades_dir: Path, html_path: Path) -> None:
    from .reporters.html_batch import BatchReportError, write_batch_html

    try:
        written = write_batch_html(grades_dir, html_path)
    except BatchReportError as exc:
        _fail(str(exc), ExitCode.USAGE_ERROR)
    click.echo(f"html: wrote {html_path} and {len(written) - 1} student pages", err=True)


@main.command("doctor")
@click.option("--runner", "runner_names_", multiple=True,
              help="Run this runner's canary (repeatable; default: local and local-cold on Linux).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def doctor_command(runner_names_: tuple[str, ...], output_format: str) -> None:
    """Say what this machine supports and the isolation each runner really has here, with the fix for each gap.

    Exit code 0 when every runner asked about can grade here, 1 when one cannot.
    """
    from .doctor import diagnose, render_text

    report = diagnose(list(runner_names_) or None)
    click.echo(report.model_dump_json(indent=2) if output_format == "json" else render_text(report), nl=False)
    if output_format == "json":
        click.echo()
    if not report.ready:
        sys.exit(int(ExitCode.INTERNAL_ERROR))


@main.group("images")
def images_group() -> None:
    """Build the docker runner's images."""


@images_group.command("build")
@click.option("--gpu", is_flag=True, help="Build the GPU (CUDA) image instead of the CPU one.")
@click.option("--base-image", default=None, help="Base image (default: the Dockerfile's; any local image offline).")
@click.option("--wheelhouse", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder of wheels (torch, safetensors, numpy and their dependencies): the only package index.")
@click.option("--tag", default=None, help="Tag (default: mlgrade-harness-cpu|gpu:<harness version>).")
@click.option("--docker-host", default=None, help="Engine address (default: DOCKER_HOST).")
def images_build(gpu: bool, base_image: str | None, wheelhouse: Path | None, tag: str | None,
                 docker_host: str | None) -> None:
    """Build and tag the sandbox image: the agent, torch and an unprivileged user; nothing else of the harness."""
    from runners.docker import DockerRunner, DockerUnavailable
    from runners.images import ImageBuildError, build_image

    try:
        client = DockerRunner(base_url=docker_host).engine()
        result = build_image(client, gpu=gpu, base_image=base_image, wheelhouse=wheelhouse, tag=tag)
    except (DockerUnavailable, ImageBuildError) as exc:
        _fail(str(exc), ExitCode.USAGE_ERROR)
    click.echo(f"built {result.tag} ({result.image_id})")


@main.group("problems")
def problems_group() -> None:
    """List, show, validate and create problems."""


@problems_group.command("list")
@_problems_dir_option
def problems_list(problems_dirs: tuple[Path, ...]) -> None:
    """List the available problems (packs and problem files)."""
    registry = PackRegistry(list(problems_dirs))
    for problem_id in registry.ids():
        try:
            title = registry.load(problem_id).problem.title
        except ProblemFileError as exc:
            title = f"INVALID: {str(exc).splitlines()[0]}"
        click.echo(f"{problem_id}\t{title}")


def _config_values(config: Any) -> dict[str, Any]:
    return dict(getattr(config, "values", None) or getattr(config, "sizes", {}))


@problems_group.command("show")
@click.argument("problem_id")
@_problems_dir_option
def problems_show(problem_id: str, problems_dirs: tuple[Path, ...]) -> None:
    """Show a problem's statement, configurations, limits and rubric."""
    pack = PackRegistry(list(problems_dirs)).load(problem_id)
    problem, rubric = pack.problem, pack.rubric
    click.echo(f"{problem.id} v{problem.version}: {problem.title}\n")
    click.echo(problem.statement.rstrip() + "\n")
    click.echo("Configurations:")
    for config in problem.configs:
        shown = "(hidden)" if config.hidden else ", ".join(f"{k}={v}" for k, v in _config_values(config).items())
        click.echo(f"  {config.name}: {shown}" + (f"  -- {config.note}" if config.note else ""))
    limits = problem.limits
    click.echo(f"\nLimits: {limits.wall_s:g} s wall, {limits.cpu_s:g} s CPU, {limits.memory_mb} MiB memory, "
               f"{limits.processes} processes, no network")
    click.echo(f"\nRubric {rubric.id} ({rubric.max_score:g} points):")
    for item in rubric.items:
        click.echo(f"  {item.id:26s} {item.points:5g}  {item.title}" +
                   ("" if item.visibility == "visible" else f"  [{item.visibility}]"))


@problems_group.command("validate")
@click.argument("problems", nargs=-1, required=True)
@click.option("--self-test", "run_self_test", is_flag=True,
              help="Also grade the pack's solution on secret seeds, synthesise each catalogued mistake, and grade "
                   "its corpus against expected.yaml.")
@click.option("--seeds", default=5, show_default=True, type=click.IntRange(1, 1000),
              help="Secret seeds the solution is graded on.")
@click.option("--corpus", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A corpus directory with expected.yaml (default: the pack's own corpus/).")
@click.option("--runner", "runner_name", default="local", show_default=True,
              help=f"Runner for the solution and the corpus: {', '.join(runner_names())}.")
@_problems_dir_option
def problems_validate(problems: tuple[str, ...], run_self_test: bool, seeds: int, corpus: Path | None,
                      runner_name: str, problems_dirs: tuple[Path, ...]) -> None:
    """Validate problems given by id, pack directory or problem file; errors name the file and field.

    Exit status 0 when every problem is valid (and passes its self-test), 2 when a file is invalid, 4 when a
    self-test fails.
    """
    extra = [Path(p).parent for p in problems if Path(p).is_file() and Path(p).name != "problem.yaml"]
    registry = PackRegistry([*problems_dirs, *dict.fromkeys(extra)])
    invalid = failed = 0
    for name in problems:
        try:
            pack = registry.load(name)
        except (ProblemFileError, ReferenceLoadError) as exc:
            invalid += 1
            click.echo(str(exc), err=True)
            continue
        errors = cross_references(pack)
        if errors:
            invalid += 1
            click.echo(f"{pack.origin}: invalid pack:\n" + "\n".join(f"  {e}" for e in errors), err=True)
            continue
        click.echo(f"{name}: ok ({pack.origin})")
        if run_self_test:
            with create_runner(runner_name) as runner:
                report = self_test(pack, runner, seeds=seeds, corpus=corpus,
                                   progress=lambda line: click.echo(f"  {line}"))
            failed += not report.ok
            click.echo(f"{name}: self-test {'passed' if report.ok else 'FAILED'} "
                       f"({sum(f.ok for f in report.findings)} of {len(report.findings)} checks)")
    if invalid:
        sys.exit(int(ExitCode.USAGE_ERROR))
    if failed:
        sys.exit(int(ExitCode.SELF_TEST_FAILED))


@problems_group.command("new")
@click.argument("problem_id")
@click.option("--kind", type=click.Choice(KINDS), required=True, help="What the candidate writes.")
@click.option("--dir", "parent", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where the pack's directory is created (a --problems-dir).")
def problems_new(problem_id: str, kind: str, parent: Path) -> None:
    """Create a working pack to edit: problem.yaml, rubric.yaml, reference.py, solution.py and a corpus."""
    try:
        target = scaffold(problem_id, kind, parent)
    except ScaffoldError as exc:
        _fail(str(exc), ExitCode.USAGE_ERROR)
    click.echo(f"created {target}; try: harness problems validate {target} --self-test")


main.add_command(export_group)
main.add_command(autograder_group)
main.add_command(publish_group)
main.add_command(render_command)
main.add_command(check_command)
main.add_command(similarity_command)
