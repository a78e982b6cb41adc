"""``patentscope ingest bigquery``: --print-sql (three forms), --from-export, the hint without the
extra, and the config checks."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

pytest.importorskip("sqlglot")

from patentscope.cli import main  # noqa: E402
from patentscope.landscape import load_landscape  # noqa: E402
from patentscope.sources import bigquery_sql as bq  # noqa: E402
from patentscope.testing import bigquery as tb  # noqa: E402

GOLDEN = Path(__file__).parent / "fixtures" / "bigquery"


def _run(args: list[str], tmp_path: Path, config: str | None = None):
    env = {"PATENTSCOPE_CONFIG": "", "PATENTSCOPE_WAREHOUSE": "", "PATENTSCOPE_LANDSCAPE": ""}
    extra = []
    if config is not None:
        cfg = tmp_path / "patentscope.toml"
        cfg.write_text(config, encoding="utf-8")
        extra = ["--config", str(cfg)]
    return CliRunner().invoke(main, ["--warehouse", str(tmp_path / "w.duckdb"), *extra, *args], env=env)


def test_print_sql_is_the_golden_script(tmp_path) -> None:
    res = _run(["ingest", "bigquery", "--print-sql"], tmp_path)
    assert res.exit_code == 0, res.output
    assert res.stdout == (GOLDEN / "default_landscape.sql").read_text(encoding="utf-8")
    assert not (tmp_path / "w.duckdb").exists()       # printing touches no warehouse


def test_print_sql_console_and_duckdb_dialect(tmp_path) -> None:
    res = _run(["ingest", "bigquery", "--print-sql", "--console"], tmp_path)
    assert res.exit_code == 0 and res.stdout.startswith("DECLARE ps_core_prefixes ARRAY<STRING> DEFAULT ['H01F1/057'")
    res = _run(["ingest", "bigquery", "--print-sql", "--dialect", "duckdb", "--no-keywords"], tmp_path)
    assert res.exit_code == 0
    assert '"patents-public-data"."patents"."publications"' in res.stdout and "$core_prefixes" in res.stdout
    assert "localized" not in res.stdout


def test_scratch_dataset_from_config_and_bad_keys(tmp_path) -> None:
    res = _run(["ingest", "bigquery", "--print-sql"], tmp_path, '[sources.bigquery]\nscratch_dataset = "my-proj-1.landscapes"\n')
    assert res.exit_code == 0 and "`my-proj-1.landscapes.ps_publications`" in res.stdout
    res = _run(["ingest", "bigquery", "--print-sql"], tmp_path, '[sources.bigquery]\nmax_bytes = 5\n')
    assert res.exit_code == 2 and "unknown key 'max_bytes'" in res.stderr and "max_bytes_billed" in res.stderr
    res = _run(["ingest", "bigquery", "--print-sql"], tmp_path, '[sources.bigquery]\nmax_bytes_billed = -1\n')
    assert res.exit_code == 2 and "positive whole number" in res.stderr


def test_without_the_extra_it_says_how_to_install(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "google.cloud.bigquery", None)
    cloud = sys.modules.get("google.cloud")
    if cloud is not None:   # an earlier import leaves the attribute, which `from google.cloud import` reads first
        monkeypatch.delattr(cloud, "bigquery", raising=False)
    res = _run(["ingest", "bigquery", "--dry-run"], tmp_path)
    assert res.exit_code == 2
    assert "pip install 'patentscope[bigquery]'" in res.stderr and "Traceback" not in res.output


def _export(tmp_path: Path) -> Path:
    con = duckdb.connect()
    tb.create_publications_table(con)
    tb.load_rows(con, tb.fixture_rows(load_landscape()))
    script = bq.build_script(load_landscape())
    tb.run_on_duckdb(con, script)
    tb.export_results(con, script, tmp_path / "exp")
    return tmp_path / "exp"


def test_from_export_lands(tmp_path) -> None:
    res = _run(["ingest", "bigquery", "--from-export", str(_export(tmp_path)), "--snapshot", "2026-11-20T00:00:00"], tmp_path)
    assert res.exit_code == 0, res.output
    assert '"publications": 60' in res.stdout
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("SELECT route, dataset_snapshot FROM bigquery_runs").fetchall() == [("export", "2026-11-20T00:00:00")]


@pytest.mark.slow
def test_from_export_then_analyze_and_report(tmp_path) -> None:
    assert _run(["ingest", "bigquery", "--from-export", str(_export(tmp_path))], tmp_path).exit_code == 0
    res = _run(["analyze"], tmp_path)
    assert res.exit_code == 0, res.output
    res = _run(["report", "--out", str(tmp_path / "r.html")], tmp_path)
    assert res.exit_code == 0, res.output
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "SYNTHETIC" in html and "<script>alert" not in html
