"""The tool's access token: OAuth2 client credentials with a signed JWT assertion (1EdTech Security Framework 1.0).

The tool proves who it is with a short-lived JWT signed (RS256) with its private key: ``iss`` and ``sub`` are its
client id, ``aud`` the platform's token endpoint (or the audience it names), ``jti`` a value never used before, the
header's ``kid`` the key id the platform holds the public key under. The token is kept until shortly before it
expires, and dropped when the platform answers 401 (it was revoked or expired early).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from ._lti_http import HttpReply, RetryingClient
from .lti_platform import SCORE_SCOPE, PlatformConfig

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEPLOYMENT_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
ASSERTION_LIFETIME_S = 300  # long enough for clock skew, short enough that a leaked assertion is soon useless
DEFAULT_TOKEN_LIFETIME_S = 3600  # the Security Framework's recommended expires_in, when a platform gives none
RENEW_BEFORE_S = 60.0


class LtiCredentialsError(Exception):
    """The platform refused the tool's client assertion or did not grant the score scope."""


@dataclass(frozen=True)
class _Token:
    value: str
    renew_at: float


def client_assertion(platform: PlatformConfig, key: RSAPrivateKey, now: float) -> str:
    """A new signed assertion for the token request."""
    issued = int(now)
    claims = {
        "iss": platform.client_id, "sub": platform.client_id, "aud": platform.assertion_audience,
        "iat": issued, "exp": issued + ASSERTION_LIFETIME_S, "jti": uuid.uuid4().hex,
        DEPLOYMENT_CLAIM: platform.deployment_id,  # some platforms (D2L, Blackboard) ask for it
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": platform.key_id})


def _refused(platform: PlatformConfig, reply: HttpReply) -> LtiCredentialsError:
    detail = reply.message()
    try:
        data = json.loads(reply.body)
        if isinstance(data, dict) and "error" in data:
            detail = HttpReply(reply.status, body=f"{data['error']}: {data.get('error_description', '')}"
                               .encode()).message()
    except ValueError:
        pass
    return LtiCredentialsError(
        f"{platform.token_url} refused the tool's credentials ({reply.status}: {detail}); check that the platform "
        f"has the tool's public key under kid {platform.key_id!r} and the client id {platform.client_id!r}")


class TokenSource:
    """Access tokens for the score scope, fetched once and reused until shortly before they expire."""

    def __init__(self, platform: PlatformConfig, client: RetryingClient, clock: Callable[[], float] = time.time):
        self.platform = platform
        self.client = client
        self.clock = clock
        self._key = platform.load_private_key()
        self._token: _Token | None = None

    def token(self) -> str:
        """A valid bearer token; LtiCredentialsError when refused, DeliveryError when the endpoint never answers."""
        if self._token is None or self.clock() >= self._token.renew_at:
            self._token = self._fetch()
        return self._token.value

    def invalidate(self) -> None:
        """Forget the token (the platform answered 401): the next call fetches a new one."""
        self._token = None

    def _body(self) -> bytes:
        return urlencode({
            "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(self.platform, self._key, self.clock()), "scope": SCORE_SCOPE,
        }).encode("ascii")

    def _fetch(self) -> _Token:
        started = self.clock()
        reply = self.client.post(self.platform.token_url, self._body, {
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
        if reply.status != 200:
            raise _refused(self.platform, reply)
        try:
            data = json.loads(reply.body)
            value, token_type = data["access_token"], str(data.get("token_type", "bearer"))
            lifetime = float(data.get("expires_in", DEFAULT_TOKEN_LIFETIME_S))
        except (ValueError, KeyError, TypeError) as exc:
            raise LtiCredentialsError(f"{self.platform.token_url}: the token reply is not an OAuth2 token "
                                      f"({reply.message()})") from exc
        if not isinstance(value, str) or not value or token_type.lower() != "bearer":
            raise LtiCredentialsError(f"{self.platform.token_url}: expected a bearer access_token, got type "
                                      f"{token_type!r}")
        granted = data.get("scope")
        if isinstance(granted, str) and SCORE_SCOPE not in granted.split():
            raise LtiCredentialsError(f"{self.platform.token_url} did not grant the score scope ({granted!r}): "
                                      "enable Assignment and Grade Services (scores) for the tool's registration")
        return _Token(value, started + lifetime - min(RENEW_BEFORE_S, lifetime / 10))
