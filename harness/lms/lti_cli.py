"""``harness publish``: send a graded batch's scores to an LMS; ``lti`` posts them by LTI 1.3 AGS.

The commands only parse options, call ``harness.lms.lti`` and print what it reports; they import it when run, so
``harness --help`` does not load the JWT and crypto libraries.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click

from ..exit_codes import ExitCode
from ..reporters._safe_text import printable

LTI_EXIT_CODES_HELP = (
    "Exit codes: 0 every score published or unchanged; 1 a post failed after its retries (run again: only what "
    "is not published yet is posted); 2 bad platform.toml, grades folder or credentials, or a student skipped "
    "(no LTI user id, internal_error scorecard), reported after the others were published."
)

_platform_option = click.option(
    "--platform", "platform_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="The platform.toml naming the platform's registration of the tool, its token URL and the line item.")


def _fail(message: str, code: ExitCode) -> NoReturn:
    click.echo(f"harness: error: {printable(message)}", err=True)
    sys.exit(int(code))


@click.group("publish")
def publish_group() -> None:
    """Send a graded batch's scores to an LMS gradebook."""


@publish_group.command("lti", epilog=LTI_EXIT_CODES_HELP)
@click.argument("grades_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_platform_option
@click.option("--dry-run", is_flag=True, help="Print what would be posted; post nothing, fetch no token.")
@click.option("--force", is_flag=True, help="Post every score again, even those already published unchanged.")
def publish_lti_command(grades_dir: Path, platform_path: Path, dry_run: bool, force: bool) -> None:
    """Post the scores of GRADES_DIR (the --out of `harness batch`) to an LTI 1.3 line item (AGS scores)."""
    from .lti import GradesDirError, LtiCredentialsError, PlatformConfigError, publish_lti, read_platform

    try:
        platform = read_platform(platform_path)
        report = publish_lti(grades_dir, platform, dry_run=dry_run, force=force,
                             progress=lambda entry: click.echo(entry.line()))
    except (PlatformConfigError, GradesDirError, LtiCredentialsError) as exc:
        _fail(str(exc), ExitCode.USAGE_ERROR)
    click.echo(report.summary() + (" (dry run: nothing was posted)" if dry_run else ""))
    sys.exit(report.exit_code)


@publish_group.command("lti-jwks")
@_platform_option
def publish_lti_jwks_command(platform_path: Path) -> None:
    """Print the tool's public key as a JWK set, to register on the platform (it holds nothing secret)."""
    from .lti import PlatformConfigError, read_platform, tool_jwks

    try:
        platform = read_platform(platform_path)
    except PlatformConfigError as exc:
        _fail(str(exc), ExitCode.USAGE_ERROR)
    click.echo(json.dumps(tool_jwks(platform), indent=2))
