"""`patentscope ingest --all` (patentscope/jobs/): configuration lookup and validation, exit codes
(ok, configuration error, lock held, partial, all failed), readers during an ingest, secrets,
JSON log lines, the run record and incremental windows.

Sources run offline on recorded real data (tests/test_jobs_support.py): Google Patents / Lens
export rows, EPO OPS and USPTO ODP replayed through httpx.MockTransport, the edegan
maintenance-fee rows. API keys are fake values set for the test."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from test_jobs_support import (
    EXPORTS,
    FAKE_ENV,
    TODAY,
    FakeOdp,
    run_job,
    settings_for,
    write_config,
)
from test_ops_support import FakeOps

from patentscope.cli import main
from patentscope.config import load_settings
from patentscope.errors import ConfigError
from patentscope.jobs import JobLog, load_plan, run_all, scrub

# whole `ingest --all` jobs against loopback servers: run with `pytest -m integration`
pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
GOOGLE = EXPORTS / "google_patents_sample_rows.csv"


def rows(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def cli(args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


# ------------------------------------------------------------------------------------------------
# configuration


def test_config_lookup_order_flag_env_cwd_user(tmp_path, monkeypatch):
    for var in ("PATENTSCOPE_CONFIG", "PATENTSCOPE_WAREHOUSE"):
        monkeypatch.delenv(var, raising=False)
    user = tmp_path / "xdg" / "patentscope"
    cwd, envdir, flagdir = tmp_path / "cwd", tmp_path / "envdir", tmp_path / "flagdir"
    for d in (cwd, envdir, flagdir):
        d.mkdir()
    cfgs = {name: write_config(folder, {"file": {"paths": [f"{name}.csv"]}}, warehouse=f"{name}.duckdb")
            for name, folder in (("user", user), ("cwd", cwd), ("env", envdir), ("flag", flagdir))}
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)  # no ./patentscope.toml here: the user file is found

    def used(**kw) -> tuple[str, Path]:
        s = load_settings(**kw)
        plan = load_plan(s)
        return Path(plan.sources[0].options["paths"][0]).stem, s.warehouse

    assert used() == ("user", user / "user.duckdb")  # relative paths: relative to the config file
    monkeypatch.chdir(cwd)
    assert used() == ("cwd", cwd / "cwd.duckdb")
    monkeypatch.setenv("PATENTSCOPE_CONFIG", str(cfgs["env"]))
    assert used() == ("env", envdir / "env.duckdb")
    assert used(config=cfgs["flag"]) == ("flag", flagdir / "flag.duckdb")
    monkeypatch.setenv("PATENTSCOPE_WAREHOUSE", str(tmp_path / "from-env.duckdb"))
    assert used(config=cfgs["flag"])[1] == tmp_path / "from-env.duckdb"           # env beats the file
    assert used(config=cfgs["flag"], warehouse=tmp_path / "f.duckdb")[1] == tmp_path / "f.duckdb"  # the flag beats env


def test_config_flag_through_the_cli_and_its_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PATENTSCOPE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    bad = {
        "typo": ({"file": {"path": ["x.csv"]}}, "unknown key 'path' in [sources.file]"),
        "source": ({"lens": {}}, "unknown source [sources.lens]"),
        "retired": ({"patentsview": {}}, "retired on 2026-03-20"),
        "type": ({"ops": {"overlap_days": "thirty"}}, "[sources.ops].overlap_days must be a whole number"),
        "date": ({"uspto_odp": {"since": "last year"}}, "must be a date YYYY-MM-DD"),
        "empty": ({"sample": {"enabled": False}}, "no source is enabled"),
        "bulk": ({"uspto_bulk": {}}, "give either directory"),
    }
    for name, (sources, msg) in bad.items():
        cfg = write_config(tmp_path / name, sources)
        r = cli(["--config", str(cfg), "ingest", "--all"])
        assert r.exit_code == 2, (name, r.output)
        assert msg in r.output and str(cfg) in r.output, (name, r.output)
        assert not (tmp_path / name / "wh").exists()  # refused before touching the warehouse
    r = cli(["ingest", "--all"])
    assert r.exit_code == 2 and "no patentscope.toml found" in r.output
    r = cli(["--config", str(tmp_path / "missing.toml"), "ingest", "--all"])
    assert r.exit_code == 2 and "missing.toml not found" in r.output
    ok = write_config(tmp_path / "ok", {"file": {"paths": [str(GOOGLE)]}})
    r = cli(["--config", str(ok), "ingest", "--all", "--source", "ops"])
    assert r.exit_code == 2 and "--source ops: no [sources.ops]" in r.output
    secretive = tmp_path / "secret.toml"
    secretive.write_text('[sources.ops]\napi_key = "abc"\n')
    r = cli(["--config", str(secretive), "ingest", "--all"])
    assert r.exit_code == 2 and "looks like a secret" in r.output


# ------------------------------------------------------------------------------------------------
# one clean multi-source job, watched from outside while it runs


@pytest.fixture()
def clean(clean_job):
    """One clean multi-source job (built once per session in conftest: test_jobs_faults compares with it)."""
    return clean_job


def test_clean_job_exit_0_and_one_json_line_per_step(clean):
    assert clean["code"] == 0, clean["log"]
    recs = [json.loads(line) for line in clean["log"].splitlines()]
    for r in recs:
        assert {"ts", "level", "source", "step", "status", "counts", "duration", "error", "message"} <= r.keys()
        assert r["level"] in ("info", "warning", "error") and r["ts"].endswith("Z")
    steps = [(r["source"], r["step"]) for r in recs if r["step"] not in ("migrate",)]
    assert steps == [(None, "start"), ("file", "ingest"), ("ops", "ingest"), ("uspto_odp", "ingest"), ("maintfee", "ingest"),
                     (None, "done")]
    by = {r["source"]: r for r in recs if r["step"] == "ingest"}
    assert by["ops"]["counts"]["publications"] > 0 and by["ops"]["window"] == ["1982-01-01", str(TODAY)]
    assert by["uspto_odp"]["counts"]["us_applications"] == 5 and by["uspto_odp"]["window"] == ["2000-01-01", str(TODAY)]
    assert by["file"]["rows_rejected"] == 1  # one real export row is quarantined; the step is still ok
    assert recs[-1]["exit_code"] == 0 and recs[-1]["status"] == "ok"


def test_readers_and_status_work_while_the_job_is_between_batches(clean):
    reader, status = clean["seen"]["reader"], clean["seen"]["status"]
    assert reader.returncode == 0, reader.stderr
    assert int(reader.stdout.splitlines()[1]) > 0  # the export rows saved before OPS started
    assert status.returncode == 0, status.stderr
    st = json.loads(status.stdout)
    assert st["lock"]["held"] and f"pid {os.getpid()}: patentscope ingest --all" in st["lock"]["holder"]
    assert st["last_job"]["status"] == "running"
    assert [s["step"] for s in st["last_job"]["steps"]] == ["file", "ops"]


def test_secrets_reach_no_log_line_no_warehouse_byte_no_raw_file(clean):
    needles = [*FAKE_ENV.values(),
               base64.b64encode(f"{FAKE_ENV['EPO_OPS_KEY']}:{FAKE_ENV['EPO_OPS_SECRET']}".encode()).decode(),
               "secret-token-value"]  # the fake OPS access tokens
    assert not [n for n in needles if n in clean["log"]]
    files = [p for p in clean["tmp"].rglob("*") if p.is_file() and p.name != "patentscope.toml"]
    assert any(p.name == "patentscope.duckdb" for p in files) and any("raw" in p.parts for p in files)
    for p in files:
        data = p.read_bytes()
        assert not [n for n in needles if n.encode() in data], p


def test_the_run_is_recorded_and_linked_to_the_ingest_runs(clean):
    wh = clean["wh"]
    (job,) = rows(wh, "SELECT job_id, status, exit_code, sources FROM job_runs")
    assert job[1:] == ("ok", 0, ["file", "ops", "uspto_odp", "maintfee"])
    steps = rows(wh, "SELECT step, status, run_ids, rows_loaded, window_from FROM job_steps ORDER BY seq")
    assert [s[:2] for s in steps] == [("file", "ok"), ("ops", "ok"), ("uspto_odp", "ok"), ("maintfee", "ok")]
    runs = dict(rows(wh, "SELECT run_id, source FROM ingest_runs"))
    assert [sorted({runs[i] for i in s[2]}) for s in steps] == [["file"], ["ops"], ["odp"], ["maintfee"]]
    assert all(s[3] > 0 for s in steps)


def test_second_run_is_incremental_with_overlap(clean, tmp_path):
    import shutil

    wh = tmp_path / "w.duckdb"
    shutil.copy(clean["wh"], wh)
    log = io.StringIO()
    assert run_job(clean["cfg"], wh, stream=log) == 0
    by = {r["source"]: r for r in map(json.loads, log.getvalue().splitlines()) if r["step"] == "ingest"}
    assert by["file"]["status"] == "skipped" and by["maintfee"]["status"] == "skipped"
    assert by["ops"]["window"] == ["2025-12-06", str(TODAY)]           # 30 days of overlap
    assert by["uspto_odp"]["window"] == ["2024-07-06", str(TODAY)]     # 548 days: applications publish late
    assert by["ops"]["counts"].get("publications", 0) == 0


# ------------------------------------------------------------------------------------------------
# exit codes


def test_lock_held_by_another_writer_exits_4(tmp_path, monkeypatch):
    wh = tmp_path / "w.duckdb"
    cfg = write_config(tmp_path, {"file": {"paths": [str(GOOGLE)]}})
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom patentscope.warehouse.connection import writer_lock\n"
         f"with writer_lock({str(wh)!r}, command='patentscope ingest bulk (test holder)'):\n"
         "    print('held', flush=True)\n    time.sleep(60)\n"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setenv("PATENTSCOPE_LOCK_WAIT", "0.3")
        log = io.StringIO()
        t0 = time.monotonic()
        code = run_all(settings_for(cfg, wh), stream=log, analyze=False)
        assert code == 4 and time.monotonic() - t0 < 5
        assert f"pid {holder.pid}: patentscope ingest bulk (test holder)" in log.getvalue()
        assert not wh.exists()  # nothing written
        r = cli(["--warehouse", str(wh), "--config", str(cfg), "ingest", "--all"], env={"PATENTSCOPE_LOCK_WAIT": "0.2"})
        assert r.exit_code == 4
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_partial_failure_6_all_failed_1_missing_key_2(tmp_path, monkeypatch):
    for k in FAKE_ENV:
        monkeypatch.delenv(k, raising=False)
    missing = str(tmp_path / "exports" / "not-there.csv")
    cases = {
        "partial": ({"file": {"paths": [str(GOOGLE), missing]}}, 6),
        "all_failed": ({"file": {"paths": [missing]}}, 1),
        # the key is missing: a configuration error (2), and the other source still loads
        "no_key": ({"file": {"paths": [str(GOOGLE)]}, "uspto_odp": {"since": "2020-01-01"}}, 2),
    }
    for name, (sources, want) in cases.items():
        folder = tmp_path / name
        cfg = write_config(folder, sources)
        wh = folder / "w.duckdb"
        log = io.StringIO()
        code = run_all(settings_for(cfg, wh), stream=log, analyze=False, today=TODAY)
        assert code == want, (name, log.getvalue())
        text = log.getvalue()
        if name != "all_failed":
            assert rows(wh, "SELECT count(*) FROM publications WHERE source = 'file'")[0][0] == 6  # the Google export's rows
        if name == "no_key":
            assert "USPTO_ODP_API_KEY is not set" in text
            assert rows(wh, "SELECT status, exit_code FROM job_runs") == [("partial", 2)]
            assert rows(wh, "SELECT step, status, error_kind FROM job_steps ORDER BY seq") == [
                ("file", "ok", None), ("uspto_odp", "failed", "config")]
        if name == "all_failed":
            assert rows(wh, "SELECT status, exit_code FROM job_runs") == [("failed", 1)]
            assert "not-there.csv: no such file or folder" in text


def test_transient_ops_token_failure_is_not_a_configuration_error(tmp_path, monkeypatch):
    """A 503 from the OPS token endpoint after every retry is a source failure (exit 6 with
    another source saved), not 'fix your credentials' (2)."""
    import httpx

    cfg = write_config(tmp_path, {"file": {"paths": [str(GOOGLE)]}, "ops": {}})
    ops = FakeOps()

    def token_down(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/accesstoken"):
            return httpx.Response(503, text="service unavailable")
        return ops.handle(request)

    from patentscope.sources._http import FakeClock

    for k, v in FAKE_ENV.items():
        monkeypatch.setenv(k, v)
    log = io.StringIO()
    code = run_all(settings_for(cfg, tmp_path / "w.duckdb"), stream=log, analyze=False, today=TODAY, clock=FakeClock(),
                   transports={"ops": httpx.MockTransport(token_down), "uspto_odp": httpx.MockTransport(FakeOdp())})
    assert code == 6, log.getvalue()
    assert "HTTP 503" in log.getvalue()


# ------------------------------------------------------------------------------------------------
# logging


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_and_quiet_keeps_errors():
    tty, plain, quiet = _Tty(), io.StringIO(), io.StringIO()
    for stream, kw in ((tty, {}), (plain, {}), (quiet, {"quiet": True})):
        log = JobLog(stream, **kw)
        log.ingestor("ops")("ops: step 1/3: 20 publications")
        log.emit("info", "ingest", source="ops", message="ok")
        log.emit("error", "ingest", source="file", message="failed: x.csv: no such file", error="x")
    assert "\r\x1b[2Kops: ops: step 1/3" in tty.getvalue()
    assert "\r" not in plain.getvalue() and "step 1/3" not in plain.getvalue()
    assert plain.getvalue().count("\n") == 2
    assert quiet.getvalue().count("\n") == 1 and "failed: x.csv" in quiet.getvalue()


def test_scrub_redacts_urls_and_secret_values(monkeypatch):
    monkeypatch.setenv("USPTO_ODP_API_KEY", "odp-real-looking-key-123")
    text = scrub("GET https://user:pw@api.example.org/x?api_key=abc&q=1 failed; key odp-real-looking-key-123 refused")
    assert "abc" not in text and "pw@" not in text and "odp-real-looking-key-123" not in text
    assert "api_key=REDACTED" in text and "q=1" in text


def test_load_plan_refuses_disabled_source_named_on_the_command_line(tmp_path):
    cfg = write_config(tmp_path, {"file": {"paths": [str(GOOGLE)]}, "ops": {"enabled": False}})
    with pytest.raises(ConfigError, match="enabled = false"):
        load_plan(load_settings(config=cfg), ["ops"])
    assert [s.name for s in load_plan(load_settings(config=cfg)).sources] == ["file"]
