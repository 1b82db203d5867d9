"""The documented take-home workflows: their structure, and every `harness ...` line in them against the real CLI."""

from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

import harness.cli
from harness.reporters.render_command import render_command
from tests.lms.support_reports import junit_schema, scorecard
from tests.support import ROOT

EXAMPLES = ROOT / "examples" / "github-actions"
FEEDBACK = EXAMPLES / "grade.yml"
PANEL = EXAMPLES / "panel_batch.yml"
DOC = ROOT / "docs" / "take_home.md"
_SHELL_OPERATORS = {">", ">>", "<", "|", "||", "&&", ";", "&", "2>", "2>&1"}


def workflow(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def triggers(flow: dict) -> dict:
    return flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` key as the boolean true


def steps(flow: dict) -> list[dict]:
    return [step for job in flow["jobs"].values() for step in job["steps"]]


def cli() -> click.Group:
    """The real CLI, with `render` attached the way the lead will attach it when it is not yet."""
    if "render" in harness.cli.main.commands:
        return harness.cli.main
    return click.Group("harness", commands={**harness.cli.main.commands, "render": render_command})


def harness_lines(script: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", script)
    return [line.strip() for line in joined.splitlines() if line.strip().startswith("harness ")]


def split(line: str) -> tuple[list[str], str | None]:
    """The arguments of a `harness ...` line up to the first shell operator, and the file `>>` appends to."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    tokens = list(lexer)
    cut = next((i for i, token in enumerate(tokens) if token in _SHELL_OPERATORS), len(tokens))
    appended = tokens[cut + 1] if cut + 1 < len(tokens) and tokens[cut] == ">>" else None
    return tokens[1:cut], appended


def parse(args: list[str]) -> click.Context:
    """Parse (without running) ``harness ARGS``: unknown commands, options and bad choices raise click errors."""
    group: click.Command = cli()
    parent = click.Context(group, info_name="harness")
    rest = list(args)
    while isinstance(group, click.Group):
        name = rest.pop(0)
        command = group.get_command(parent, name)
        if command is None:
            raise click.UsageError(f"no command {name!r} in `harness {' '.join(args)}`")
        context = command.make_context(name, rest, parent=parent)
        if not isinstance(command, click.Group):
            return context
        group, parent, rest = command, context, [*context._protected_args, *context.args]
    raise AssertionError("unreachable")


def documented_lines() -> list[str]:
    lines = [line for path in (FEEDBACK, PANEL) for step in steps(workflow(path)) for line in
             harness_lines(step.get("run", ""))]
    for block in re.findall(r"```(?:bash|sh|yaml)\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S):
        lines += harness_lines(re.sub(r"^\s*- ", "", block, flags=re.M))
    # Inline mentions that are whole commands (`harness grade` alone is prose naming the command).
    lines += [line for line in re.findall(r"`(harness [^`]+)`", DOC.read_text(encoding="utf-8"))
              if len(line.split()) > 2]
    return lines


def test_feedback_workflow_structure():
    flow = workflow(FEEDBACK)
    assert {"push", "pull_request"} <= set(triggers(flow))
    assert flow["permissions"] == {"contents": "read", "checks": "write"}
    all_steps = steps(flow)
    python = next(s for s in all_steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert python["with"]["python-version"] == "3.11"  # a string: an unquoted 3.10 would be read as 3.1
    runs = [s.get("run", "") for s in all_steps]
    torch_at = next(i for i, run in enumerate(runs) if "download.pytorch.org/whl/cpu" in run)
    grader_at = next(i for i, run in enumerate(runs) if "GRADER_WHEEL_URL" in run)
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in runs[torch_at]
    assert torch_at < grader_at  # torch from the CPU index first, so the grader's requirement is already met
    report = next(s for s in all_steps if s.get("uses", "").startswith("mikepenz/action-junit-report@"))
    assert report["with"]["report_paths"] == "report.xml" and "always()" in report["if"]
    upload = next(s for s in all_steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "report.xml"
    lines = [split(line) for run in runs for line in harness_lines(run)]
    assert (["grade", "solution.py", "--problem", "mhsa", "--runner", "local", "--out", "card.json"], None) in lines
    assert (["render", "card.json", "--format", "junit", "--out", "report.xml"], None) in lines
    assert (["render", "card.json", "--format", "markdown"], "$GITHUB_STEP_SUMMARY") in lines


@pytest.mark.parametrize("path", [FEEDBACK, PANEL], ids=lambda p: p.name)
def test_no_expression_is_pasted_into_a_script(path):
    """`${{ }}` inside `run:` is text substitution into the shell: a secret or an input would become code."""
    for step in steps(workflow(path)):
        assert "${{" not in step.get("run", ""), step.get("name")


def test_the_card_with_everything_is_never_uploaded_by_the_feedback_run():
    uploads = [s for s in steps(workflow(FEEDBACK)) if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploads and all("card.json" not in step["with"]["path"] for step in uploads)


def test_the_panel_run_is_started_by_the_panel_only():
    assert set(triggers(workflow(PANEL))) == {"workflow_dispatch"}
    assert workflow(PANEL)["permissions"] == {"contents": "read"}


def test_every_documented_harness_command_parses(monkeypatch, tmp_path):
    lines = documented_lines()
    monkeypatch.chdir(tmp_path)
    # Commands that read a folder want it to exist: `harness batch SOURCE`, `harness report GRADES_DIR`.
    for folder in ("submissions", "results"):
        (tmp_path / folder).mkdir()
    assert len(lines) >= 8
    for line in lines:
        args, _ = split(line)
        parse(args)  # raises click.UsageError / NoSuchOption / BadParameter when a command has rotted


def test_the_parser_catches_a_rotten_command():
    assert parse(["problems", "list"]).info_name == "list"  # through a nested group
    with pytest.raises(click.ClickException):
        parse(["problems", "lsit"])
    with pytest.raises(click.ClickException):
        parse(["grade", "solution.py", "--problem", "mhsa", "--formt", "junit"])
    with pytest.raises(click.ClickException):
        parse(["render", "card.json", "--format", "pdf"])


def test_the_feedback_steps_run_end_to_end(monkeypatch, tmp_path):
    """The grade and render lines of grade.yml, in order, with `grade` returning a prebuilt scorecard."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(harness.cli, "grade", lambda *args, **kwargs: scorecard())
    Path("solution.py").write_text("class MultiHeadSelfAttention: ...\n")
    summary = tmp_path / "step_summary.md"
    environment = {"GITHUB_STEP_SUMMARY": str(summary)}
    ran = 0
    for step in steps(workflow(FEEDBACK)):
        for line in harness_lines(step.get("run", "")):
            args, appended = split(line)
            if args[0] == "doctor":
                continue  # inspects this machine; parsed by the test above
            result = CliRunner().invoke(cli(), args, env=environment)
            assert result.exit_code == 0, (line, result.output)
            if appended:
                Path(environment[appended.lstrip("$")]).open("a", encoding="utf-8").write(result.stdout)
            ran += 1
    assert ran == 3
    junit_schema().validate(Path("report.xml").read_text(encoding="utf-8"))
    assert ET.parse("report.xml").getroot().find("testsuite").get("tests") == "5"
    assert summary.read_text(encoding="utf-8").startswith("## mhsa v1\\.0: ")


def test_render_reports_a_bad_scorecard_file(tmp_path):
    bad = tmp_path / "card.json"
    bad.write_text('{"status": "graded"}')
    result = CliRunner().invoke(render_command, [str(bad), "--format", "junit"])
    assert result.exit_code == 2
    assert f"{bad}: not a scorecard: " in result.output
    missing = CliRunner().invoke(render_command, [str(tmp_path / "none.json")])
    assert missing.exit_code == 2 and "cannot read the scorecard" in missing.output
