"""Downloads of ODP bulk-product files (PatentsView PVGPATDIS tables, PTMNFEE2): network only.

ODP lets one key download the same file only about 20 times a year (docs/uspto-odp-notes.md §6),
so a download here is never repeated and never restarted when it can be resumed:

- files are kept under ``<dest>/<product>/<file's last-modified stamp>/<fileName>``; a file that
  is already there with the size the product lists is used as it is (no request at all);
- an interrupted transfer leaves ``<fileName>.part``; the next attempt asks for the rest with
  ``Range: bytes=<size>-`` and appends (a server that ignores the range and answers 200 makes
  the part start over - the only case that re-reads bytes already held);
- ``GET /api/v1/datasets/products/files/{product}/{fileName}`` answers with a redirect to a
  short-lived signed URL; the redirect is followed by hand so the ``X-API-KEY`` header is sent
  to api.uspto.gov only, never to the storage host;
- every transfer start is appended to ``downloads.jsonl`` beside the files, so the yearly count
  per file can be checked (a warning is printed from the 15th transfer of a file in 365 days).

Bodies are streamed to disk as they arrive (the retry transport of :mod:`._http` buffers whole
bodies, so it is used for the small product JSON only); requests are paced by
:class:`PacingTransport` (ODP: 5 files per 10 s per IP).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ..config import secret
from ..errors import InputError
from ._http import Clock, PacingTransport, RetryPolicy, describe_error, make_client, parse_retry_after, redact
from .uspto_odp import BASE_URL, KEY_ENV, OdpAuthError, OdpClient, OdpRejectedError, OdpUnavailableError

FILES_PATH = "/api/v1/datasets/products/files/{product}/{name}"
YEARLY_WARN = 15


@dataclass(frozen=True)
class ProductFile:
    product: str
    name: str
    size: int | None
    last_modified: str | None     # fileLastModifiedDateTime
    release_date: str | None      # fileReleaseDate
    data_from: str | None
    data_to: str | None
    uri: str | None               # fileDownloadURI as listed

    @property
    def stamp(self) -> str:
        """A folder name for this version of the file."""
        raw = self.last_modified or self.release_date or "undated"
        return re.sub(r"[^0-9A-Za-z]+", "", raw) or "undated"


@dataclass(frozen=True)
class Product:
    product: str
    last_modified: str | None
    data_from: str | None
    data_to: str | None
    files: tuple[ProductFile, ...]

    @property
    def release(self) -> str:
        return f"{self.product}@{self.last_modified or 'unknown'}"


def parse_product(body: Any, product_id: str) -> Product:
    """The product JSON (``bulkDataProductBag[0]`` with ``productFileBag.fileDataBag``)."""
    bag = body.get("bulkDataProductBag") if isinstance(body, dict) else None
    items = [p for p in bag or [] if isinstance(p, dict)]
    prod = next((p for p in items if p.get("productIdentifier") == product_id), items[0] if items else None)
    if prod is None:
        raise OdpRejectedError(f"ODP returned no product {product_id}")
    files_bag = (prod.get("productFileBag") or {}).get("fileDataBag") or []
    files = tuple(
        ProductFile(product_id, str(f.get("fileName")), f.get("fileSize") if isinstance(f.get("fileSize"), int) else None,
                    f.get("fileLastModifiedDateTime"), f.get("fileReleaseDate"), f.get("fileDataFromDate"),
                    f.get("fileDataToDate"), f.get("fileDownloadURI"))
        for f in files_bag if isinstance(f, dict) and f.get("fileName"))
    return Product(product_id, prod.get("lastModifiedDateTime"), prod.get("productFromDate"), prod.get("productToDate"), files)


class BulkDownloader:
    """Fetch product listings and files for one key."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
        policy: RetryPolicy | None = None,
        base_url: str = BASE_URL,
        min_interval: float = 2.0,
        log: Callable[[str], None] = lambda _m: None,
    ):
        self.key = api_key if api_key is not None else secret(KEY_ENV)
        self.clock = clock or Clock()
        self.policy = policy or RetryPolicy()
        self.base_url = base_url
        self.log = log
        self._inner = transport or httpx.HTTPTransport(retries=1)
        self.api = OdpClient(self.key, transport=self._inner, clock=self.clock, policy=self.policy, base_url=base_url,
                             min_interval=min_interval)
        paced = PacingTransport(self._inner, min_interval=min_interval, clock=self.clock)
        self.files_http = make_client(paced, timeout=120.0)
        self.files_http.follow_redirects = False

    def close(self) -> None:
        self.files_http.close()
        self.api.close()

    def __enter__(self) -> BulkDownloader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def product(self, product_id: str) -> tuple[Product, bytes]:
        f = self.api.product(product_id)
        return parse_product(f.json(), product_id), f.content

    # -- one file -----------------------------------------------------------------------------

    def download(self, pf: ProductFile, dest_root: Path) -> Path:
        """The file on disk: already there, resumed from a .part, or fetched."""
        folder = dest_root / pf.product / pf.stamp
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / pf.name
        if final.exists() and (pf.size is None or final.stat().st_size == pf.size):
            self.log(f"{pf.name}: already downloaded ({final}); not fetched again")
            return final
        part = folder / (pf.name + ".part")
        url = self.base_url + FILES_PATH.format(product=pf.product, name=pf.name)
        attempt = 0
        while True:
            attempt += 1
            offset = part.stat().st_size if part.exists() else 0
            if pf.size is not None and offset == pf.size:
                break
            if pf.size is not None and offset > pf.size:
                part.unlink()
                offset = 0
            try:
                done = self._transfer(url, pf, part, offset, folder)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, _Retry) as e:
                if attempt >= self.policy.attempts:
                    raise OdpUnavailableError(f"{pf.name}: download failed after {attempt} attempts ({e}); run again to resume "
                                   f"from {part.stat().st_size if part.exists() else 0} bytes") from None
                wait = e.wait if isinstance(e, _Retry) and e.wait is not None else min(
                    self.policy.max_wait, self.policy.initial_wait * 2 ** (attempt - 1))
                self.log(f"{pf.name}: {e}; resuming in {wait:.0f} s")
                self.clock.sleep(wait)
                continue
            if done:
                break
        size = part.stat().st_size
        if pf.size is not None and size != pf.size:
            raise OdpUnavailableError(f"{pf.name}: got {size} bytes, the product lists {pf.size}; run again to resume")
        part.replace(final)
        self.log(f"{pf.name}: downloaded {size:,} bytes to {final}")
        return final

    def _transfer(self, url: str, pf: ProductFile, part: Path, offset: int, folder: Path) -> bool:
        headers = {"X-API-KEY": self.key}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        resp = self.files_http.send(self.files_http.build_request("GET", url, headers=headers), stream=True)
        hops = 0
        while resp.is_redirect and hops < 5:
            location = resp.headers.get("location", "")
            resp.close()
            target = httpx.URL(url).join(location)
            hdrs = {"Range": f"bytes={offset}-"} if offset else {}
            if target.host == httpx.URL(self.base_url).host:
                hdrs["X-API-KEY"] = self.key  # the key goes to api.uspto.gov only
            resp = self.files_http.send(self.files_http.build_request("GET", target, headers=hdrs), stream=True)
            hops += 1
        try:
            status = resp.status_code
            if status in (401, 403):
                raise OdpAuthError(f"ODP refused the download of {pf.name} (HTTP {status}); check {KEY_ENV}")
            if status == 404:
                raise InputError(f"ODP has no file {pf.name} in product {pf.product} (HTTP 404)")
            if status == 416:
                return True  # nothing left to send: the part is complete (sizes are checked by the caller)
            if status == 429 or status >= 500:
                resp.read()
                ra = parse_retry_after(resp.headers.get("Retry-After"), self.clock.now())
                wait = ra if ra is not None else (self.policy.min_429_wait if status == 429 else None)
                raise _Retry(f"HTTP {status}", wait)
            if status not in (200, 206):
                resp.read()
                raise OdpRejectedError(describe_error(resp))
            mode = "ab"
            if status == 206:
                m = re.match(r"bytes (\d+)-", resp.headers.get("content-range", ""))
                if not m or int(m.group(1)) != offset:
                    raise _Retry(f"server resumed at {m.group(1) if m else '?'} instead of {offset}", None)
            elif offset:
                self.log(f"{pf.name}: the server ignored the range request; starting the file over")
                mode = "wb"
            self._ledger(folder, pf, offset if status == 206 else 0, redact(str(resp.request.url)))
            with open(part, mode) as out:
                for chunk in resp.iter_bytes():  # as received: a reset loses nothing already read
                    out.write(chunk)
            expected_end = resp.headers.get("content-length")
            if expected_end is not None and status == 200 and part.stat().st_size != int(expected_end):
                raise _Retry("body shorter than its Content-Length", None)
            return pf.size is None or part.stat().st_size >= pf.size
        finally:
            resp.close()

    def _ledger(self, folder: Path, pf: ProductFile, offset: int, where: str) -> None:
        ledger = folder.parent / "downloads.jsonl"
        now = self.clock.now()
        entry = {"file": pf.name, "stamp": pf.stamp, "offset": offset, "at": now.isoformat(), "url": where.split("?")[0]}
        recent = 0
        if ledger.exists():
            for line in ledger.read_text(encoding="utf-8").splitlines():
                try:
                    e = json.loads(line)
                    when = dt.datetime.fromisoformat(e["at"])
                except (ValueError, KeyError):
                    continue
                if e.get("file") == pf.name and (now - when).days < 365:
                    recent += 1
        with open(ledger, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
        if recent + 1 >= YEARLY_WARN:
            self.log(f"warning: {pf.name} has been transferred {recent + 1} times in the last 365 days "
                     "(ODP allows about 20 per key per year)")


class _Retry(Exception):
    def __init__(self, reason: str, wait: float | None):
        super().__init__(reason)
        self.wait = wait
