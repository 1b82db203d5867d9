"""LTI 1.3 AGS publishing against a strict platform on 127.0.0.1 (tests/lms/lti_platform.py)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from harness.lms._lti_http import RetryPolicy
from harness.lms._lti_journal import PublishJournal
from harness.lms._lti_score import COMMENT_LIMIT, score_comment
from harness.lms._lti_token import client_assertion
from harness.lms.lti import JOURNAL_NAME, PublishReport, publish_lti, read_platform, tool_jwks
from harness.lms.lti_cli import publish_group
from harness.models import Scorecard
from tests.lms.lti_platform import ASSERTION_TYPE, SCORE_SCOPE, LtiTestPlatform
from tests.lms.support_reports import item, scorecard

USERS = {"alice": "lti-user-a1", "bob": "lti-user-b2", "carol": "lti-user-c3"}
FAST = RetryPolicy(attempts=3, base_delay_s=0.001, max_delay_s=0.01)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tool's key and a second one it is not registered with, as PEM files."""
    folder = tmp_path_factory.mktemp("keys")
    paths = {}
    for name in ("tool", "other"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        paths[name] = folder / f"{name}.pem"
        paths[name].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return paths


def write_toml(folder: Path, lines: list[str]) -> Path:
    path = folder / "platform.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def toml_lines(platform: LtiTestPlatform | None, key: Path, users: dict[str, str] | None = None,
               skip: str = "", extra: tuple[str, ...] = ()) -> list[str]:
    """A platform.toml for ``platform`` (placeholder URLs when None) signing with ``key``."""
    base = platform.base_url if platform else "http://127.0.0.1:9"
    fields = {"issuer": "https://platform.example", "client_id": "tool-client-1", "deployment_id": "deployment-1",
              "token_url": platform.token_url if platform else f"{base}/token", "private_key": str(key),
              "key_id": "tool-key-2026", "lineitem": platform.lineitem_url if platform else f"{base}/line_items/1"}
    lines = [f"{name} = {json.dumps(value)}" for name, value in fields.items() if name != skip]
    lines += list(extra)
    lines += ["[users]"] + [f"{json.dumps(s)} = {json.dumps(u)}" for s, u in (users or USERS).items()]
    return lines


def registered_jwks(key: Path, tmp: Path) -> dict[str, Any]:
    """What an instructor registers on the platform: the output of `harness publish lti-jwks`."""
    (tmp / "jwks").mkdir()
    path = write_toml(tmp / "jwks", toml_lines(None, key))
    result = CliRunner().invoke(cli(), ["publish", "lti-jwks", "--platform", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def cli() -> click.Group:
    group = click.Group("harness")
    group.add_command(publish_group)
    return group


def cards() -> dict[str, Scorecard]:
    return {
        "alice": scorecard([item("shapes", "passed"), item("scaling", "passed")]),
        "bob": scorecard([item("shapes", "passed"), item("scaling", "failed", feedback="SECRET-feedback boom"),
                          item("mask", "error"), item("secret_check", "failed", visibility="hidden")]),
        "carol": scorecard([item("shapes", "partial"), item("scaling", "skipped")]),
    }


def write_cards(grades: Path, batch: dict[str, Scorecard]) -> Path:
    (grades / "scorecards").mkdir(parents=True, exist_ok=True)
    for student, card in batch.items():
        (grades / "scorecards" / f"{student}.json").write_text(card.model_dump_json(indent=2), encoding="utf-8")
    return grades


@pytest.fixture
def platform(keys: dict[str, Path], tmp_path: Path):
    students = set(USERS.values()) | {"lti-user-d4"}
    with LtiTestPlatform(registered_jwks(keys["tool"], tmp_path), users=students) as served:
        yield served


@pytest.fixture
def config_path(platform: LtiTestPlatform, keys: dict[str, Path], tmp_path: Path) -> Path:
    return write_toml(tmp_path, toml_lines(platform, keys["tool"]))


@pytest.fixture
def grades(tmp_path: Path) -> Path:
    return write_cards(tmp_path / "grades", cards())


def publish(grades: Path, config_path: Path, **options: Any) -> tuple[PublishReport, list[float]]:
    sleeps: list[float] = []
    report = publish_lti(grades, read_platform(config_path), retry=FAST, sleep=sleeps.append, **options)
    return report, sleeps


def journal_lines(grades: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (grades / JOURNAL_NAME).read_text().splitlines()]


def test_publish_posts_exactly_the_scores(platform: LtiTestPlatform, config_path: Path, grades: Path) -> None:
    result = CliRunner().invoke(cli(), ["publish", "lti", str(grades), "--platform", str(config_path)])
    assert result.exit_code == 0, result.output
    assert "3 published, 0 unchanged, 0 skipped, 0 failed" in result.output
    posted = {score["userId"]: score for score in platform.scores}
    assert {user: (s["scoreGiven"], s["scoreMaximum"]) for user, s in posted.items()} == {
        "lti-user-a1": (10.0, 10.0), "lti-user-b2": (5.0, 20.0), "lti-user-c3": (2.5, 10.0)}
    assert all(s["activityProgress"] == "Completed" and s["gradingProgress"] == "FullyGraded" for s in posted.values())
    assert all(s["timestamp"].endswith("+00:00") for s in posted.values())
    bob = posted["lti-user-b2"]["comment"]
    assert bob == "5/20 points (graded). Not passed: Title of scaling; Title of mask (error)."
    assert "SECRET" not in json.dumps(platform.scores) and "secret_check" not in bob
    assert platform.state.token_requests == 1  # one token, kept for every post
    assert [line["student"] for line in journal_lines(grades)] == ["alice", "bob", "carol"]


def test_second_run_sends_nothing(platform: LtiTestPlatform, config_path: Path, grades: Path) -> None:
    publish(grades, config_path)
    before = len(platform.requests)
    report, _ = publish(grades, config_path)
    assert [e.outcome for e in report.outcomes] == ["unchanged"] * 3 and report.exit_code == 0
    assert len(platform.requests) == before  # not even a token request


def test_only_a_changed_score_is_posted_again(platform: LtiTestPlatform, config_path: Path, grades: Path) -> None:
    publish(grades, config_path)
    batch = cards()
    write_cards(grades, {"bob": batch["bob"].model_copy(update={"score": 15.0}),
                         # graded again with the same result: the file differs, the posted score does not
                         "alice": batch["alice"].model_copy(update={"grading_s": 99.0})})
    report, _ = publish(grades, config_path)
    assert {e.student: e.outcome for e in report.outcomes} == {
        "alice": "unchanged", "bob": "published", "carol": "unchanged"}
    assert [(s["userId"], s["scoreGiven"]) for s in platform.scores[3:]] == [("lti-user-b2", 15.0)]


def test_force_posts_everything_again(platform: LtiTestPlatform, config_path: Path, grades: Path) -> None:
    publish(grades, config_path)
    report, _ = publish(grades, config_path, force=True)
    assert len(report.published) == 3 and len(platform.scores) == 6


def test_429_is_retried_after_retry_after(platform: LtiTestPlatform, config_path: Path, grades: Path) -> None:
    platform.fail("score", 429, times=2, retry_after="2")
    report, sleeps = publish(grades, config_path)
    assert len(report.published) == 3 and len(platform.scores) == 3
    assert sleeps == [2.0, 2.0]  # the platform's Retry-After, longer than the tiny backoff, was honoured
    assert [path for method, path in platform.requests].count(platform.scores_url[len(platform.base_url):]) == 5


def test_503_exhausted_fails_that_student_only(platform: LtiTestPlatform, config_path: Path, grades: Path) -> None:
    platform.fail("score", 503, times=3)
    report, sleeps = publish(grades, config_path)
    assert [(e.student, e.outcome) for e in report.outcomes] == [
        ("alice", "failed"), ("bob", "published"), ("carol", "published")]
    assert "503" in report.outcomes[0].reason and report.exit_code == 1
    assert len(sleeps) == 2 and all(0 < s <= 0.01 for s in sleeps)
    assert [line["student"] for line in journal_lines(grades)] == ["bob", "carol"]
    again, _ = publish(grades, config_path)
    assert [e.outcome for e in again.outcomes] == ["published", "unchanged", "unchanged"]


def test_expired_token_is_refreshed_once(platform: LtiTestPlatform, config_path: Path, grades: Path) -> None:
    platform.state.revoke_after_scores = 1
    report, _ = publish(grades, config_path)
    assert len(report.published) == 3 and platform.state.token_requests == 2


def test_a_signature_the_platform_cannot_verify_is_a_clear_error(
        platform: LtiTestPlatform, keys: dict[str, Path], tmp_path: Path, grades: Path) -> None:
    wrong_key = write_toml(tmp_path, toml_lines(platform, keys["other"]))
    result = CliRunner().invoke(cli(), ["publish", "lti", str(grades), "--platform", str(wrong_key)])
    assert result.exit_code == 2
    assert "refused the tool's credentials (401: invalid_client: the assertion's signature does not verify" \
        in result.output
    assert "kid 'tool-key-2026'" in result.output
    assert platform.scores == [] and not (grades / JOURNAL_NAME).exists()


def test_the_platform_refuses_a_replayed_assertion(platform: LtiTestPlatform, config_path: Path) -> None:
    config = read_platform(config_path)
    assertion = client_assertion(config, config.load_private_key(), time.time())
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
                                   "client_assertion": assertion, "scope": SCORE_SCOPE}).encode()
    request = urllib.request.Request(platform.token_url, data=form, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=5) as first:
        assert json.load(first)["scope"] == SCORE_SCOPE
    with pytest.raises(urllib.error.HTTPError) as replay:
        urllib.request.urlopen(request, timeout=5)
    assert replay.value.code == 401 and b"replayed" in replay.value.read()


def test_dry_run_posts_nothing(platform: LtiTestPlatform, config_path: Path, grades: Path) -> None:
    result = CliRunner().invoke(cli(), ["publish", "lti", str(grades), "--platform", str(config_path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would publish  bob -> 'lti-user-b2': 5/20: 5/20 points (graded). Not passed:" in result.output
    assert "3 would be published" in result.output
    assert platform.requests == [] and not (grades / JOURNAL_NAME).exists()


def test_unmapped_student_is_reported_after_the_others(platform: LtiTestPlatform, config_path: Path,
                                                        grades: Path) -> None:
    write_cards(grades, {"erin": scorecard([item("shapes")])})
    result = CliRunner().invoke(cli(), ["publish", "lti", str(grades), "--platform", str(config_path)])
    assert result.exit_code == 2
    assert "skipped        erin: no LTI user id" in result.output and "3 published" in result.output
    assert len(platform.scores) == 3


def test_internal_error_scorecard_is_never_published(platform: LtiTestPlatform, keys: dict[str, Path],
                                                      tmp_path: Path, grades: Path) -> None:
    write_cards(grades, {"dave": scorecard([item("shapes", "error")], status="internal_error")})
    users = {**USERS, "dave": "lti-user-d4"}
    report, _ = publish(grades, write_toml(tmp_path, toml_lines(platform, keys["tool"], users)))
    dave = next(e for e in report.outcomes if e.student == "dave")
    assert dave.outcome == "skipped" and "internal_error" in dave.reason and report.exit_code == 2
    assert "lti-user-d4" not in {s["userId"] for s in platform.scores}


def test_redirect_to_another_host_never_gets_the_token(keys: dict[str, Path], tmp_path: Path,
                                                        platform: LtiTestPlatform, config_path: Path,
                                                        grades: Path) -> None:
    with LtiTestPlatform({"keys": []}, users=set()) as elsewhere:
        platform.state.redirect_scores_to = elsewhere.scores_url
        report, _ = publish(grades, config_path)
        assert elsewhere.requests == []
    assert all(e.outcome == "failed" and "another origin" in e.reason for e in report.outcomes)


def test_rescaled_maximum(platform: LtiTestPlatform, keys: dict[str, Path], tmp_path: Path, grades: Path) -> None:
    path = write_toml(tmp_path, toml_lines(platform, keys["tool"], extra=("score_maximum = 100",)))
    publish(grades, path)
    assert {(s["scoreGiven"], s["scoreMaximum"]) for s in platform.scores} == {(100.0, 100.0), (25.0, 100.0)}


def test_a_torn_journal_line_is_posted_again(platform: LtiTestPlatform, config_path: Path, grades: Path) -> None:
    publish(grades, config_path)
    journal = grades / JOURNAL_NAME
    journal.write_text(journal.read_text()[:-40])  # killed while writing carol's line
    report, _ = publish(grades, config_path)
    assert [e.outcome for e in report.outcomes] == ["unchanged", "unchanged", "published"]
    lines = journal.read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[-1])["student"] == "carol"  # the append did not extend the torn line
    assert set(PublishJournal(grades).latest()) == {(read_platform(config_path).lineitem, s) for s in USERS}


@pytest.mark.parametrize(("change", "expected"), [
    ({"skip": "client_id"}, "platform.toml: client_id: Field required"),
    ({"extra": ('lineitem2 = "x"',)}, "platform.toml: lineitem2: Extra inputs are not permitted"),
    ({"extra": ("timeout_s = -1",)}, "platform.toml: timeout_s: Input should be greater than 0"),
    ({"extra": ("score_maximum = 0",)}, "platform.toml: score_maximum:"),
    ({"extra": ('users_csv = "users.csv"',)}, "users.csv: line 3: give both a student and a user_id"),
])
def test_config_errors_name_the_file_and_field(platform: LtiTestPlatform, keys: dict[str, Path], tmp_path: Path,
                                               grades: Path, change: dict[str, Any], expected: str) -> None:
    (tmp_path / "users.csv").write_text("student,user_id\nzoe,lti-z\nyan,\n")
    path = write_toml(tmp_path, toml_lines(platform, keys["tool"], **change))
    result = CliRunner().invoke(cli(), ["publish", "lti", str(grades), "--platform", str(path)])
    assert result.exit_code == 2 and expected in result.output, result.output
    assert platform.requests == []


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("lineitem", "http://lms.example/line_items/1", "lineitem: Value error, 'http://lms.example/line_items/1': use"),
    ("token_url", "ftp://x", "token_url: Value error, 'ftp://x' is not an http(s) URL"),
    ("private_key", "missing.pem", "private_key: "),
])
def test_bad_urls_and_keys(platform: LtiTestPlatform, keys: dict[str, Path], tmp_path: Path, field: str,
                           value: str, expected: str) -> None:
    lines = [f"{field} = {json.dumps(value)}" if line.startswith(f"{field} =") else line
             for line in toml_lines(platform, keys["tool"])]
    with pytest.raises(ValueError, match="platform.toml: ") as error:
        read_platform(write_toml(tmp_path, lines))
    assert expected in str(error.value)


def test_tool_jwks_holds_only_the_public_key(config_path: Path) -> None:
    (key,) = tool_jwks(read_platform(config_path))["keys"]
    assert set(key) == {"kty", "alg", "use", "kid", "n", "e"} and key["kid"] == "tool-key-2026"


def test_comment_is_bounded_and_names_visible_titles_only() -> None:
    many = [item(f"check_{n:02d}", "failed") for n in range(60)] + [item("hush", "failed", visibility="hidden")]
    card = scorecard(many)
    comment = score_comment(card, card.score, card.max_score)
    assert len(comment) <= COMMENT_LIMIT and comment.endswith("more.")
    assert "Title of check_00" in comment and "hush" not in comment and "Feedback" not in comment


def test_users_csv_is_merged_and_conflicts_are_named(keys: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "users.csv").write_text("student,user_id\nerin,lti-e5\n")
    config = read_platform(write_toml(tmp_path, toml_lines(None, keys["tool"], extra=('users_csv = "users.csv"',))))
    assert config.user_map() == {**USERS, "erin": "lti-e5"}
    (tmp_path / "users.csv").write_text("student,user_id\nalice,someone-else\n")
    with pytest.raises(ValueError, match=r"users.csv: line 2: student 'alice' is mapped to 'lti-user-a1' already"):
        config.user_map()


def test_a_token_refused_twice_fails_the_student(platform: LtiTestPlatform, config_path: Path, grades: Path) -> None:
    platform.state.token_lifetime_s = 0  # every token the platform issues is already expired
    report, _ = publish(grades, config_path)
    assert all(e.outcome == "failed" and "401" in e.reason and "expired" in e.reason for e in report.outcomes)
    assert platform.state.token_requests == 6 and report.exit_code == 1  # one fresh token per student, no more
    assert not (grades / JOURNAL_NAME).exists()


def test_a_folder_without_scorecards_is_a_usage_error(config_path: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli(), ["publish", "lti", str(tmp_path / "empty"), "--platform", str(config_path)])
    assert result.exit_code == 2 and "no scorecards/ folder" in result.output
    write_cards(tmp_path / "bad", {})
    (tmp_path / "bad" / "scorecards" / "x.json").write_text('{"status": "graded"}')
    result = CliRunner().invoke(cli(), ["publish", "lti", str(tmp_path / "bad"), "--platform", str(config_path)])
    assert result.exit_code == 2 and "x.json: not a scorecard" in result.output
