"""``platform.toml``: how the harness, registered as an LTI 1.3 tool, reaches one platform's gradebook column.

The file names the registration the platform made for the tool (issuer, client id, deployment id), the platform's
OAuth2 token endpoint, the tool's private key and its key id (the platform holds the public half), the line item the
scores go to, and who each student of the batch is on the platform (their LTI user id, the ``sub`` of their
launches). Every error names the file and the field (``platform.toml: lineitem: ...``) or the CSV line.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["SCORE_SCOPE", "PlatformConfig", "PlatformConfigError", "read_platform"]

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
"""The one scope the tool asks for: posting scores to a line item (LTI AGS 2.0)."""
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
_MIN_KEY_BITS = 2048  # the 1EdTech Security Framework asks for RSA keys of at least 2048 bits


class PlatformConfigError(ValueError):
    """``platform.toml`` (or the users CSV or the key it names) is wrong; the message names the file and field."""


def _check_url(value: str) -> str:
    """An https URL (http only to this machine, for tests); the token and the scores never travel in clear."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        raise ValueError(f"{value!r}: use https (plain http is accepted for this machine only)")
    if parts.username or parts.password or parts.fragment:
        raise ValueError(f"{value!r}: give the URL without user, password or #fragment")
    return value


class PlatformConfig(BaseModel):
    """One platform registration of the tool and the line item scores are posted to."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)

    issuer: str = Field(min_length=1)
    """The platform's issuer identifier (the ``iss`` of its launches), e.g. ``https://canvas.instructure.com``."""
    client_id: str = Field(min_length=1)
    """The client id the platform gave the tool's registration (Canvas: the developer key's id)."""
    deployment_id: str = Field(min_length=1)
    """The deployment id of the tool in the course or institution."""
    token_url: str
    """The platform's OAuth2 token endpoint, where the tool trades its signed assertion for an access token."""
    audience: str | None = None
    """The ``aud`` of the tool's assertion when the platform asks for one other than the token URL."""
    private_key: Path
    """The tool's RSA private key (PEM, unencrypted), relative to this file's folder; the platform holds its
    public half (``harness publish lti-jwks`` prints it)."""
    key_id: str = Field(min_length=1)
    """The ``kid`` of the tool's key, as registered on the platform with the public key."""
    lineitem: str
    """The line item URL (the gradebook column); scores are POSTed to ``{lineitem}/scores``."""
    score_maximum: Literal["scorecard"] | float = "scorecard"
    """``"scorecard"``: post the scorecard's score out of its max_score (the platform scales it to the column);
    a positive number: rescale every score to that maximum first."""
    users: dict[str, str] = Field(default_factory=dict)
    """Student id of the batch (a scorecard's file name without ``.json``) -> the student's LTI user id (``sub``)."""
    users_csv: Path | None = None
    """A CSV with the columns ``student`` and ``user_id``, relative to this file's folder; merged with ``users``."""
    timeout_s: float = Field(default=30.0, gt=0, le=300)
    """Seconds one HTTP request may take before it counts as a connection failure (and is retried)."""

    @field_validator("token_url", "lineitem")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value)

    @field_validator("audience")
    @classmethod
    def _audience(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("give the audience the platform expects, or leave it out (default: token_url)")
        return value

    @field_validator("score_maximum")
    @classmethod
    def _maximum(cls, value: str | float) -> str | float:
        if not isinstance(value, str) and not value > 0:
            raise ValueError('give "scorecard" or a positive number of points')
        return value

    @field_validator("users")
    @classmethod
    def _user_ids(cls, value: dict[str, str]) -> dict[str, str]:
        for student, user_id in value.items():
            if not user_id.strip():
                raise ValueError(f"student {student!r} has an empty user id")
        return value

    @property
    def assertion_audience(self) -> str:
        """The ``aud`` of the client assertion: ``audience``, else the token URL."""
        return self.audience or self.token_url

    def load_private_key(self) -> RSAPrivateKey:
        """The tool's private key; PlatformConfigError naming ``private_key`` when it cannot be used."""
        try:
            pem = self.private_key.read_bytes()
        except OSError as exc:
            reason = exc.strerror or exc
            raise PlatformConfigError(f"private_key: {self.private_key}: cannot be read ({reason})") from exc
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise PlatformConfigError(f"private_key: {self.private_key}: not an unencrypted PEM private key "
                                      f"({exc})") from exc
        if not isinstance(key, RSAPrivateKey):
            raise PlatformConfigError(f"private_key: {self.private_key}: LTI 1.3 signs with RS256, give an RSA key")
        if key.key_size < _MIN_KEY_BITS:
            raise PlatformConfigError(f"private_key: {self.private_key}: {key.key_size}-bit RSA key, "
                                      f"use at least {_MIN_KEY_BITS} bits")
        return key

    def user_map(self) -> dict[str, str]:
        """Student id -> LTI user id, from ``users`` and ``users_csv``.

        PlatformConfigError naming the CSV line when one is bad or maps a student to a second user id.
        """
        merged = dict(self.users)
        if self.users_csv is not None:
            for student, user_id, where in _read_users_csv(self.users_csv):
                if merged.get(student, user_id) != user_id:
                    raise PlatformConfigError(f"{where}: student {student!r} is mapped to {merged[student]!r} "
                                              f"already, not to {user_id!r}")
                merged[student] = user_id
        return merged


def _read_users_csv(path: Path) -> list[tuple[str, str, str]]:
    """(student, user id, "file: line N") for every row of the users CSV."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlatformConfigError(f"users_csv: {path}: cannot be read ({exc})") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None or not {"student", "user_id"} <= set(reader.fieldnames):
        raise PlatformConfigError(f"{path}: line 1: give the header 'student,user_id' (found {reader.fieldnames})")
    rows = []
    for row in reader:
        where = f"{path}: line {reader.line_num}"
        student, user_id = (row.get("student") or "").strip(), (row.get("user_id") or "").strip()
        if not student or not user_id:
            raise PlatformConfigError(f"{where}: give both a student and a user_id")
        rows.append((student, user_id, where))
    return rows


def _render(path: Path, exc: ValidationError) -> str:
    problems = "; ".join(f"{'.'.join(map(str, error['loc'])) or '(top)'}: {error['msg']}" for error in exc.errors())
    return f"{path}: {problems}"


def read_platform(path: Path) -> PlatformConfig:
    """The platform file at ``path``, its paths made relative to its folder, its key and users CSV checked.

    PlatformConfigError naming the file and the field (or CSV line) when anything is wrong.
    """
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlatformConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PlatformConfigError(f"{path}: not valid TOML ({exc})") from exc
    try:
        config = PlatformConfig.model_validate(data)
    except ValidationError as exc:
        raise PlatformConfigError(_render(path, exc)) from exc
    folder = path.parent
    config = config.model_copy(update={
        "private_key": folder / config.private_key,
        "users_csv": None if config.users_csv is None else folder / config.users_csv,
    })
    try:
        config.load_private_key()
        config.user_map()
    except PlatformConfigError as exc:
        raise PlatformConfigError(f"{path}: {exc}") from exc
    return config
