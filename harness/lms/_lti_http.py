"""HTTP for LTI services over the standard library: bounded replies, no redirect off the origin, retries.

Every request has a timeout. A redirect is followed only when it keeps the method and the body (307, 308) and stays
on the same scheme, host and port: urllib's own handler would resend the ``Authorization`` header (the bearer token)
to whatever host a redirect names, and turn a POST into a GET that silently drops the score. Anything else is
refused with the URL it pointed to, so the configuration can name the final URL instead.

A request that meets a 429, a 5xx or a connection failure is sent again, after an exponentially growing, jittered
delay, or after the platform's Retry-After when that is longer, up to ``RetryPolicy.attempts`` times in all.
"""

from __future__ import annotations

import email.utils
import http.client
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timezone
from typing import IO, Protocol
from urllib.parse import urlsplit

from ..reporters._safe_text import printable

MAX_REPLY_BYTES = 1 << 20
"""The most of a reply body that is read: a score or token reply is a few hundred bytes."""
MESSAGE_LIMIT = 300
"""The most characters of a platform's error message that are kept in a report."""


@dataclass(frozen=True)
class HttpReply:
    """One HTTP response: its status, headers (names in lower case) and at most MAX_REPLY_BYTES of its body."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def message(self) -> str:
        """The platform's words for an error, as one bounded, printable line."""
        text = self.body.decode("utf-8", errors="replace").strip() or http.client.responses.get(self.status, "")
        line = " ".join(printable(text).split())
        return line if len(line) <= MESSAGE_LIMIT else line[: MESSAGE_LIMIT - 1] + "…"


class Transport(Protocol):
    """Sends one request and returns its reply; raises OSError (or http.client.HTTPException) when no reply came."""

    def __call__(self, method: str, url: str, body: bytes, headers: Mapping[str, str],
                 timeout: float) -> HttpReply: ...


class RedirectRefused(Exception):
    """The server redirected the request where the harness will not follow it."""


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follows 307/308 on the same origin only, keeping method, body and headers."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: http.client.HTTPMessage, newurl: str) -> urllib.request.Request | None:
        if code not in (307, 308):
            raise RedirectRefused(f"{req.full_url} answered {code} to {newurl}: a {req.get_method()} is not "
                                  "redirected; configure the final URL")
        if _origin(newurl) != _origin(req.full_url):
            raise RedirectRefused(f"{req.full_url} redirected to another origin ({newurl}); the token is never sent "
                                  "there; configure the final URL if it is the platform's")
        return urllib.request.Request(newurl, data=req.data, headers=dict(req.header_items()),
                                      method=req.get_method())


def _read(stream: IO[bytes]) -> bytes:
    return stream.read(MAX_REPLY_BYTES)


def urllib_transport(method: str, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpReply:
    """The standard library's HTTP client, with the redirect policy above."""
    opener = urllib.request.build_opener(_SameOriginRedirects())
    request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
    try:
        with opener.open(request, timeout=timeout) as response:
            return HttpReply(response.status, {k.lower(): v for k, v in response.headers.items()}, _read(response))
    except urllib.error.HTTPError as error:
        with error:
            return HttpReply(error.code, {k.lower(): v for k, v in error.headers.items()}, _read(error))


def retry_after_s(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds a Retry-After header asks to wait (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now())


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is sent again."""

    attempts: int = 5
    """Requests sent in all, the first included."""
    base_delay_s: float = 1.0
    """The delay before the second request; it doubles for each one after."""
    max_delay_s: float = 60.0
    """The longest computed delay."""
    max_retry_after_s: float = 300.0
    """The longest Retry-After honoured; a platform asking for more is taken as refusing."""

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after the ``attempt``-th request (1-based): jittered backoff, at least Retry-After."""
        backoff = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        jittered = backoff * (0.5 + rng.random() / 2)  # spread the retries of many tools hitting one 429
        return jittered if retry_after is None else max(jittered, retry_after)


class DeliveryError(Exception):
    """No acceptable reply after every attempt (or a refused redirect); the message says what happened last."""


def _retryable(status: int) -> bool:
    return status == 429 or 500 <= status <= 599


@dataclass
class RetryingClient:
    """Sends requests through a transport, again and again as RetryPolicy allows."""

    transport: Transport = urllib_transport
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def post(self, url: str, body: Callable[[], bytes], headers: Mapping[str, str]) -> HttpReply:
        """The first reply that is neither a 429 nor a 5xx, or the last one when every attempt got one.

        ``body`` is called for every attempt (a client assertion must be new each time: its jti is single-use).
        DeliveryError when no reply came at all, a redirect was refused, or Retry-After asks too long a wait.
        """
        for attempt in range(1, self.policy.attempts + 1):
            last = attempt == self.policy.attempts
            try:
                reply = self.transport("POST", url, body(), headers, self.timeout_s)
            except RedirectRefused as exc:
                raise DeliveryError(str(exc)) from exc
            except (OSError, http.client.HTTPException) as exc:
                if last:
                    raise DeliveryError(f"{url}: no reply after {attempt} attempts ({exc})") from exc
                self.sleep(self.policy.delay(attempt, None, self.rng))
                continue
            if not _retryable(reply.status) or last:
                return reply
            wait = retry_after_s(reply.headers.get("retry-after"))
            if wait is not None and wait > self.policy.max_retry_after_s:
                raise DeliveryError(f"{url}: answered {reply.status} and asks to wait {wait:.0f} s "
                                    f"(more than {self.policy.max_retry_after_s:.0f} s); publish again later")
            self.sleep(self.policy.delay(attempt, wait, self.rng))
        raise AssertionError("unreachable: the last attempt returns or raises")

