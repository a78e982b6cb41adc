"""Secret-echo tests: a loopback server that echoes the key, the secret and the access token in
its error bodies leaves no trace of them in any output, table or file.

The server is a real HTTP server on 127.0.0.1 started by the test (no other network)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from patentscope import redact
from patentscope.cli import main
from patentscope.errors import PatentscopeError
from patentscope.redact import REDACTED, scrub, scrub_value, secret_key_name

KEY = "OPSKEY-4f9c2a71d3"
SECRET = "OPSSECRET-88b1e0c4aa"
TOKEN = "tok-Zx81Qw55Lm09Rt"
ODP_KEY = "odpkey-a1b2c3d4e5f6g7"
BASIC = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
NEEDLES = (KEY, SECRET, TOKEN, ODP_KEY, BASIC)


class _Echo(BaseHTTPRequestHandler):
    """Token endpoint issues TOKEN; every data request fails with a body echoing all credentials."""

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _echo(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path.endswith("/auth/accesstoken"):
            self._send(200, json.dumps({"access_token": TOKEN, "expires_in": "1199", "token_type": "BearerToken"}).encode(),
                       "application/json")
            return
        seen = self.headers.get("Authorization", "") + " " + self.headers.get("X-API-KEY", "")
        body = json.dumps({
            "message": f"bad request from {seen}; your key={KEY} secret={SECRET} token {TOKEN} odp {ODP_KEY}",
            "detailedMessage": f"Invalid request. Authorization: Bearer {TOKEN} api_key={ODP_KEY} key {KEY} {SECRET}",
        }).encode()
        self._send(400, body, "application/json")

    do_GET = _echo
    do_POST = _echo


@pytest.fixture()
def echo_server() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
        redact.forget_runtime()


@pytest.fixture()
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EPO_OPS_KEY", KEY)
    monkeypatch.setenv("EPO_OPS_SECRET", SECRET)
    monkeypatch.setenv("USPTO_ODP_API_KEY", ODP_KEY)


def _clean(text: str | bytes, where: str) -> None:
    data = text if isinstance(text, bytes) else text.encode()
    for n in NEEDLES:
        assert n.encode() not in data, f"{n!r} leaked into {where}"


def _all_text_cells(wh: Path) -> Iterator[tuple[str, str, str]]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        cols = con.execute("SELECT table_name, column_name FROM information_schema.columns c JOIN information_schema.tables t "
                           "USING (table_schema, table_name) WHERE table_schema = 'main' AND t.table_type = 'BASE TABLE' "
                           "AND data_type = 'VARCHAR'").fetchall()
        for table, col in cols:
            for (v,) in con.execute(f'SELECT "{col}" FROM "{table}" WHERE "{col}" IS NOT NULL').fetchall():
                yield table, col, v
    finally:
        con.close()


@pytest.mark.integration
def test_ops_server_echoing_key_and_token_leaves_no_trace(tmp_path: Path, echo_server: str, keys: None) -> None:
    wh = tmp_path / "w" / "patentscope.duckdb"
    cfg = tmp_path / "patentscope.toml"
    cfg.write_text(f'[sources.ops]\nbase_url = "{echo_server}"\n')
    runner = CliRunner()
    base = ["--config", str(cfg), "--warehouse", str(wh)]
    res = runner.invoke(main, [*base, "ingest", "ops", "--cql", "pa=neomax", "--no-family", "--no-legal"])
    assert res.exit_code not in (0, 70), res.output
    assert "HTTP 400" in res.output and REDACTED in res.output  # the echo arrived, scrubbed
    _clean(res.output, "ingest ops output")

    outputs = {
        "status": runner.invoke(main, [*base, "status"]),
        "status --json": runner.invoke(main, [*base, "status", "--json"]),
        "sql ingest_runs": runner.invoke(main, [*base, "sql", "SELECT * FROM ingest_runs", "--json"]),
        "query ingest_runs": runner.invoke(main, [*base, "query", "ingest_runs", "--csv"]),
    }
    for what, r in outputs.items():
        assert r.exit_code != 70, (what, r.output)
        _clean(r.output, what)
    assert REDACTED in outputs["sql ingest_runs"].output  # the failed run's message is there, scrubbed

    for fmt in ("csv", "parquet"):
        out = tmp_path / f"export-{fmt}"
        r = runner.invoke(main, [*base, "export", "--format", fmt, "--out", str(out)])
        assert r.exit_code == 0, r.output
        for f in out.iterdir():
            _clean(f.read_bytes(), f"export {f.name}")

    for table, col, v in _all_text_cells(wh):
        _clean(v, f"warehouse {table}.{col}")
    for f in tmp_path.rglob("*"):
        if f.is_file() and f.suffix not in (".duckdb", ".wal"):
            _clean(f.read_bytes(), f"file {f}")


def test_job_runner_logs_and_steps_are_scrubbed(tmp_path: Path, echo_server: str, keys: None) -> None:
    wh = tmp_path / "patentscope.duckdb"
    cfg = tmp_path / "patentscope.toml"
    cfg.write_text(f'[sources.ops]\nbase_url = "{echo_server}"\nqueries = ["pa=neomax"]\nfamily = false\nlegal = false\n')
    res = CliRunner().invoke(main, ["--config", str(cfg), "--warehouse", str(wh), "ingest", "--all", "--source", "ops", "--json",
                                    "--no-analyze"])
    assert res.exit_code not in (0, 70), res.output
    _clean(res.output, "job log")
    for table, col, v in _all_text_cells(wh):
        _clean(v, f"warehouse {table}.{col}")


def test_odp_client_error_echo_is_scrubbed(tmp_path: Path, echo_server: str, keys: None, landscape) -> None:
    from patentscope.ingest.us_odp import ingest_odp_live
    from patentscope.sources.uspto_odp import OdpClient

    wh = tmp_path / "patentscope.duckdb"
    with OdpClient(base_url=echo_server) as client:
        with pytest.raises(PatentscopeError) as ei:
            ingest_odp_live(wh, landscape, client, command="t", query="x", page_size=5)
    _clean(str(ei.value), "ODP error")
    for table, col, v in _all_text_cells(wh):
        _clean(v, f"warehouse {table}.{col}")


@pytest.mark.parametrize("text", [
    f"Authorization: Bearer {TOKEN}",
    f'{{"access_token": "{TOKEN}", "expires_in": 1199}}',
    f"GET https://user:{SECRET}@ops.epo.org/x failed",
    f"X-API-KEY: {ODP_KEY}",
    f"client_secret={SECRET}&grant_type=client_credentials",
    f"Basic {BASIC}",
])
def test_credential_shapes_are_scrubbed_without_registration(text: str) -> None:
    out = scrub(text)
    _clean(out, "scrub")
    assert REDACTED in out


def test_env_values_and_runtime_tokens_are_scrubbed_anywhere(keys: None) -> None:
    redact.register("runtime-token-777")
    try:
        out = scrub(f"x{KEY}y {SECRET}. {ODP_KEY}, runtime-token-777 {base64.b64encode(ODP_KEY.encode()).decode()}")
        _clean(out, "scrub")
        assert "runtime-token-777" not in out and out.count(REDACTED) == 5
        nested = scrub_value({"a": [f"k={KEY}", {"b": (TOKEN, 1)}], "n": 3})
        assert nested["n"] == 3 and KEY not in json.dumps(nested)
    finally:
        redact.forget_runtime()


@pytest.mark.parametrize("text", [
    "the bearer of the licence", "basic magnetization curve", "a trade secret: know-how", "token ring network",
    "keywords = [neodymium]", "Nd2Fe14B, R-T-B, https://patents.google.com/patent/US4770723A",
])
def test_patent_text_is_left_alone(text: str) -> None:
    assert scrub(text) == text


@pytest.mark.parametrize("name,secret", [
    ("api_key", True), ("apiKey", True), ("client-secret", True), ("token", True), ("auth", True),
    ("password", True), ("keywords", False), ("key_env", False), ("monkey", False), ("strong", False),
])
def test_secret_key_names(name: str, secret: bool) -> None:
    assert secret_key_name(name) is secret


@pytest.mark.parametrize("toml", [
    '[sources.ops]\napi_key = ["abc123456"]\n',
    '[sources.ops]\ntoken = 1234567890123\n',
    '[sources.ops]\nbase_url = "https://me:hunter22@ops.epo.org"\n',
    '[sources.ops]\nheaders = ["Authorization: Bearer abc.def.123456"]\n',
    f'[sources.ops]\nnote = "{SECRET}"\n',
])
def test_key_like_settings_refused_in_any_shape(tmp_path: Path, toml: str, keys: None) -> None:
    cfg = tmp_path / "patentscope.toml"
    cfg.write_text(toml)
    r = CliRunner().invoke(main, ["--config", str(cfg), "--warehouse", str(tmp_path / "w.duckdb"), "status"])
    assert r.exit_code == 2, r.output
    assert "secret" in r.output and "environment" in r.output
    _clean(r.output, "config error")
    assert "hunter22" not in r.output
