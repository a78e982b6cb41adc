"""USPTO Open Data Portal (api.uspto.gov) client: network only, no parsing beyond JSON.

Everything goes through :mod:`patentscope.sources._http`: one request at a time per key and at
most ``4/s`` by default (:class:`PacingTransport`), retries of timeouts, resets, 429 (at least
5 s when no ``Retry-After`` is sent, as ODP does), 5xx and empty or truncated 2xx bodies
(:class:`RetryTransport` with :func:`json_body_ok`). The key is sent as ``X-API-KEY`` and read
only from ``USPTO_ODP_API_KEY``; it never appears in a log line, landing row or error message
(URLs are passed through :func:`redact`, and the key is never put in a URL).

ODP quirks handled here (docs/uspto-odp-notes.md §3-§6):

- a search with no hits is a 404 whose body says so (``code`` "404" or 404, or
  ``error``/``errorDetails``): returned as an empty page, not an error;
- deep paging stops at about 10,000 results per query: :func:`plan_slices` splits the filing
  date range until every slice fits;
- a page over 6 MB is a 413: :meth:`OdpClient.search_page` halves the page size and asks again;
- the PatentsView PatentSearch API (search.patentsview.org) is gone since 2026-03-20:
  :func:`patentsearch_health` says so plainly instead of pretending to be a client.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from ..config import secret
from ..errors import (
    AuthError,
    PermanentSourceError,
    QuotaError,
    SourceError,
    TransientSourceError,
    is_transient_status,
)
from ..normalize.uspto_odp import classify_payload, error_info, is_no_hits
from ._http import (
    Clock,
    PacingTransport,
    RetryPolicy,
    RetryTransport,
    describe_error,
    json_body_ok,
    make_client,
    redact,
)

BASE_URL = "https://api.uspto.gov"
KEY_ENV = "USPTO_ODP_API_KEY"
SEARCH_PATH = "/api/v1/patent/applications/search"
PAGING_CAP = 10_000          # offset + limit ceiling reported for ODP searches
DEFAULT_INTERVAL = 0.25      # seconds between requests: <= 4 requests/s, one at a time


class OdpError(SourceError):
    """ODP answered with an error patentscope cannot work around (see the subclasses)."""


class OdpUnavailableError(OdpError, TransientSourceError):
    """The network, or ODP busy or down after the retries; run again later (the cursor resumes)."""


class OdpQuotaError(OdpError, QuotaError):
    """HTTP 429 after the retries: the per-key rate or the weekly quota is used up."""


class OdpRejectedError(OdpError, PermanentSourceError):
    """ODP refused the request or answered something unreadable."""


class OdpAuthError(AuthError):
    """The key was refused (or the route does not exist: ODP answers both with 401/403)."""


class PayloadTooLarge(OdpRejectedError):
    """HTTP 413: the page is over ODP's 6 MB response limit."""


def odp_http_error(status: int) -> type[OdpError]:
    return OdpUnavailableError if is_transient_status(status) else OdpRejectedError


@dataclass(frozen=True)
class Fetched:
    """One response as received: what was asked (without credentials), status and bytes."""
    request: str
    status: int
    content: bytes
    content_type: str | None
    fetched_at: dt.datetime

    def json(self) -> Any:
        return json.loads(self.content) if self.content.strip() else None


def build_transport(
    inner: httpx.BaseTransport | None = None,
    *,
    clock: Clock | None = None,
    policy: RetryPolicy | None = None,
    min_interval: float = DEFAULT_INTERVAL,
    on_retry: Callable[[str, float], None] | None = None,
) -> httpx.BaseTransport:
    """Retry around pacing around the real (or a test's) transport."""
    clock = clock or Clock()
    paced = PacingTransport(inner or httpx.HTTPTransport(retries=1), min_interval=min_interval, clock=clock)
    return RetryTransport(paced, policy or RetryPolicy(), clock=clock, validate=json_body_ok, on_retry=on_retry)


class OdpClient:
    """The Patent File Wrapper and bulk-dataset endpoints, one sequential worker per key."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
        policy: RetryPolicy | None = None,
        min_interval: float = DEFAULT_INTERVAL,
        base_url: str = BASE_URL,
        on_retry: Callable[[str, float], None] | None = None,
    ):
        key = api_key if api_key is not None else secret(KEY_ENV)
        self.clock = clock or Clock()
        self.policy = policy or RetryPolicy()
        self.http = make_client(
            build_transport(transport, clock=self.clock, policy=self.policy, min_interval=min_interval, on_retry=on_retry),
            base_url=base_url, headers={"X-API-KEY": key, "Accept": "application/json"},
            follow_redirects=False,  # the key is a plain header: never follow a redirect to another host with it
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> OdpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def request(self, method: str, path: str, *, body: dict[str, Any] | None = None,
                params: dict[str, Any] | None = None) -> Fetched:
        try:
            resp = self.http.request(method, path, json=body, params=params)
        except httpx.TransportError as e:
            raise OdpUnavailableError(f"ODP did not answer ({type(e).__name__}: {redact(str(e))}); check the network and try again") from None
        what = redact(resp.request.url) + (f" {json.dumps(body, sort_keys=True)}" if body is not None else "")
        fetched = Fetched(what, resp.status_code, resp.content, resp.headers.get("content-type"), self.clock.now())
        self._check(resp, fetched)
        return fetched

    def _check(self, resp: httpx.Response, fetched: Fetched) -> None:
        status = resp.status_code
        if 200 <= status < 300:
            return
        try:
            body = resp.json()
        except ValueError:
            body = None
        if status == 404 and is_no_hits(status, body):
            return
        if status in (401, 403):
            _, msg = error_info(body)
            raise OdpAuthError(
                f"ODP refused {redact(resp.request.url)} (HTTP {status}: {msg or 'forbidden'}); check that {KEY_ENV} "
                "holds a current ODP key (data.uspto.gov -> My ODP). ODP also answers 403 'Missing Authentication Token' "
                "for a route that does not exist")
        if status == 413:
            raise PayloadTooLarge(describe_error(resp))
        if status == 429:
            raise OdpQuotaError(f"{describe_error(resp)} after {self.policy.attempts} attempts: the per-key rate or the weekly "
                           "quota (resets Sunday 00:00 UTC) is exhausted; run again later, the cursor resumes")
        raise odp_http_error(status)(describe_error(resp))

    # -- Patent File Wrapper ----------------------------------------------------------------

    def search_page(self, body: dict[str, Any]) -> Fetched:
        """POST one search; a no-hits 404 comes back as a Fetched with status 404."""
        return self.request("POST", SEARCH_PATH, body=body)

    def application(self, application_number: str, part: str | None = None) -> Fetched:
        """GET the full record, or one part: continuity, adjustment, transactions, assignment, ..."""
        path = f"/api/v1/patent/applications/{application_number}" + (f"/{part}" if part else "")
        return self.request("GET", path)

    # -- bulk datasets ------------------------------------------------------------------------

    def product(self, product_id: str) -> Fetched:
        """The product with its file bag. ODP filters the bag oddly when fileDataFromDate/ToDate
        are sent (docs/uspto-odp-notes.md §7), so they never are."""
        return self.request("GET", f"/api/v1/datasets/products/{product_id}")


# --------------------------------------------------------------------------------------------
# searching the landscape


def search_body(q: str, date_from: dt.date, date_to: dt.date, *, offset: int = 0, limit: int = 25,
                fields: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "q": q,
        "rangeFilters": [{"field": "applicationMetaData.filingDate", "valueFrom": date_from.isoformat(),
                          "valueTo": date_to.isoformat()}],
        "sort": [{"field": "applicationMetaData.filingDate", "order": "asc"},
                 {"field": "applicationNumberText", "order": "asc"}],
        "pagination": {"offset": offset, "limit": limit},
    }
    if fields:
        body["fields"] = fields
    return body


def count_hits(client: OdpClient, q: str, date_from: dt.date, date_to: dt.date) -> int:
    f = client.search_page(search_body(q, date_from, date_to, limit=1, fields=["applicationNumberText"]))
    info = classify_payload(f.json(), f.status)
    return 0 if info.kind == "no_hits" else int(info.count or 0)


def plan_slices(client: OdpClient, q: str, date_from: dt.date, date_to: dt.date, *, cap: int = PAGING_CAP,
                log: Callable[[str], None] = lambda _m: None) -> list[tuple[dt.date, dt.date, int]]:
    """Filing-date ranges whose hit counts each fit under the paging cap (split in halves)."""
    n = count_hits(client, q, date_from, date_to)
    if n <= cap:
        return [(date_from, date_to, n)] if n else []
    if date_from >= date_to:
        log(f"warning: {n} hits filed on {date_from} alone exceed the {cap}-result paging cap; only the first {cap} are read")
        return [(date_from, date_to, cap)]
    mid = date_from + (date_to - date_from) // 2
    return (plan_slices(client, q, date_from, mid, cap=cap, log=log)
            + plan_slices(client, q, mid + dt.timedelta(days=1), date_to, cap=cap, log=log))


@dataclass(frozen=True)
class Page:
    slice_from: dt.date
    slice_to: dt.date
    offset: int
    next_offset: int
    total: int
    fetched: Fetched
    records: list[dict[str, Any]]


def iter_pages(client: OdpClient, q: str, slice_from: dt.date, slice_to: dt.date, total: int, *, start: int = 0,
               limit: int = 25, cap: int = PAGING_CAP, log: Callable[[str], None] = lambda _m: None) -> Iterator[Page]:
    """Full records of one slice, page by page from offset ``start``; a 413 halves the page."""
    offset = start
    end = min(total, cap)
    while offset < end:
        size = min(limit, end - offset)
        try:
            f = client.search_page(search_body(q, slice_from, slice_to, offset=offset, limit=size))
        except PayloadTooLarge:
            if size == 1:
                raise OdpRejectedError(f"ODP refuses even a one-record page at offset {offset} (HTTP 413)") from None
            limit = max(1, size // 2)
            log(f"page of {size} records over ODP's 6 MB limit; asking for {limit}")
            continue
        info = classify_payload(f.json(), f.status)
        records = info.records if info.kind == "applications" else []
        nxt = offset + (len(records) or size)
        yield Page(slice_from, slice_to, offset, nxt, total, f, records)
        if not records:
            break
        offset = nxt


# --------------------------------------------------------------------------------------------
# PatentsView PatentSearch: a health check, not a client


PATENTSEARCH_HOST = "search.patentsview.org"


def patentsearch_health(resolve: Callable[[str], object] | None = None) -> tuple[bool, str]:
    """Whether the PatentsView PatentSearch API can be reached, as a plain sentence.

    It was shut down when PatentsView moved into the ODP (2026-03-20); its host stopped
    resolving (docs/uspto-odp-notes.md §1). patentscope does not build on it.
    """
    resolve = resolve or (lambda host: socket.getaddrinfo(host, 443))
    try:
        resolve(PATENTSEARCH_HOST)
    except OSError as e:
        return False, (f"The PatentsView PatentSearch API is unreachable: {PATENTSEARCH_HOST} does not resolve ({e}). "
                       "It was retired when PatentsView moved into the USPTO Open Data Portal on 2026-03-20; use "
                       "`patentscope ingest bulk` (PVGPATDIS tables) and `patentscope ingest odp` instead.")
    return True, (f"{PATENTSEARCH_HOST} resolves, but patentscope does not use the PatentSearch API (reported "
                  "paused since 2026-03-20); use `patentscope ingest bulk` and `patentscope ingest odp`.")
