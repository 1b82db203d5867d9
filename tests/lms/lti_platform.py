"""A small LTI 1.3 platform on 127.0.0.1: a token endpoint and one line item's AGS score endpoint, both strict.

Written for the tests because the platform-side library on PyPI (``lti1p3platform`` 0.1.8) is a framework
adapter with no HTTP server of its own, checks no ``aud`` (``verify_aud: False``), no ``jti`` replay and no
``iss``/``sub``, and leaves score validation as a TODO. This one checks what a real platform checks:

- token requests (RFC 6749 4.4 with an RFC 7523 client assertion, 1EdTech Security Framework): the form's grant
  type, assertion type and scope; the assertion's RS256 signature against the tool's registered JWK set (verified
  here with ``cryptography`` directly, not with the PyJWT the tool signs with), its ``kid``, ``iss`` = ``sub`` = the
  client id, ``aud``, ``exp``, ``iat`` and a ``jti`` never seen before;
- score posts (LTI AGS 2.0): the content type, a live bearer token with the score scope, the line item's URL with
  its query string, a known ``userId``, ``0 <= scoreGiven <= scoreMaximum``, an ISO 8601 timestamp with a zone and
  not older than the user's last, and ``activityProgress``/``gradingProgress`` in their closed sets.

It never serves the tool's key. Tests can make it answer a status N times (429 and 503 with Retry-After), revoke
the tokens it issued (a 401 for an expired token), or redirect score posts elsewhere.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_PATH = "/login/oauth2/token"
LINEITEM_PATH = "/api/lti/courses/7/line_items/42"
LINEITEM_QUERY = "type_id=3"
ACTIVITY = {"Initialized", "Started", "InProgress", "Submitted", "Completed"}
GRADING = {"NotReady", "Failed", "Pending", "PendingManual", "FullyGraded"}


class Refusal(Exception):
    """An error answer: status, OAuth2 error code and description."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


@dataclass
class Fault:
    """Answer ``status`` (with ``retry_after``) to the next ``times`` requests of one endpoint."""

    status: int
    times: int
    retry_after: str | None = None


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64int(text: str) -> int:
    return int.from_bytes(_b64decode(text), "big")


@dataclass
class PlatformState:
    """What the platform knows and has seen; guarded by ``lock``."""

    jwks: dict[str, Any]
    client_id: str
    deployment_id: str
    users: set[str]
    token_lifetime_s: int = 3600
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[tuple[str, str]] = field(default_factory=list)
    token_requests: int = 0
    scores: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, tuple[set[str], float]] = field(default_factory=dict)
    seen_jti: set[str] = field(default_factory=set)
    last_timestamp: dict[str, datetime] = field(default_factory=dict)
    faults: dict[str, deque[Fault]] = field(default_factory=lambda: {"token": deque(), "score": deque()})
    revoke_after_scores: int | None = None
    redirect_scores_to: str | None = None
    token_url: str = ""

    def verify_assertion(self, assertion: str) -> None:
        """The client assertion's signature and claims, or Refusal."""
        parts = assertion.split(".")
        if len(parts) != 3:
            raise Refusal(400, "invalid_request", "client_assertion is not a compact JWS")
        try:
            header, claims = json.loads(_b64decode(parts[0])), json.loads(_b64decode(parts[1]))
        except ValueError as exc:
            raise Refusal(400, "invalid_request", "client_assertion cannot be decoded") from exc
        if header.get("alg") != "RS256":
            raise Refusal(401, "invalid_client", f"alg {header.get('alg')!r} is not RS256")
        key = next((k for k in self.jwks["keys"] if k.get("kid") == header.get("kid") and k.get("kty") == "RSA"),
                   None)
        if key is None:
            raise Refusal(401, "invalid_client", f"no registered key has kid {header.get('kid')!r}")
        public = RSAPublicNumbers(_b64int(key["e"]), _b64int(key["n"])).public_key()
        try:
            public.verify(_b64decode(parts[2]), f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(),
                          hashes.SHA256())
        except InvalidSignature as exc:
            raise Refusal(401, "invalid_client", "the assertion's signature does not verify with the registered "
                          "key") from exc
        self._check_claims(claims)

    def _check_claims(self, claims: dict[str, Any]) -> None:
        now = time.time()
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        checks = [
            (claims.get("iss") == self.client_id, "iss is not the client id"),
            (claims.get("sub") == self.client_id, "sub is not the client id"),
            (self.token_url in audiences, f"aud {audience!r} is not this token endpoint"),
            (isinstance(claims.get("exp"), int) and claims["exp"] > now, "the assertion has expired (exp)"),
            (isinstance(claims.get("iat"), int) and claims["iat"] <= now + 60, "iat is in the future"),
            (isinstance(claims.get("jti"), str) and bool(claims["jti"]), "no jti"),
        ]
        for ok, why in checks:
            if not ok:
                raise Refusal(401, "invalid_client", why)
        deployment = claims.get("https://purl.imsglobal.org/spec/lti/claim/deployment_id", self.deployment_id)
        if deployment != self.deployment_id:
            raise Refusal(401, "invalid_client", f"unknown deployment {deployment!r}")
        if claims["jti"] in self.seen_jti:
            raise Refusal(401, "invalid_client", "jti already used (replayed assertion)")
        self.seen_jti.add(claims["jti"])

    def issue_token(self, form: dict[str, str]) -> dict[str, Any]:
        """A token reply for a valid form, or Refusal."""
        if form.get("grant_type") != "client_credentials":
            raise Refusal(400, "unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise Refusal(400, "invalid_request", "client_assertion_type must be jwt-bearer")
        self.verify_assertion(form.get("client_assertion", ""))
        scopes = set(form.get("scope", "").split()) & {SCORE_SCOPE}
        if not scopes:
            raise Refusal(400, "invalid_scope", "no scope this platform grants was asked for")
        token = secrets.token_urlsafe(24)
        self.tokens[token] = (scopes, time.time() + self.token_lifetime_s)
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime_s,
                "scope": " ".join(sorted(scopes))}

    def check_bearer(self, authorization: str | None) -> None:
        """A live token with the score scope, or Refusal 401."""
        kind, _, token = (authorization or "").partition(" ")
        scopes, expires = self.tokens.get(token, (set(), 0.0))
        if kind.lower() != "bearer" or time.time() >= expires:
            raise Refusal(401, "invalid_token", "the access token is unknown or has expired")
        if SCORE_SCOPE not in scopes:
            raise Refusal(403, "insufficient_scope", "the token lacks the score scope")

    def accept_score(self, content_type: str, query: str, body: bytes) -> None:
        """Record a valid score, or Refusal."""
        if content_type.split(";")[0].strip() != "application/vnd.ims.lis.v1.score+json":
            raise Refusal(415, "unsupported_media_type", f"content type {content_type!r}")
        if query != LINEITEM_QUERY:
            raise Refusal(404, "not_found", f"no line item at this URL (query {query!r})")
        try:
            score = json.loads(body)
        except ValueError as exc:
            raise Refusal(400, "invalid_request", "the body is not JSON") from exc
        self._validate_score(score)
        self.scores.append(score)

    def _validate_score(self, score: Any) -> None:
        if not isinstance(score, dict):
            raise Refusal(400, "invalid_request", "the score is not an object")
        if score.get("userId") not in self.users:
            raise Refusal(422, "invalid_request", f"userId {score.get('userId')!r} is not a student of the course")
        given, maximum = score.get("scoreGiven"), score.get("scoreMaximum")
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (given, maximum))
        if not numbers or not maximum > 0 or not 0 <= given <= maximum:  # type: ignore[operator]
            raise Refusal(400, "invalid_request", f"scoreGiven {given!r} / scoreMaximum {maximum!r}")
        if score.get("activityProgress") not in ACTIVITY or score.get("gradingProgress") not in GRADING:
            raise Refusal(400, "invalid_request", "activityProgress or gradingProgress not in the closed set")
        if not isinstance(score.get("comment", ""), str):
            raise Refusal(400, "invalid_request", "comment is not a string")
        try:
            stamp = datetime.fromisoformat(score["timestamp"])
        except (KeyError, TypeError, ValueError) as exc:
            raise Refusal(400, "invalid_request", "timestamp is not ISO 8601") from exc
        if stamp.tzinfo is None:
            raise Refusal(400, "invalid_request", "timestamp has no time zone")
        if stamp < self.last_timestamp.get(score["userId"], stamp):
            raise Refusal(409, "conflict", "timestamp is older than the last score for this user")
        self.last_timestamp[score["userId"]] = stamp


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _answer(self, status: int, payload: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        with self.server.state.lock:
            self.server.state.requests.append(("GET", self.path))
        self._answer(405, {"error": "method_not_allowed"})  # nothing is served, the tool's key least of all

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        state = self.server.state
        body = self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 1 << 20))
        url = urlsplit(self.path)
        with state.lock:
            state.requests.append(("POST", self.path))
            endpoint = {TOKEN_PATH: "token", LINEITEM_PATH + "/scores": "score"}.get(url.path)
            if endpoint is None:
                return self._answer(404, {"error": "not_found"})
            if state.faults[endpoint]:
                return self._fault(state.faults[endpoint])
            try:
                reply = self._token(body) if endpoint == "token" else self._score(url.query, body)
            except Refusal as refusal:
                return self._answer(refusal.status, {"error": refusal.error,
                                                     "error_description": refusal.description})
        if reply is not None and reply[0] == 307:
            return self._answer(307, None, {"Location": reply[1]})
        self._answer(200, reply[1] if reply else None)

    def _fault(self, faults: deque[Fault]) -> None:
        fault = faults[0]
        fault.times -= 1
        if fault.times <= 0:
            faults.popleft()
        self._answer(fault.status, {"error": "try later"},
                     {"Retry-After": fault.retry_after} if fault.retry_after else None)

    def _token(self, body: bytes) -> tuple[int, Any]:
        state = self.server.state
        state.token_requests += 1
        if self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
            raise Refusal(400, "invalid_request", "the token request must be a form")
        form = {key: values[0] for key, values in parse_qs(body.decode(), strict_parsing=True).items()
                if len(values) == 1}
        return 200, state.issue_token(form)

    def _score(self, query: str, body: bytes) -> tuple[int, Any]:
        state = self.server.state
        if state.redirect_scores_to:
            return 307, state.redirect_scores_to
        state.check_bearer(self.headers.get("Authorization"))
        state.accept_score(self.headers.get("Content-Type", ""), query, body)
        if state.revoke_after_scores is not None and len(state.scores) >= state.revoke_after_scores:
            state.tokens.clear()  # as if every token had expired now
            state.revoke_after_scores = None
        return 200, {"resultUrl": f"{LINEITEM_PATH}/results/{state.scores[-1]['userId']}"}


class _Server(HTTPServer):
    def __init__(self, state: PlatformState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class LtiTestPlatform:
    """The platform, served from a thread on an ephemeral port of 127.0.0.1 while used as a context manager."""

    def __init__(self, jwks: dict[str, Any], *, users: set[str], client_id: str = "tool-client-1",
                 deployment_id: str = "deployment-1") -> None:
        self.state = PlatformState(jwks=jwks, client_id=client_id, deployment_id=deployment_id, users=users)
        self.server = _Server(self.state)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.state.token_url = self.token_url
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    @property
    def lineitem_url(self) -> str:
        return f"{self.base_url}{LINEITEM_PATH}?{LINEITEM_QUERY}"

    @property
    def scores_url(self) -> str:
        return f"{self.base_url}{LINEITEM_PATH}/scores?{LINEITEM_QUERY}"

    def fail(self, endpoint: str, status: int, times: int, retry_after: str | None = None) -> None:
        """Answer ``status`` to the next ``times`` requests of ``endpoint`` ("token" or "score")."""
        with self.state.lock:
            self.state.faults[endpoint].append(Fault(status, times, retry_after))

    @property
    def scores(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return list(self.state.scores)

    @property
    def requests(self) -> list[tuple[str, str]]:
        with self.state.lock:
            return list(self.state.requests)

    def __enter__(self) -> LtiTestPlatform:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
