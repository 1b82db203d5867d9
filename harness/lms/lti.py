"""LTI 1.3 Assignment and Grade Services: post a graded batch's scores to a platform's gradebook column.

``publish_lti`` reads ``DIR/scorecards/*.json`` (the file name is the student id), maps each student to their LTI
user id with ``platform.toml``'s users, fetches an access token for the score scope (``_lti_token.py``) and POSTs
one AGS score per student to ``{lineitem}/scores`` (``_lti_score.py``), with retries (``_lti_http.py``).

What is not published, and why it is decided so:

- a scorecard whose status is ``internal_error`` (the grader failed, not the student): posting its score would
  record a grade the student did not earn; it is skipped with that reason;
- a student with no user id in the map, or a scorecard with no points available: skipped with the reason.

Everything else is posted first; a skipped student then makes the exit code 2 (the input is incomplete), a failed
post 1 (which wins: it may pass on a rerun). Each accepted score is journaled (``_lti_journal.py``): a later run
posts only the students whose posted score, comment or user id would differ, or who failed; ``force`` posts all.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from ..batch.journal import SCORECARD_DIR
from ..exit_codes import ExitCode
from ..models import Scorecard
from ..reporters._safe_text import printable
from ._lti_http import DeliveryError, RetryingClient, RetryPolicy, Transport, urllib_transport
from ._lti_journal import JOURNAL_NAME, PublishedScore, PublishJournal
from ._lti_score import SCORE_MEDIA_TYPE, ScoreBody, score_comment, score_points, scores_url, timestamp_now
from ._lti_token import LtiCredentialsError, TokenSource
from .lti_platform import SCORE_SCOPE, PlatformConfig, PlatformConfigError, read_platform

__all__ = [
    "JOURNAL_NAME", "SCORE_SCOPE", "GradesDirError", "LtiCredentialsError", "PlatformConfig", "PlatformConfigError",
    "PublishReport", "RetryPolicy", "StudentOutcome", "publish_lti", "read_platform", "tool_jwks",
]

Outcome = Literal["published", "would_publish", "unchanged", "skipped", "failed"]


class GradesDirError(ValueError):
    """The grades directory holds no scorecards, or one that cannot be read; the message names the file."""


@dataclass(frozen=True)
class StudentOutcome:
    """What happened to one student's score."""

    student: str
    outcome: Outcome
    user_id: str | None = None
    score_given: float | None = None
    score_maximum: float | None = None
    comment: str = ""
    reason: str = ""
    """Why it was skipped or failed (the platform's message, bounded)."""

    def line(self) -> str:
        """One line for the terminal; the student id is escaped (it comes from a file name)."""
        who = printable(self.student)
        points = f"{self.score_given:g}/{self.score_maximum:g}" if self.score_given is not None else ""
        user = printable(repr(self.user_id))
        return {
            "published": f"published      {who} -> {user}: {points}",
            "would_publish": f"would publish  {who} -> {user}: {points}: {self.comment}",
            "unchanged": f"unchanged      {who}: {points} already published",
            "skipped": f"skipped        {who}: {self.reason}",
            "failed": f"FAILED         {who}: {self.reason}",
        }[self.outcome]


@dataclass
class PublishReport:
    """Every student's outcome, in student order."""

    outcomes: list[StudentOutcome] = field(default_factory=list)
    dry_run: bool = False

    def of(self, outcome: Outcome) -> list[StudentOutcome]:
        """The students with that outcome."""
        return [entry for entry in self.outcomes if entry.outcome == outcome]

    @property
    def published(self) -> list[StudentOutcome]:
        """Posted and accepted in this run (or, in a dry run, those that would be posted)."""
        return self.of("would_publish" if self.dry_run else "published")

    @property
    def unchanged(self) -> list[StudentOutcome]:
        """Already published with the same score."""
        return self.of("unchanged")

    @property
    def skipped(self) -> list[StudentOutcome]:
        """Not posted: internal_error, no user id, no points available."""
        return self.of("skipped")

    @property
    def failed(self) -> list[StudentOutcome]:
        """Posted, and refused or unanswered after every retry."""
        return self.of("failed")

    @property
    def exit_code(self) -> int:
        """1 when a post failed, else 2 when a student was skipped, else 0."""
        if self.failed:
            return int(ExitCode.INTERNAL_ERROR)
        return int(ExitCode.USAGE_ERROR) if self.skipped else int(ExitCode.OK)

    def summary(self) -> str:
        """``3 published, 1 unchanged, 1 skipped, 0 failed``."""
        verb = "would be published" if self.dry_run else "published"
        return (f"{len(self.published)} {verb}, {len(self.unchanged)} unchanged, {len(self.skipped)} skipped, "
                f"{len(self.failed)} failed")


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def tool_jwks(platform: PlatformConfig) -> dict[str, Any]:
    """The tool's public key as a JWK set, for the platform's registration of the tool (nothing secret in it)."""
    numbers = platform.load_private_key().public_key().public_numbers()
    key = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": platform.key_id, "n": _b64(numbers.n),
           "e": _b64(numbers.e)}
    return {"keys": [key]}


@dataclass(frozen=True)
class _Graded:
    student: str
    card: Scorecard
    sha256: str


def _read_scorecards(grades_dir: Path) -> list[_Graded]:
    folder = grades_dir / SCORECARD_DIR
    if not folder.is_dir():
        raise GradesDirError(f"{grades_dir}: no {SCORECARD_DIR}/ folder; give the --out folder of `harness batch`")
    graded = []
    for path in sorted(folder.glob("*.json")):
        try:
            raw = path.read_bytes()
            card = Scorecard.model_validate_json(raw)
        except OSError as exc:
            raise GradesDirError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            raise GradesDirError(f"{path}: not a scorecard ({'.'.join(map(str, first['loc']))}: "
                                 f"{first['msg']})") from exc
        graded.append(_Graded(path.stem, card, hashlib.sha256(raw).hexdigest()))
    if not graded:
        raise GradesDirError(f"{folder}: holds no scorecards (*.json)")
    return graded


class _NoToken(Exception):
    """The token endpoint never answered: no score can be posted in this run."""


class _Poster:
    """Posts scores to one line item with one token source."""

    def __init__(self, platform: PlatformConfig, client: RetryingClient) -> None:
        self.url = scores_url(platform.lineitem)
        self.client = client
        self.tokens = TokenSource(platform, client)

    def _token(self) -> str:
        try:
            return self.tokens.token()
        except DeliveryError as exc:
            raise _NoToken(f"no access token: {exc}") from exc

    def post(self, body: ScoreBody) -> str | None:
        """None when the platform accepted the score, else why not; a 401 gets one fresh token."""
        data = body.json_bytes(timestamp_now())  # one timestamp for every retry: a resend is the same update
        for refreshed in (False, True):
            headers = {"Authorization": f"Bearer {self._token()}", "Content-Type": SCORE_MEDIA_TYPE,
                       "Accept": "application/json"}
            try:
                reply = self.client.post(self.url, lambda: data, headers)
            except DeliveryError as exc:
                return str(exc)
            if reply.status == 401 and not refreshed:
                self.tokens.invalidate()
                continue
            break
        if 200 <= reply.status < 300:
            return None
        return f"the platform answered {reply.status}: {reply.message()}"


def _plan(graded: _Graded, platform: PlatformConfig, users: dict[str, str]) -> StudentOutcome | ScoreBody:
    """The score to post for a student, or why none is."""
    if graded.card.status == "internal_error":
        return StudentOutcome(graded.student, "skipped", reason="not published: the grader failed on this "
                              "submission (internal_error); grade it again first")
    user_id = users.get(graded.student)
    if user_id is None:
        return StudentOutcome(graded.student, "skipped", reason="no LTI user id for this student in "
                              "platform.toml (users or users_csv)")
    try:
        given, maximum = score_points(graded.card, platform.score_maximum)
    except ValueError as exc:
        return StudentOutcome(graded.student, "skipped", user_id=user_id, reason=str(exc))
    return ScoreBody(user_id, given, maximum, score_comment(graded.card, given, maximum))


def _outcome(graded: _Graded, body: ScoreBody, outcome: Outcome, reason: str = "") -> StudentOutcome:
    return StudentOutcome(graded.student, outcome, body.user_id, body.score_given, body.score_maximum,
                          body.comment, reason)


class _Publication:
    """One run over a batch: decides each student's outcome and posts what has to be posted."""

    def __init__(self, grades_dir: Path, platform: PlatformConfig, client: RetryingClient, *, dry_run: bool,
                 force: bool) -> None:
        self.platform = platform
        self.client = client
        self.dry_run = dry_run
        self.force = force
        self.users = platform.user_map()
        self.journal = PublishJournal(grades_dir)
        self.latest = self.journal.latest()
        self.poster: _Poster | None = None  # made at the first post: a run with nothing to post fetches no token
        self.no_token: str | None = None

    def student(self, graded: _Graded) -> StudentOutcome:
        """What happens to this student's score, posting it when it has to be."""
        planned = _plan(graded, self.platform, self.users)
        if isinstance(planned, StudentOutcome):
            return planned
        previous = self.latest.get((self.platform.lineitem, graded.student))
        if not self.force and previous is not None and previous.content_sha256 == planned.content_sha256():
            return _outcome(graded, planned, "unchanged")
        if self.dry_run:
            return _outcome(graded, planned, "would_publish")
        return self._post(graded, planned)

    def _post(self, graded: _Graded, planned: ScoreBody) -> StudentOutcome:
        if self.no_token is not None:
            return _outcome(graded, planned, "failed", self.no_token)
        self.poster = self.poster or _Poster(self.platform, self.client)
        try:
            refused = self.poster.post(planned)
        except _NoToken as exc:
            self.no_token = refused = str(exc)
        if refused is not None:
            return _outcome(graded, planned, "failed", refused)
        self.journal.record(PublishedScore(self.platform.lineitem, graded.student, planned.user_id, graded.sha256,
                                           planned.score_given, planned.score_maximum, planned.content_sha256(),
                                           timestamp_now()))
        return _outcome(graded, planned, "published")


def publish_lti(grades_dir: Path, platform: PlatformConfig, *, dry_run: bool = False, force: bool = False,
                progress: Callable[[StudentOutcome], None] | None = None, retry: RetryPolicy | None = None,
                transport: Transport = urllib_transport, sleep: Callable[[float], None] = time.sleep
                ) -> PublishReport:
    """Publish the scores of the batch in ``grades_dir`` to ``platform``'s line item; ``progress`` sees each outcome.

    ``dry_run``: decide everything, post nothing, fetch no token, journal nothing. ``force``: post even the
    unchanged. ``retry``, ``transport`` and ``sleep`` are for tests and patient callers. GradesDirError or
    PlatformConfigError on bad input; LtiCredentialsError when the platform refuses the tool's credentials (the
    scores it accepted before that stay journaled).
    """
    graded_batch = _read_scorecards(grades_dir)
    client = RetryingClient(transport, retry or RetryPolicy(), platform.timeout_s, sleep)
    run = _Publication(grades_dir, platform, client, dry_run=dry_run, force=force)
    report = PublishReport(dry_run=dry_run)
    for graded in graded_batch:
        entry = run.student(graded)
        report.outcomes.append(entry)
        if progress is not None:
            progress(entry)
    return report
