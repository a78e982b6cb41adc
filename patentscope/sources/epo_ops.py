"""EPO Open Patent Services (OPS 3.2): OAuth2 client credentials, traffic-light pacing, quotas.

Network only: this module fetches bytes and says what went wrong; it never parses patent data
(``normalize.epo_ops`` does) and never writes to the warehouse (``ingest.ops`` does).

The transport chain of an :class:`OpsClient`, outermost first::

    httpx.Client(auth=OpsAuth)                 token reused until it expires; refreshed on expiry
      RetryTransport (_http)                   5xx, 429, timeouts, resets, empty/truncated XML bodies
        OpsThrottleTransport                   per-service pacing from X-Throttling-Control;
                                               black light / ThrottlingControlQuota waits
          the real transport (or httpx.MockTransport in tests)

How OPS behaves (what the code relies on), and where it was read:

- Authentication: ``POST /3.2/auth/accesstoken`` with ``Authorization: Basic base64(key:secret)``
  and ``grant_type=client_credentials`` returns JSON ``{"access_token", "expires_in": "1199", ...}``
  (about 20 minutes). An expired token is answered with HTTP 400 (or 401) whose body says
  ``invalid_access_token`` (python-epo-ops-client checks the message ``invalid_access_token``;
  patent_client refreshes on a 400). We refresh once on such an answer and a minute before
  ``expires_in`` runs out.
- ``X-Throttling-Control: busy (images=green:100, inpadoc=green:45, other=green:1000,
  retrieval=green:100, search=green:15)`` (recorded in the patent_client cassettes): an overall
  state and, per service, a colour and the number of requests per minute allowed now. We keep
  each service at most ``limit`` requests per minute (``60 / limit`` seconds apart), the way
  python-epo-ops-client's throttler does. ``black:0`` stops a service: we wait ``Retry-After``
  (milliseconds, as python-epo-ops-client reads it) before the next request to that service.
- HTTP 403 with ``X-Rejection-Reason: ThrottlingControlQuota`` is a black light for the service:
  wait and retry. 403 with ``RegisteredQuotaPerWeek``, ``IndividualQuotaPerHour`` or an anonymous
  quota is a used-up quota: :class:`OpsQuotaError`, which the ingest turns into a clean stop with
  its position saved.
- Services by URL, as python-epo-ops-client maps them: ``family`` and ``legal`` -> inpadoc,
  ``published-data/images`` -> images, ``published-data/search`` -> search, other
  ``published-data`` -> retrieval, anything else -> other.
- Search: ``GET /published-data/search?q=CQL&Range=1-100`` (at most 100 per request; OPS serves
  only the first 2,000 results of a query). Biblio: ``POST /published-data/publication/docdb/biblio``
  with one ``CC.NUMBER.KIND`` per line (bulk retrieval, at most 100 numbers). Family and legal:
  ``GET /family|legal/publication/docdb/CC.NUMBER.KIND``. A 404 means "no results".

Nothing here logs or returns a header, a token or a key: requests are described with
:func:`patentscope.sources._http.redact`, and raw payloads handed to the ingest are the response
bodies of data requests only (the token response never leaves :class:`OpsAuth`).
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedET

from ..config import SECRET_VARS, secret
from ..errors import (
    AuthError,
    ConfigError,
    PermanentSourceError,
    QuotaError,
    SourceError,
    TransientSourceError,
    is_transient_status,
)
from ._http import Clock, RetryPolicy, RetryTransport, describe_error, make_client, redact

OPS_BASE_URL = "https://ops.epo.org"
AUTH_PATH = "/3.2/auth/accesstoken"
REST_PATH = "/3.2/rest-services"

SERVICES = ("images", "inpadoc", "other", "retrieval", "search")
MAX_RANGE = 100          # results per search request
MAX_BULK = 100           # numbers per bulk biblio request
RESULT_CAP = 2000        # OPS serves only the first 2,000 results of a query

# X-Rejection-Reason values that mean a quota is used up (stop, do not retry).
QUOTA_REASONS = {
    "RegisteredQuotaPerWeek": "the weekly quota of your registered OPS account",
    "IndividualQuotaPerHour": "the hourly quota of your OPS account",
    "RegisteredQuotaPerDay": "the daily quota of your registered OPS account",
    "AnonymousQuotaPerDay": "the daily anonymous OPS quota",
    "AnonymousQuotaPerMinute": "the per-minute anonymous OPS quota",
}
THROTTLE_REASON = "ThrottlingControlQuota"

Log = Callable[[str], None]


# ------------------------------------------------------------------------------------------------
# errors


class OpsError(SourceError):
    """An OPS request failed in a way retries did not cure (see the subclasses)."""


class OpsUnavailableError(OpsError, TransientSourceError):
    """The network, or OPS (also its token endpoint) busy or down after the retries."""


class OpsRejectedError(OpsError, PermanentSourceError):
    """OPS refused a request or answered something unreadable."""


class OpsAuthError(AuthError):
    """OPS refused the consumer key/secret (exit code 2: fix the configuration)."""


class OpsQuotaError(OpsError, QuotaError):
    """A quota is used up (403 with X-Rejection-Reason). Stop; resume after it resets."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class OpsThrottledError(OpsError, TransientSourceError):
    """A service stayed black longer than we are willing to wait."""


def ops_http_error(status: int) -> type[OpsError]:
    return OpsUnavailableError if is_transient_status(status) else OpsRejectedError


# ------------------------------------------------------------------------------------------------
# credentials


def credentials_from_env() -> tuple[str, str]:
    """(key, secret) from EPO_OPS_KEY / EPO_OPS_SECRET; a missing one names both variables."""
    names = SECRET_VARS["epo_ops"]
    missing = [n for n in names if not os.environ.get(n, "").strip()]
    if missing:
        raise ConfigError(
            f"{' and '.join(missing)} not set; export EPO_OPS_KEY=... and EPO_OPS_SECRET=... "
            "(the consumer key and secret of your app at https://developers.epo.org; "
            "secrets are read only from the environment)"
        )
    return secret(names[0]), secret(names[1])


# ------------------------------------------------------------------------------------------------
# throttling


def service_for_path(path: str) -> str:
    """The OPS throttling service a request path counts against."""
    rest = path.split("/rest-services/", 1)[1] if "/rest-services/" in path else ""
    if rest.startswith(("family", "legal")):
        return "inpadoc"
    if rest.startswith("published-data/images") or rest.startswith("classification/cpc/media"):
        return "images"
    if rest.startswith("published-data/search"):
        return "search"
    if rest.startswith("published-data"):
        return "retrieval"
    return "other"


@dataclass(frozen=True)
class ServiceLight:
    colour: str   # green / yellow / red / black
    limit: int    # requests per minute allowed now (0 when black)


@dataclass(frozen=True)
class ThrottleStatus:
    system: str                         # idle / busy / overloaded
    services: dict[str, ServiceLight]


_THROTTLE_RE = re.compile(r"^\s*([A-Za-z]+)\s*\((.*)\)\s*$", re.S)
_LIGHT_RE = re.compile(r"([a-z]+)\s*=\s*([a-z]+)\s*:\s*(\d+)", re.I)


def parse_throttling_control(value: str | None) -> ThrottleStatus | None:
    """``busy (images=green:100, inpadoc=yellow:45, ...)`` -> ThrottleStatus; None if unreadable."""
    if not value:
        return None
    m = _THROTTLE_RE.match(value)
    if not m:
        return None
    services = {s.lower(): ServiceLight(c.lower(), int(n)) for s, c, n in _LIGHT_RE.findall(m.group(2))}
    return ThrottleStatus(m.group(1).lower(), services)


def _retry_after_ms(response: httpx.Response, default_s: float) -> float:
    """Seconds to wait from an OPS Retry-After on a black light (OPS sends milliseconds)."""
    raw = response.headers.get("Retry-After", "").strip()
    if raw.isdigit():
        return int(raw) / 1000.0
    return default_s


class OpsThrottleTransport(httpx.BaseTransport):
    """Paces each OPS service by its traffic light; waits out black lights.

    After every response the X-Throttling-Control header sets, per service, the minimum gap
    between requests (``60 / limit`` seconds). A black light (``limit 0``) or a 403
    ``ThrottlingControlQuota`` blocks that service for ``Retry-After`` milliseconds (60 s when
    absent); a rejected request is sent again after the wait, at most ``black_attempts`` times
    and never when the wait exceeds ``max_black_wait`` seconds (the 403 is then returned and
    the client stops with its position saved).
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        clock: Clock | None = None,
        max_black_wait: float = 900.0,
        black_attempts: int = 5,
        on_wait: Callable[[str, float, str], None] | None = None,
    ):
        self.inner = inner
        self.clock = clock or Clock()
        self.max_black_wait = max_black_wait
        self.black_attempts = black_attempts
        self.on_wait = on_wait
        self.interval: dict[str, float] = {}
        self.blocked_until: dict[str, float] = {}
        self.last_sent: dict[str, float] = {}
        self.status: ThrottleStatus | None = None
        self.quota_used: dict[str, str] = {}
        self._lock = threading.Lock()

    def _wait_turn(self, service: str) -> None:
        now = self.clock.monotonic()
        ready = now
        if service in self.last_sent and self.interval.get(service):
            ready = max(ready, self.last_sent[service] + self.interval[service])
        ready = max(ready, self.blocked_until.get(service, now))
        if ready > now:
            why = "black light" if self.blocked_until.get(service, 0) > now else "pacing"
            if self.on_wait:
                self.on_wait(service, ready - now, why)
            self.clock.sleep(ready - now)

    def _learn(self, response: httpx.Response, service: str) -> None:
        for h in ("X-IndividualQuotaPerHour-Used", "X-RegisteredQuotaPerWeek-Used"):
            if h in response.headers:
                self.quota_used[h] = response.headers[h]
        status = parse_throttling_control(response.headers.get("X-Throttling-Control"))
        if status is None:
            return
        self.status = status
        now = self.clock.monotonic()
        for name, light in status.services.items():
            if light.colour == "black" or light.limit <= 0:
                self.blocked_until[name] = now + _retry_after_ms(response, 60.0)
            else:
                self.interval[name] = 60.0 / light.limit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        service = service_for_path(request.url.path)
        attempt = 0
        while True:
            with self._lock:
                self._wait_turn(service)
                self.last_sent[service] = self.clock.monotonic()
            response = self.inner.handle_request(request)
            self._learn(response, service)
            rejected = (response.status_code == 403
                        and THROTTLE_REASON.lower() in response.headers.get("X-Rejection-Reason", "").lower())
            if not rejected:
                return response
            wait = _retry_after_ms(response, 60.0)
            self.blocked_until[service] = self.clock.monotonic() + wait
            attempt += 1
            if attempt > self.black_attempts or wait > self.max_black_wait:
                return response
            response.read()
            response.close()

    def close(self) -> None:
        self.inner.close()


def xml_body_ok(response: httpx.Response) -> str | None:
    """Validator for RetryTransport: an empty or not-well-formed XML 2xx body is worth a retry.

    A body that declares entities is not retried: the parser refuses it with a clear error.
    JSON bodies (the token endpoint) are left alone."""
    content = response.content
    stripped = content.lstrip()
    if not stripped:
        return "empty 2xx body"
    if "json" in response.headers.get("content-type", "") or stripped[:1] in (b"{", b"["):
        return None
    try:
        DefusedET.fromstring(content, forbid_dtd=True)
    except DefusedET.ParseError:
        return "truncated or invalid XML body"
    except DefusedXmlException:
        return None
    return None


# ------------------------------------------------------------------------------------------------
# authentication

_TOKEN_ERROR_RE = re.compile(r"invalid_access_token|access token has expired|InvalidAccessToken|token[^<]{0,20}expired", re.I)


class OpsAuth(httpx.Auth):
    """OAuth2 client credentials with token reuse and refresh on expiry or a token error.

    The token lives only on this object: it is never logged, landed or stored.
    """

    requires_response_body = True

    def __init__(self, key: str, secret_: str, *, token_url: str, clock: Clock | None = None, margin: float = 60.0):
        self._basic = base64.b64encode(f"{key}:{secret_}".encode()).decode("ascii")
        self.token_url = token_url
        self.clock = clock or Clock()
        self.margin = margin
        self._token: str | None = None
        self._expires_at = 0.0
        self.tokens_issued = 0

    def _expired(self) -> bool:
        return self._token is None or self.clock.monotonic() >= self._expires_at - self.margin

    def _token_request(self) -> httpx.Request:
        return httpx.Request(
            "POST", self.token_url,
            headers={"Authorization": f"Basic {self._basic}", "Content-Type": "application/x-www-form-urlencoded",
                     "Accept": "application/json"},
            content=b"grant_type=client_credentials",
        )

    def _accept(self, response: httpx.Response) -> None:
        if response.status_code in (429,) or response.status_code >= 500:
            # the token endpoint is busy or down (after the transport's retries): transient, not bad credentials
            raise OpsUnavailableError(f"EPO OPS token endpoint {redact(self.token_url)} answered HTTP {response.status_code} "
                           "after retries; try again later")
        if response.status_code != 200:
            raise OpsAuthError(
                f"EPO OPS refused the credentials (HTTP {response.status_code} from {redact(self.token_url)}); "
                "check EPO_OPS_KEY and EPO_OPS_SECRET (the consumer key and secret of your app at developers.epo.org)"
            )
        try:
            data: Any = json.loads(response.content)
            token = str(data["access_token"])
            lifetime = float(data.get("expires_in", 1199))
        except (ValueError, KeyError, TypeError):
            raise OpsRejectedError(f"EPO OPS token endpoint {redact(self.token_url)} answered without an access_token") from None
        self._token = token
        from ..redact import register  # the token is scrubbed from every message from now on

        register(token)
        self._expires_at = self.clock.monotonic() + lifetime
        self.tokens_issued += 1

    def _refresh(self) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield self._token_request()
        self._accept(response)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._expired():
            yield from self._refresh()
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401 or (response.status_code == 400 and _TOKEN_ERROR_RE.search(response.text or "")):
            yield from self._refresh()
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request


# ------------------------------------------------------------------------------------------------
# the client


@dataclass
class OpsResponse:
    """One data response: what was asked (secret-free) and the body as received."""

    method: str
    url: str           # redacted
    body_note: str     # for POST: the numbers asked for
    status: int
    content: bytes
    content_type: str | None
    service: str

    @property
    def request(self) -> str:
        return f"{self.method} {self.url}" + (f" [{self.body_note}]" if self.body_note else "")


def docdb_input(country: str, number: str, kind: str | None) -> str:
    """OPS docdb input format ``CC.NUMBER.KIND``."""
    return f"{country}.{number}.{kind}" if kind else f"{country}.{number}"


@dataclass(repr=False)
class OpsClient:
    """A small OPS client. Pass ``transport`` (tests: ``httpx.MockTransport``) and ``clock``."""

    key: str
    secret: str
    transport: httpx.BaseTransport | None = None
    base_url: str = OPS_BASE_URL
    clock: Clock = field(default_factory=Clock)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    log: Log = field(default=lambda _m: None)
    max_black_wait: float = 900.0

    def __post_init__(self) -> None:
        self.throttle = OpsThrottleTransport(
            self.transport or httpx.HTTPTransport(retries=1), clock=self.clock, max_black_wait=self.max_black_wait,
            on_wait=lambda s, w, why: self.log(f"ops: waiting {w:.1f}s for service {s} ({why})") if w >= 5 else None,
        )
        self.retry = RetryTransport(self.throttle, self.policy, clock=self.clock, validate=xml_body_ok,
                                    on_retry=lambda why, w: self.log(f"ops: {why}; retrying in {w:.0f}s"))
        self.auth = OpsAuth(self.key, self.secret, token_url=self.base_url.rstrip("/") + AUTH_PATH, clock=self.clock)
        self._http = make_client(self.retry, base_url=self.base_url, headers={"Accept": "application/xml"})

    def __repr__(self) -> str:  # never show the secret
        return f"OpsClient(base_url={self.base_url!r})"

    @classmethod
    def from_env(cls, **kwargs: Any) -> OpsClient:
        key, secret_ = credentials_from_env()
        return cls(key, secret_, **kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OpsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests --------------------------------------------------------------------------

    def _send(self, method: str, path: str, *, params: dict[str, str] | None = None, content: bytes | None = None,
              body_note: str = "") -> OpsResponse | None:
        headers = {"Content-Type": "text/plain"} if content is not None else None
        try:
            response = self._http.request(method, REST_PATH + path, params=params, content=content, headers=headers,
                                          auth=self.auth)
        except httpx.TransportError as e:
            raise OpsUnavailableError(f"network failure talking to EPO OPS ({e}); the position is saved, run the same command again to resume") from None
        url = redact(response.request.url)
        service = service_for_path(response.request.url.path)
        if response.status_code == 404:
            return None  # OPS: SERVER.EntityNotFound / no results
        if response.status_code == 403:
            reason = response.headers.get("X-Rejection-Reason", "").strip()
            for name, what in QUOTA_REASONS.items():
                if name.lower() in reason.lower():
                    raise OpsQuotaError(name, f"EPO OPS stopped us: {what} is used up (X-Rejection-Reason: {name})")
            if THROTTLE_REASON.lower() in reason.lower():
                raise OpsThrottledError(f"EPO OPS service {service} stayed black (ThrottlingControlQuota) longer than we wait")
            raise OpsRejectedError(f"EPO OPS refused {method} {url} (HTTP 403{', ' + reason if reason else ''})")
        if response.status_code in (400, 401) and _TOKEN_ERROR_RE.search(response.text or ""):
            raise OpsAuthError("EPO OPS rejected a freshly issued access token; check EPO_OPS_KEY / EPO_OPS_SECRET")
        if not 200 <= response.status_code < 300:
            raise ops_http_error(response.status_code)(describe_error(response))
        return OpsResponse(method, url, body_note, response.status_code, response.content,
                           response.headers.get("content-type"), service)

    def search(self, cql: str, begin: int, end: int) -> OpsResponse | None:
        """One page of ``published-data/search`` (``end - begin + 1 <= 100``, ``end <= 2000``)."""
        if end - begin + 1 > MAX_RANGE or begin < 1 or end > RESULT_CAP:
            raise ValueError(f"OPS Range {begin}-{end} is outside 1..{RESULT_CAP} or longer than {MAX_RANGE}")
        return self._send("GET", "/published-data/search", params={"q": cql, "Range": f"{begin}-{end}"})

    def biblio(self, numbers: Iterable[str]) -> OpsResponse | None:
        """Bibliographic data of up to 100 docdb numbers (``CC.NUMBER.KIND``) in one request."""
        nums = list(numbers)
        if not nums or len(nums) > MAX_BULK:
            raise ValueError(f"biblio takes 1..{MAX_BULK} numbers, got {len(nums)}")
        return self._send("POST", "/published-data/publication/docdb/biblio", content="\n".join(nums).encode(),
                          body_note=",".join(nums))

    def family(self, number: str) -> OpsResponse | None:
        """The INPADOC family of one docdb number."""
        return self._send("GET", f"/family/publication/docdb/{number}")

    def legal(self, number: str) -> OpsResponse | None:
        """INPADOC legal events of one docdb number."""
        return self._send("GET", f"/legal/publication/docdb/{number}")
