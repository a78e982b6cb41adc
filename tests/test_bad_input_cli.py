"""The bad-input suite: each class of broken or hostile input issue 19 describes, run through
the CLI in-process (click's CliRunner), asserting the exit code, a message that names the file
and line (or the key), and that the warehouse's row counts did not change.

The corpus that found these bugs is kept aside; these cases are built from its descriptions.
Cases whose fix lies in another engineer's file are marked ``xfail(strict=True)`` with the
owner named, so they turn into failures (and must be unmarked) once fixed.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner, Result

from patentscope.cli import main

INTERNAL = 70
DEEP = 5000


def nonutf8(text: str) -> bytes:
    """UTF-8 text with one Latin-1 byte (0xE9) in place of every 'é'."""
    return text.replace("é", "\x00").encode("utf-8").replace(b"\x00", b"\xe9")


LAND_OK = """name = "t"
version = "1"
[dates]
from = "1982-01-01"
to = "2030-12-31"
[offices]
include = ["US", "EP"]
[classification]
core = ["H01F1/057"]
context = ["B22F3"]
[keywords]
strong = ["neodymium"]
weak = ["magnet"]
"""


def land(**repl: str) -> str:
    text = LAND_OK
    for old, new in repl.items():
        old = old.replace("__", " ").replace("_eq_", " = ")
        assert old in text, old
        text = text.replace(old, new)
    return text


def scenario(old: str = "", new: str = "") -> str:
    from importlib import resources

    p = Path(str(resources.files("patentscope").joinpath("data/royalty/example_scenario.toml")))
    text = p.read_text(encoding="utf-8").replace('licences_file = "licences.toml"', f'licences_file = "{p.parent / "licences.toml"}"')
    if old:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


@dataclass
class Case:
    id: str
    args: list[str]
    code: int
    message: str                      # regex; {d} is the case's folder
    files: dict[str, str | bytes] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    owner: str | None = None          # xfail(strict=True): the fix is in this owner's file
    writes: bool = False              # the command may write (a failed-run record) but no data rows
    own_warehouse: bool = False       # do not pass --warehouse (the case's config names it)


CASES: list[Case] = [
    # --- TOML/CSV/SQL input files that are not UTF-8: a message with file:line and byte offset, exit 2/1
    Case("config-not-utf8", ["--config", "{d}/p.toml", "status"], 2, r"p\.toml:2: not UTF-8: byte 0xe9 at byte offset \d+",
         {"p.toml": nonutf8('warehouse = "w.duckdb"\n# café\n')}),
    Case("landscape-not-utf8", ["--landscape", "{d}/l.toml", "landscape"], 2, r"l\.toml:\d+: not UTF-8.*byte offset",
         {"l.toml": nonutf8(land(**{'name_eq_"t"': 'name = "té"'}))}),
    Case("scenario-not-utf8", ["royalty", "--scenario", "{d}/s.toml", "--no-store"], 2, r"s\.toml:\d+: not UTF-8",
         {"s.toml": nonutf8(scenario('name = "CN sintered', 'name = "é CN sintered'))}),
    Case("overrides-not-utf8", ["holders", "build", "--overrides", "{d}/o.toml"], 2, r"o\.toml:\d+: not UTF-8",
         {"o.toml": nonutf8('# é\n')}),
    Case("lineage-not-utf8", ["holders", "build", "--lineage", "{d}/lin.csv"], 2, r"lin\.csv:\d+: not UTF-8",
         {"lin.csv": nonutf8("from_name,to_name,change_date,kind,source\nSociété,B,2001-01-01,rename,x\n")}),
    Case("term-rules-not-utf8", ["expiry", "US4770723A", "--rules", "{d}/r.toml"], 2, r"r\.toml:\d+: not UTF-8",
         {"r.toml": nonutf8("# é\n")}),
    Case("query-file-not-utf8", ["query", "--list"], 2, r"bad\.sql:\d+: not UTF-8",
         {"q/bad.sql": nonutf8("-- name: bad\n-- description: café\nSELECT 1\n")}, env={"PATENTSCOPE_QUERIES": "{d}/q"}),
    Case("export-csv-latin1", ["ingest", "file", "{d}/x.csv"], 1, r"x\.csv:3: not UTF-8 text: byte 0xe9 at byte offset \d+.*Windows-1252",
         {"x.csv": b"search URL:,https://patents.google.com/?q=x\n"
                   b"id,title,assignee,inventor/author,priority date,filing/creation date,publication date,grant date,"
                   b"result link,representative figure link\n"
                   b"US-4770723-A,Aimant fritt\xe9,Sumitomo,Sagawa,1983-08-04,1984-08-01,1988-09-13,1988-09-13,"
                   b"https://patents.google.com/patent/US4770723A/en,\n"}),

    # --- nesting beyond a sane depth (RecursionError must never escape)
    Case("config-deep-array", ["--config", "{d}/p.toml", "status"], 2, r"p\.toml:1: nested more than \d+ levels",
         {"p.toml": "x = " + "[" * DEEP + "]" * DEEP + "\n"}),
    Case("config-deep-inline-table", ["--config", "{d}/p.toml", "status"], 2, r"p\.toml:1: nested more than",
         {"p.toml": "x = " + "{a = " * DEEP + "1" + "}" * DEEP + "\n"}),
    Case("landscape-deep", ["--landscape", "{d}/l.toml", "landscape"], 2, r"l\.toml:\d*:? ?nested more than",
         {"l.toml": LAND_OK + "x = " + "[" * DEEP + "]" * DEEP + "\n"}),
    Case("scenario-deep", ["royalty", "--scenario", "{d}/s.toml", "--no-store"], 2, r"s\.toml.*nested more than",
         {"s.toml": "x = " + "[" * DEEP + "]" * DEEP + "\n" + scenario()}),
    Case("odp-payload-deep-json", ["ingest", "odp", "--load", "{d}/odp"], 1, r"deep\.json.*(nested|deep)",
         {"odp/deep.json": '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"},
         writes=True),

    # --- wrong types
    Case("config-warehouse-int", ["--config", "{d}/p.toml", "status"], 2, r"p\.toml.*'warehouse' must be a path string",
         {"p.toml": "warehouse = 3\n"}, own_warehouse=True),
    Case("landscape-offices-string", ["--landscape", "{d}/l.toml", "landscape"], 2, r"l\.toml:\d+: offices\.include",
         {"l.toml": land(**{'include_eq_["US",__"EP"]': 'include = "US"'})}),
    Case("landscape-keywords-string", ["--landscape", "{d}/l.toml", "landscape"], 2, r"l\.toml:\d+: keywords.strong.*(list|array)",
         {"l.toml": land(**{'strong_eq_["neodymium"]': 'strong = "neodymium"'})}),
    Case("landscape-table-is-string", ["--landscape", "{d}/l.toml", "landscape"], 2, r"l\.toml:\d+: classification",
         {"l.toml": 'name = "t"\nclassification = "H01F1/057"\n[keywords]\nstrong = ["neodymium"]\n'}),
    Case("landscape-name-int", ["--landscape", "{d}/l.toml", "landscape"], 2, r"l\.toml:1: name: must be a string",
         {"l.toml": land(**{'name_eq_"t"': "name = 5"})}),
    Case("scenario-years-string", ["royalty", "--scenario", "{d}/s.toml", "--no-store"], 2, r"s\.toml.*scenario\.years",
         {"s.toml": scenario("years = [2010, 2030]", 'years = "2010-2030"')}),

    # --- out-of-range values
    Case("landscape-year-0", ["--landscape", "{d}/l.toml", "landscape"], 2, r"l\.toml.*(dates|from)",
         {"l.toml": land(**{'from_eq_"1982-01-01"': 'from = "0000-01-01"'})}),
    Case("landscape-year-10000", ["--landscape", "{d}/l.toml", "landscape"], 2, r"l\.toml.*(dates|to)",
         {"l.toml": land(**{'to_eq_"2030-12-31"': 'to = "10000-01-01"'})}),
    Case("landscape-year-1800", ["--landscape", "{d}/l.toml", "landscape"], 2, r"l\.toml:\d+: dates\.from.*1900",
         {"l.toml": land(**{'from_eq_"1982-01-01"': 'from = "1800-01-01"'})}),
    Case("scenario-years-0-10000", ["royalty", "--scenario", "{d}/s.toml", "--no-store"], 2, r"s\.toml.*scenario\.years.*(1900|2100)",
         {"s.toml": scenario("years = [2010, 2030]", "years = [0, 10000]")}),
    Case("scenario-samples-0", ["royalty", "--scenario", "{d}/s.toml", "--no-store"], 2, r"s\.toml.*samples",
         {"s.toml": scenario("samples = 2000", "samples = 0")}),
    Case("scenario-samples-negative", ["royalty", "--scenario", "{d}/s.toml", "--no-store"], 2, r"s\.toml.*samples",
         {"s.toml": scenario("samples = 2000", "samples = -5")}),
    Case("scenario-samples-huge", ["royalty", "--scenario", "{d}/s.toml", "--no-store"], 2, r"s\.toml.*samples.*10",
         {"s.toml": scenario("samples = 2000", "samples = 1000000000000")}),
    Case("scenario-price-nan", ["royalty", "--scenario", "{d}/s.toml", "--no-store"], 2, r"s\.toml.*price_per_kg.*(finite|NaN)",
         {"s.toml": scenario("price_per_kg = {triangular = [35.0, 49.0, 65.0]}", "price_per_kg = nan")}),
    Case("scenario-rate-inf", ["royalty", "--scenario", "{d}/s.toml", "--no-store"], 2, r"s\.toml.*rates.*(finite|inf)",
         {"s.toml": scenario("unlicensed = {percent = {triangular = [0.02, 0.05, 0.10]}}", "unlicensed = {percent = inf}")}),
    Case("scenario-sales-negative", ["royalty", "--scenario", "{d}/s.toml", "--no-store"], 2, r"s\.toml.*(sales|tonnes)",
         {"s.toml": scenario("tonnes = {DE = 54.88,", "tonnes = {DE = -54.88,")}),

    # --- reversed ranges, empty values, unknown keys (accepted silently before)
    Case("landscape-dates-reversed", ["--landscape", "{d}/l.toml", "landscape"], 2, r"l\.toml:\d+: dates\.to.*reversed",
         {"l.toml": land(**{'to_eq_"2030-12-31"': 'to = "1970-01-01"'})}),
    Case("landscape-empty-keyword", ["--landscape", "{d}/l.toml", "landscape"], 2, r"l\.toml:\d+: keywords\.strong\[2\]",
         {"l.toml": land(**{'strong_eq_["neodymium"]': 'strong = ["neodymium", ""]'})}),
    Case("landscape-unknown-key", ["--landscape", "{d}/l.toml", "landscape"], 2, r"l\.toml:\d+: keywords\.stong.*did you mean 'strong'",
         {"l.toml": land(**{'weak_eq_["magnet"]': 'stong = ["magnet"]'})}),
    Case("config-unknown-key", ["--config", "{d}/p.toml", "status"], 2, r"p\.toml:1: warehous.*did you mean 'warehouse'",
         {"p.toml": 'warehous = "w.duckdb"\n'}),
    Case("config-unknown-table", ["--config", "{d}/p.toml", "status"], 2, r"p\.toml:1: sourcse.*did you mean 'sources'",
         {"p.toml": '[sourcse.ops]\nenabled = true\n'}),
    Case("scenario-licence-ends-before-start", ["royalty", "--scenario", "{d}/s.toml", "--no-store"], 2,
         r"s\.toml.*licence.*(end|start)",
         {"s.toml": scenario() + '\n[[licence]]\nid = "X"\nlicensor_group = "Proterial"\nlicensee = "X"\nterritory = ["*"]\n'
                                 'segments = ["sintered"]\nstart = "2015-01-01"\nend = "2010-01-01"\nsource = "test"\n'}),

    # --- secrets hidden in config values of any shape
    Case("config-secret-in-array", ["--config", "{d}/p.toml", "status"], 2, r"p\.toml:2: sources\.ops\.api_key: looks like a secret",
         {"p.toml": '[sources.ops]\napi_key = ["abc123456"]\n'}),
    Case("config-secret-int", ["--config", "{d}/p.toml", "status"], 2, r"p\.toml:2: sources\.ops\.token: looks like a secret",
         {"p.toml": '[sources.ops]\ntoken = 123456789012345\n'}),
    Case("config-secret-url", ["--config", "{d}/p.toml", "status"], 2, r"p\.toml:2: sources\.ops\.base_url: looks like a secret",
         {"p.toml": '[sources.ops]\nbase_url = "https://me:hunter22@ops.epo.org/3.2"\n'}),

    # --- CSV structure
    Case("export-unbalanced-quote", ["ingest", "file", "{d}/x.csv"], 1, r"x\.csv:3: unbalanced quote.*line 3",
         {"x.csv": "id,title,assignee,inventor/author,priority date,filing/creation date,publication date,grant date,"
                   "result link,representative figure link\n"
                   "US-4770723-A,Magnet,Sumitomo,Sagawa,1983-08-04,1984-08-01,1988-09-13,1988-09-13,https://x/1,\n"
                   'US-4792368-A,"Magnet,Sumitomo,Sagawa,1983-08-04,1984-08-01,1988-12-20,1988-12-20,https://x/2,\n'
                   "US-4802931-A,Magnet,Sumitomo,Sagawa,1983-08-04,1984-08-01,1989-02-07,1989-02-07,https://x/3,\n"
                   "US-4851058-A,Magnet,Sumitomo,Sagawa,1983-08-04,1984-08-01,1989-07-25,1989-07-25,https://x/4,\n"}),
    Case("export-duplicate-columns", ["ingest", "file", "{d}/x.csv"], 1, r"x\.csv:1: duplicate column\(s\) 'title'",
         {"x.csv": "id,title,assignee,inventor/author,priority date,filing/creation date,publication date,grant date,"
                   "result link,title\n"
                   "US-4770723-A,Magnet,Sumitomo,Sagawa,1983-08-04,1984-08-01,1988-09-13,1988-09-13,https://x/1,Other\n"}),
    Case("export-symlink-out", ["ingest", "file", "{d}/x.csv"], 1, r"x\.csv is a symbolic link to .*outside the folder"),
    Case("export-fifo", ["ingest", "file", "{d}/p.csv"], 1, r"p\.csv is a FIFO, not a regular file"),

    # --- SQL limits
    Case("sql-recursive-cte", ["sql", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
                               "--timeout", "0.3"], 1, r"stopped after 0\.3 s.*--timeout"),
    Case("sql-file-function", ["sql", "SELECT * FROM read_text('/etc/passwd')"], 5, r"read_text\(\) is not allowed"),
    Case("sql-explain-analyze-copy", ["sql", "EXPLAIN ANALYZE COPY (SELECT 1) TO 'x.csv'"], 5, r"EXPLAIN of COPY"),
    Case("sql-bad-timeout-env", ["sql", "SELECT 1"], 2, r"PATENTSCOPE_SQL_TIMEOUT", env={"PATENTSCOPE_SQL_TIMEOUT": "soon"}),

    # --- outputs and warehouses that cannot be used
    Case("report-impossible-path", ["report", "--out", "{d}/not-a-folder/r.html"], 1, r"not-a-folder",
         {"not-a-folder": "a file, not a folder\n"}),
    Case("export-impossible-folder", ["export", "--format", "csv", "--out", "{d}/f/sub"], 1, r"cannot create the export folder",
         {"f": "a file\n"}),
    Case("warehouse-plain-duckdb", ["--warehouse", "{d}/plain.duckdb", "status"], 3, r"plain\.duckdb.*not a patentscope warehouse"),
]


def _prepare(case: Case, d: Path) -> None:
    for name, content in case.files.items():
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    if case.id == "export-symlink-out":
        secret = d.parent / f"{d.name}-outside" / "passwd"
        secret.parent.mkdir(exist_ok=True)
        secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
        (d / "x.csv").symlink_to(secret)
    if case.id == "export-fifo":
        os.mkfifo(d / "p.csv")
    if case.id == "warehouse-plain-duckdb":
        con = duckdb.connect(str(d / "plain.duckdb"))
        con.execute("CREATE TABLE t AS SELECT 1 AS a").fetchall()
        con.close()


def _state(wh: Path) -> tuple[tuple[int, int], ...]:
    return tuple((p.stat().st_size, p.stat().st_mtime_ns) for p in (wh, Path(str(wh) + ".wal")) if p.exists())


def _counts(wh: Path) -> dict[str, int]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in tables}
    finally:
        con.close()


BOOKKEEPING = {"ingest_runs", "job_runs", "job_steps", "schema_migrations"}


@pytest.fixture(scope="module")
def wh(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("badinput") / "patentscope.duckdb"
    shutil.copy(sample_warehouse, dst)
    return dst


@pytest.fixture(scope="module")
def baseline(wh: Path) -> dict[str, int]:
    return _counts(wh)


def run_case(case: Case, d: Path, wh: Path) -> Result:
    _prepare(case, d)
    args = [a.replace("{d}", str(d)) for a in case.args]
    if "--warehouse" not in args and not case.own_warehouse:
        args = ["--warehouse", str(wh), *args]
    env = {k: v.replace("{d}", str(d)) for k, v in case.env.items()}
    return CliRunner().invoke(main, args, env=env)


RESULTS: dict[str, int] = {}


def _param(case: Case) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=f"fix belongs to {case.owner}")] if case.owner else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, wh: Path, baseline: dict[str, int]) -> None:
    before = _state(wh)
    res = run_case(case, tmp_path, wh)
    RESULTS[case.id] = res.exit_code
    out = res.output
    assert res.exit_code != INTERNAL, f"internal error: {out}"
    assert "Traceback" not in out
    assert res.exit_code == case.code, out
    assert re.search(case.message.replace("{d}", re.escape(str(tmp_path))), out, re.S), out
    assert out.count("patentscope: error:") <= 1  # one message, not a cascade
    if _state(wh) != before:
        after = _counts(wh)
        changed = {t: (baseline.get(t), n) for t, n in after.items() if baseline.get(t) != n}
        if case.writes:
            # a failed or partial run is recorded, with its landed payload and quarantined rows
            changed = {t: v for t, v in changed.items() if t not in (*BOOKKEEPING, "ingest_state", "raw_landing", "quarantine")}
        assert not changed, f"warehouse rows changed: {changed}"


def test_no_input_in_the_suite_reaches_internal_error(tmp_path: Path, wh: Path) -> None:
    """Every case of the suite (including those still marked xfail for another owner) ends
    with a message and an exit code, never exit 70."""
    internal = []
    for i, case in enumerate(CASES):
        code = RESULTS.get(case.id)
        if code is None:
            d = tmp_path / str(i)
            d.mkdir()
            code = run_case(case, d, wh).exit_code
        if code == INTERNAL:
            internal.append(case.id)
    assert internal == [], internal


# ------------------------------------------------------------------------------------------------
# large fields: loaded up to the limit, quarantined above it, the rest of the file loads

GOOGLE_HEAD = ("id,title,assignee,inventor/author,priority date,filing/creation date,publication date,grant date,"
               "result link,representative figure link\n")


def _google_row(num: str, title: str) -> str:
    return (f'US-{num}-A,"{title}",Sumitomo Special Metals,Masato Sagawa,1983-08-04,1984-08-01,1988-09-13,1988-09-13,'
            f"https://patents.google.com/patent/US{num}A/en,\n")


def test_long_field_loads_and_oversized_field_is_quarantined(tmp_path: Path, sample_warehouse: Path) -> None:
    from patentscope.normalize.csvrows import MAX_FIELD_CHARS

    wh = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, wh)
    long_title = "Sintered neodymium magnet " + "x" * 250_000            # over Python's 131072 default
    huge_title = "y" * (MAX_FIELD_CHARS + 1)
    f = tmp_path / "long.csv"
    f.write_text(GOOGLE_HEAD + _google_row("9000001", long_title) + _google_row("9000002", huge_title)
                 + _google_row("9000003", "Neodymium magnet alloy"), encoding="utf-8")
    res = CliRunner().invoke(main, ["--warehouse", str(wh), "ingest", "file", str(f)])
    assert res.exit_code in (0, 1) and res.exit_code != INTERNAL, res.output
    assert "long.csv:3" in res.output and "title" in res.output  # the quarantined record: file, line, column
    con = duckdb.connect(str(wh), read_only=True)
    try:
        got = dict(con.execute("SELECT pub_key, length(title) FROM publications WHERE pub_key LIKE 'US-900000%'").fetchall())
        q = con.execute("SELECT file, line, col FROM quarantine WHERE file LIKE '%long.csv'").fetchall()
    finally:
        con.close()
    assert got == {"US-9000001": len(long_title), "US-9000003": len("Neodymium magnet alloy")}
    assert ("long.csv", 3, "title") in q


def test_sample_folder_with_a_long_abstract_loads(tmp_path: Path) -> None:
    from patentscope.ingest.sample import sample_folder

    folder = tmp_path / "sample"
    shutil.copytree(sample_folder(), folder)
    rec = folder / "ndfeb_records.csv"
    lines = rec.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    assert "abstract" in header
    import csv
    import io

    rows = list(csv.reader(io.StringIO("".join(lines), newline="")))
    rows[1][header.index("abstract")] = "A sintered Nd-Fe-B magnet. " + "z" * 300_000
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    rec.write_text(buf.getvalue(), encoding="utf-8")
    wh = tmp_path / "w.duckdb"
    res = CliRunner().invoke(main, ["--warehouse", str(wh), "ingest", "sample", str(folder)])
    assert res.exit_code == 0, res.output
    con = duckdb.connect(str(wh), read_only=True)
    try:
        n = con.execute("SELECT count(*) FROM publications").fetchall()[0][0]
        longest = con.execute("SELECT max(length(abstract)) FROM publications").fetchall()[0][0]
    finally:
        con.close()
    assert n >= 100 and longest > 300_000


# ------------------------------------------------------------------------------------------------
# spreadsheet formula injection in CSV output

def test_csv_exports_and_csv_output_neutralise_formulas(tmp_path: Path, sample_warehouse: Path) -> None:
    wh = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, wh)
    f = tmp_path / "evil.csv"
    f.write_text(GOOGLE_HEAD + _google_row("9100001", '=HYPERLINK(""http://evil"",""click"") neodymium')
                 + _google_row("9100002", "+1+1 neodymium") + _google_row("9100003", "@SUM(A1) neodymium"), encoding="utf-8")
    r = CliRunner().invoke(main, ["--warehouse", str(wh), "ingest", "file", str(f)])
    assert r.exit_code == 0, r.output
    sql = ["--warehouse", str(wh), "sql", "SELECT pub_key, title FROM publications WHERE pub_key LIKE 'US-91000%' ORDER BY 1", "--csv"]
    out = CliRunner().invoke(main, sql).output
    assert "'=HYPERLINK" in out and "'+1+1" in out and "'@SUM" in out
    assert not re.search(r"^[^,]*,[=+@-]", out, re.M)
    raw = CliRunner().invoke(main, sql, env={"PATENTSCOPE_CSV_KEEP_FORMULAS": "1"}).output
    assert ',"=HYPERLINK' in raw or ",=HYPERLINK" in raw
    for keep, expect in ((False, "'=HYPERLINK"), (True, "=HYPERLINK")):
        out_dir = tmp_path / f"exp{keep}"
        args = ["--warehouse", str(wh), "export", "--format", "csv", "--out", str(out_dir), "publications"]
        r = CliRunner().invoke(main, args + (["--keep-formulas"] if keep else []))
        assert r.exit_code == 0, r.output
        text = (out_dir / "publications.csv").read_text(encoding="utf-8")
        line = next(ln for ln in text.splitlines() if "US-9100001" in ln)
        assert expect in line and (keep or "'=HYPERLINK" in line)
        if not keep:
            assert not re.search(r'(^|,)"?[=+@]', text, re.M)


# ------------------------------------------------------------------------------------------------
# a file-size limit (or a full disk) hit in the middle of a write transaction

@pytest.mark.parametrize("exc", [
    duckdb.IOException('IO Error: Could not write file "w.duckdb.wal": File too large'),
    duckdb.TransactionException('TransactionContext Error: Failed to commit: Could not write file "w.duckdb.wal": File too large'),
], ids=["io", "commit"])
def test_write_failure_mid_transaction_is_a_message_and_rolls_back(tmp_path: Path, sample_warehouse: Path,
                                                                   monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    from patentscope.warehouse import save

    wh = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, wh)
    before = _counts(wh)
    real: Callable[..., object] = save._insert

    def boom(con: duckdb.DuckDBPyConnection, table: str, *a: object, **k: object) -> object:
        if table == "raw_landing":
            raise exc
        return real(con, table, *a, **k)

    monkeypatch.setattr(save, "_insert", boom)
    f = tmp_path / "one.csv"
    f.write_text(GOOGLE_HEAD + _google_row("9200001", "Neodymium magnet"), encoding="utf-8")
    res = CliRunner().invoke(main, ["--warehouse", str(wh), "ingest", "file", str(f)])
    assert res.exit_code == 3, res.output
    assert "File too large" in res.output and "internal error" not in res.output
    after = _counts(wh)
    assert {t: n for t, n in after.items() if t not in BOOKKEEPING} == {t: n for t, n in before.items() if t not in BOOKKEEPING}


@pytest.mark.slow
def test_real_file_size_limit_mid_transaction(tmp_path: Path) -> None:
    """The same with a real RLIMIT_FSIZE in a child process: exit 3, a message, no data row."""
    import subprocess
    import sys

    wh = tmp_path / "w.duckdb"
    subprocess.run([sys.executable, "-m", "patentscope", "--warehouse", str(wh), "migrate"], check=True,
                   capture_output=True, timeout=120)
    limit = 100_000  # below the migrated file and below what the write-ahead log of the sample needs
    code = (f"import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
            "from patentscope.cli import main; sys.argv = ['patentscope', '--warehouse', sys.argv[1], 'ingest', 'sample']; main()")
    res = subprocess.run([sys.executable, "-c", code, str(wh)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 3, res.stderr
    assert "File too large" in res.stderr and "internal error" not in res.stderr
    assert _counts(wh)["publications"] == 0
