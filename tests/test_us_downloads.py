"""ODP bulk downloads against a fake api.uspto.gov + storage host (httpx.MockTransport): a reset
mid-transfer resumes with Range, a file already held is never fetched again, the key is sent to
api.uspto.gov only, and `ingest bulk --download` loads what it fetched. The product listing and
the tables served are SYNTHETIC (benchmarks/synthetic_patentsview.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import duckdb
import httpx
import pytest
from click.testing import CliRunner

from patentscope.errors import InputError
from patentscope.sources._http import Clock, FakeClock
from patentscope.sources.uspto_bulk import BulkDownloader, ProductFile

REPO = Path(__file__).resolve().parents[1]
KEY = "test-key-NOT-REAL-91ab"
PAYLOAD = bytes(range(256)) * 4096  # 1 MiB of test bytes


class FlakyStream(httpx.SyncByteStream):
    def __init__(self, data: bytes, fail_after: int | None):
        self.data, self.fail_after = data, fail_after

    def __iter__(self):
        if self.fail_after is None:
            yield self.data
            return
        yield self.data[: self.fail_after]
        raise httpx.ReadError("connection reset by peer")


class FakeStore:
    """api.uspto.gov answers the files URL with a redirect to a signed storage URL."""

    def __init__(self, files: dict[str, bytes], *, resets: int = 0, ignore_range: bool = False, faults=()):
        self.files, self.resets, self.ignore_range = files, resets, ignore_range
        self.faults = list(faults)
        self.calls: list[httpx.Request] = []

    def product_json(self) -> dict:
        bag = [{"fileName": n, "fileSize": len(b), "fileDataFromDate": "1976-01-01", "fileDataToDate": "2025-12-31",
                "fileTypeText": "Data", "fileDownloadURI": f"https://api.uspto.gov/api/v1/datasets/products/files/PVGPATDIS/{n}",
                "fileReleaseDate": "2026-03-12", "fileLastModifiedDateTime": "2026-03-12 00:03:40"} for n, b in self.files.items()]
        return {"count": 1, "bulkDataProductBag": [{
            "productIdentifier": "PVGPATDIS", "productTitleText": "SYNTHETIC listing for tests",
            "productFromDate": "1976-01-01", "productToDate": "2025-12-31", "lastModifiedDateTime": "2026-03-12 00:03:40",
            "productFileBag": {"count": len(bag), "fileDataBag": bag}}]}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if self.faults:
            return self.faults.pop(0)()
        url = request.url
        if url.host == "api.uspto.gov":
            if request.headers.get("X-API-KEY") != KEY:
                return httpx.Response(403, json={"message": "Forbidden"})
            if url.path == "/api/v1/datasets/products/PVGPATDIS":
                return httpx.Response(200, json=self.product_json())
            name = url.path.rsplit("/", 1)[1]
            if name not in self.files:
                return httpx.Response(404, json={"code": 404, "message": "Not Found"})
            return httpx.Response(302, headers={"Location": f"https://storage.test/signed/{name}?X-Amz-Signature=abc"})
        assert url.host == "storage.test" and "X-API-KEY" not in request.headers  # the key stays with api.uspto.gov
        data = self.files[url.path.rsplit("/", 1)[1]]
        start = 0
        rng = request.headers.get("Range")
        if rng and not self.ignore_range:
            start = int(rng.split("=")[1].rstrip("-"))
        body = data[start:]
        fail = None
        if self.resets:
            self.resets -= 1
            fail = len(body) // 3
        headers = {"content-length": str(len(body))}
        if start:
            headers["content-range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            return httpx.Response(206, headers=headers, stream=FlakyStream(body, fail))
        return httpx.Response(200, headers=headers, stream=FlakyStream(body, fail))


def pf(name: str, size: int) -> ProductFile:
    return ProductFile("PVGPATDIS", name, size, "2026-03-12 00:03:40", "2026-03-12", None, None, None)


def downloader(store, clock=None) -> BulkDownloader:
    return BulkDownloader(KEY, transport=httpx.MockTransport(store), clock=clock or FakeClock(), min_interval=0)


def test_reset_mid_transfer_resumes_with_range(tmp_path):
    store = FakeStore({"g_patent.tsv.zip": PAYLOAD}, resets=2)
    clock = FakeClock()
    with downloader(store, clock) as dl:
        path = dl.download(pf("g_patent.tsv.zip", len(PAYLOAD)), tmp_path)
    assert path.read_bytes() == PAYLOAD and path == tmp_path / "PVGPATDIS" / "20260312000340" / "g_patent.tsv.zip"
    ranges = [r.headers.get("Range") for r in store.calls if r.url.host == "storage.test"]
    third = len(PAYLOAD) // 3
    assert ranges == [None, f"bytes={third}-", f"bytes={third + (len(PAYLOAD) - third) // 3}-"]
    assert clock.sleeps == [1.0, 2.0]
    ledger = [json.loads(x) for x in (path.parent.parent / "downloads.jsonl").read_text().splitlines()]
    assert [e["offset"] for e in ledger] == [0, third, third + (len(PAYLOAD) - third) // 3]
    assert all(KEY not in json.dumps(e) for e in ledger)
    # held already: no request at all
    store.calls.clear()
    with downloader(store) as dl:
        assert dl.download(pf("g_patent.tsv.zip", len(PAYLOAD)), tmp_path) == path
    assert store.calls == []


def test_a_server_ignoring_range_restarts_the_part(tmp_path):
    folder = tmp_path / "PVGPATDIS" / "20260312000340"
    folder.mkdir(parents=True)
    (folder / "g_patent.tsv.zip.part").write_bytes(b"x" * 1000)  # wrong bytes from an earlier attempt
    store = FakeStore({"g_patent.tsv.zip": PAYLOAD}, ignore_range=True)
    logs = []
    with BulkDownloader(KEY, transport=httpx.MockTransport(store), clock=FakeClock(), min_interval=0, log=logs.append) as dl:
        path = dl.download(pf("g_patent.tsv.zip", len(PAYLOAD)), tmp_path)
    assert path.read_bytes() == PAYLOAD and any("ignored the range" in m for m in logs)


def test_429_and_404_on_the_files_url(tmp_path):
    store = FakeStore({"g_patent.tsv.zip": PAYLOAD}, faults=[lambda: httpx.Response(429, json={"message": "Too Many Requests"})])
    clock = FakeClock()
    with downloader(store, clock) as dl:
        dl.download(pf("g_patent.tsv.zip", len(PAYLOAD)), tmp_path)
        with pytest.raises(InputError, match="no file g_nope.tsv.zip"):
            dl.download(pf("g_nope.tsv.zip", 10), tmp_path)
    assert clock.sleeps == [5.0]


def test_ingest_bulk_download_end_to_end(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("synthetic_patentsview", REPO / "benchmarks" / "synthetic_patentsview.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    src = tmp_path / "synthetic"
    gen.generate(src, 6000, seed=3, landscape_share=0.05, log=lambda m: None)
    store = FakeStore({p.name: p.read_bytes() for p in src.glob("*.tsv.zip")}, resets=1)
    real_transport = httpx.HTTPTransport
    monkeypatch.setattr(httpx, "HTTPTransport", lambda *a, **k: httpx.MockTransport(store))
    waits: list[float] = []
    monkeypatch.setattr(Clock, "sleep", lambda self, s: waits.append(s))  # the CLI's real clock: no real waiting
    from patentscope.cli import main

    wh = tmp_path / "wh" / "patentscope.duckdb"
    runner = CliRunner()
    env = {"USPTO_ODP_API_KEY": KEY, "PATENTSCOPE_CONFIG": "", "PATENTSCOPE_WAREHOUSE": "", "PATENTSCOPE_LANDSCAPE": ""}
    r = runner.invoke(main, ["--warehouse", str(wh), "ingest", "bulk", "--download"], env=env)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout[r.stdout.index("{"):])
    assert out["release"] == "PVGPATDIS@2026-03-12 00:03:40" and out["loaded"]["landscape"] > 0
    assert KEY not in r.output
    r2 = runner.invoke(main, ["--warehouse", str(wh), "ingest", "bulk", "--download"], env=env)
    assert r2.exit_code == 0 and json.loads(r2.stdout[r2.stdout.index("{"):])["skipped"] is True
    storage_calls = [c for c in store.calls if c.url.host == "storage.test"]
    assert len(storage_calls) == 9  # 8 files, one reset once; nothing fetched again on the second run
    assert waits and max(waits) <= 2.0  # pacing (5 files / 10 s per IP) and one back-off
    con = duckdb.connect(str(wh), read_only=True)
    try:
        reqs = [r[0] for r in con.execute("SELECT request FROM raw_landing ORDER BY 1").fetchall()]
        assert any(q.endswith("/files/PVGPATDIS/g_patent.tsv.zip") for q in reqs) and all(KEY not in q for q in reqs)
    finally:
        con.close()
    monkeypatch.setattr(httpx, "HTTPTransport", real_transport)
