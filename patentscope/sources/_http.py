"""The shared HTTP layer: one client factory and two wrapping transports.

Every API client takes an ``httpx.BaseTransport`` (tests pass ``httpx.MockTransport``) and
gets retry and pacing by wrapping it::

    transport = RetryTransport(PacingTransport(httpx.HTTPTransport(), min_interval=0.25, clock=clock),
                               policy=RetryPolicy(), sleep=clock.sleep, validate=is_json)
    client = make_client(transport, base_url="https://api.uspto.gov", headers={"X-API-KEY": key})

- :class:`RetryTransport` retries timeouts, connection resets, 429/5xx and (via ``validate``)
  empty or truncated 2xx bodies. It honours ``Retry-After`` (seconds or HTTP date), waits at
  least ``min_429_wait`` on a 429 without one (USPTO ODP sends none), and backs off
  exponentially otherwise. The policy runs on tenacity (a well-kept retry library: stop/wait
  strategies and an injectable ``sleep``), so a test of a minute of back-off takes no time.
- :class:`PacingTransport` spaces requests at least ``min_interval`` apart (ODP: one request at
  a time per key, <= 4/s; OPS: per-service limits, adjusted at run time by its client).
- Nothing here logs headers or query strings: :func:`redact` strips credentials from URLs
  before they reach a log line, the warehouse or an error message.

Clocks are injectable: :class:`Clock` (real) and :class:`FakeClock` (tests) share
``monotonic()``, ``sleep(seconds)`` and ``now()``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import tenacity

from .. import __version__
from ..redact import scrub as _scrub  # a server may echo the key or token in an error body

USER_AGENT = f"patentscope/{__version__} (+https://github.com/; NdFeB patent landscape research)"

SECRET_PARAMS = {"api_key", "apikey", "key", "token", "access_token", "client_secret", "secret", "password",
                 # presigned download URLs (S3 and the like) carry credentials in the query
                 "x-amz-credential", "x-amz-security-token", "x-amz-signature", "signature", "sig",
                 "awsaccesskeyid", "x-goog-credential", "x-goog-signature"}


class Clock:
    """Real time."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


@dataclass
class FakeClock(Clock):
    """Test time: sleeping advances the clock instantly and records every wait."""

    t: float = 0.0
    start: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(0.0, seconds)

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.t)


def redact(url: str | httpx.URL) -> str:
    """A URL safe for logs: credential-like query parameters and userinfo replaced."""
    parts = urlsplit(str(url))
    query = urlencode([(k, "REDACTED" if k.lower() in SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)])
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), None if absent/bad."""
    if not value:
        return None
    v = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", v):
        return float(v)
    try:
        when = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


class RetryableError(Exception):
    """One failed attempt that may succeed if repeated."""

    def __init__(self, reason: str, response: httpx.Response | None = None, retry_after: float | None = None,
                 cause: Exception | None = None):
        super().__init__(reason)
        self.reason = reason
        self.response = response
        self.retry_after = retry_after
        self.cause = cause


class GaveUpError(httpx.TransportError):
    """Retries exhausted on a transport-level failure (timeout, reset, bad body)."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6                  # total tries, first included
    initial_wait: float = 1.0          # seconds, doubled per attempt
    max_wait: float = 120.0            # cap on any one computed back-off
    min_429_wait: float = 5.0          # ODP: "wait at least 5 s" on a 429 without Retry-After
    max_retry_after: float = 900.0     # a longer Retry-After is not waited out: the response is returned
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})


Validator = Callable[[httpx.Response], str | None]  # returns a reason to retry, or None


class RetryTransport(httpx.BaseTransport):
    def __init__(
        self,
        inner: httpx.BaseTransport,
        policy: RetryPolicy | None = None,
        *,
        clock: Clock | None = None,
        validate: Validator | None = None,
        on_retry: Callable[[str, float], None] | None = None,
    ):
        self.inner = inner
        self.policy = policy or RetryPolicy()
        self.clock = clock or Clock()
        self.validate = validate
        self.on_retry = on_retry
        self.attempts_made = 0

    def _once(self, request: httpx.Request) -> httpx.Response:
        self.attempts_made += 1
        try:
            response = self.inner.handle_request(request)
            response.read()  # buffer: bodies are small API documents, and a reset mid-body surfaces here
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as e:
            raise RetryableError(f"{type(e).__name__}: {e}", cause=e) from e
        if response.status_code in self.policy.retry_statuses:
            ra = parse_retry_after(response.headers.get("Retry-After"), self.clock.now())
            if ra is not None and ra > self.policy.max_retry_after:
                return response  # e.g. a quota reset hours away: let the client stop cleanly
            raise RetryableError(f"HTTP {response.status_code}", response=response, retry_after=ra)
        if 200 <= response.status_code < 300 and self.validate is not None:
            reason = self.validate(response)
            if reason:
                raise RetryableError(reason, response=response)
        return response

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        p = self.policy
        backoff = min(p.max_wait, p.initial_wait * 2 ** (state.attempt_number - 1))
        wait = backoff
        if isinstance(exc, RetryableError):
            if exc.response is not None and exc.response.status_code == 429:
                wait = max(wait, p.min_429_wait)
            if exc.retry_after is not None:
                wait = exc.retry_after  # the server said when: honour it exactly
            if self.on_retry:
                self.on_retry(exc.reason, wait)
        return wait

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.policy.attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(RetryableError),
            sleep=self.clock.sleep,
            reraise=True,
        )
        try:
            return retrying(self._once, request)
        except RetryableError as e:
            if e.response is not None:
                return e.response  # the last real answer: the client turns it into an error
            raise GaveUpError(f"{e.reason} after {self.policy.attempts} attempts ({redact(request.url)})") from e.cause

    def close(self) -> None:
        self.inner.close()


class PacingTransport(httpx.BaseTransport):
    """At most one request per ``min_interval`` seconds, one at a time (a lock serializes)."""

    def __init__(self, inner: httpx.BaseTransport, *, min_interval: float, clock: Clock | None = None):
        self.inner = inner
        self.min_interval = min_interval
        self.clock = clock or Clock()
        self._last: float | None = None
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            if self._last is not None:
                gap = self.min_interval - (self.clock.monotonic() - self._last)
                if gap > 0:
                    self.clock.sleep(gap)
            self._last = self.clock.monotonic()
            return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def json_body_ok(response: httpx.Response) -> str | None:
    """Validator: an empty or undecodable JSON body on a 2xx is a transient failure."""
    if not response.content.strip():
        return "empty 2xx body"
    try:
        response.json()
    except ValueError:
        return "truncated or invalid JSON body"
    return None


def make_client(
    transport: httpx.BaseTransport | None = None,
    *,
    base_url: str = "",
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
    follow_redirects: bool = True,
) -> httpx.Client:
    """An httpx client with our user agent and timeouts. Never called at import time."""
    return httpx.Client(
        transport=transport or httpx.HTTPTransport(retries=1),  # httpx's own retries cover connect only
        base_url=base_url,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        timeout=httpx.Timeout(timeout, connect=min(15.0, timeout)),
        follow_redirects=follow_redirects,  # False wherever a key travels in a header: httpx only strips Authorization
    )


def describe_error(response: httpx.Response) -> str:
    """A short, secret-free description of an error response for messages and logs."""
    body: Any
    try:
        body = response.json()
        text = ((body.get("detailedMessage") or body.get("message") or body.get("error") or str(body)[:200])
                if isinstance(body, dict) else str(body)[:200])  # a JSON list/number body is not a crash
    except ValueError:
        text = response.text[:200]
    return f"HTTP {response.status_code} from {redact(response.request.url)}: {_scrub(str(text))}"
