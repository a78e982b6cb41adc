"""The BigQuery SQL builder: golden text, GoogleSQL parse, bound parameters, and its semantics
run on DuckDB (sqlglot transpile) over a table with the public table's nested schema, filled
with the embedded real sample plus SYNTHETIC neighbours; expectations computed independently
in Python from the landscape's own matcher."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import duckdb
import pytest

sqlglot = pytest.importorskip("sqlglot")
from sqlglot import exp  # noqa: E402

from patentscope.errors import ConfigError  # noqa: E402
from patentscope.landscape import Landscape, load_landscape  # noqa: E402
from patentscope.sources import bigquery_sql as bq  # noqa: E402
from patentscope.testing import bigquery as tb  # noqa: E402

GOLDEN = Path(__file__).parent / "fixtures" / "bigquery"


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("PATENTSCOPE_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; set PATENTSCOPE_UPDATE_GOLDEN=1 to accept"


def _core_only() -> Landscape:
    land = load_landscape()
    return Landscape(**{**{k: getattr(land, k) for k in land.__dataclass_fields__ if not k.startswith("_")},
                        "strong_keywords": (), "weak_keywords": ()})


def test_golden_default_landscape() -> None:
    _golden("default_landscape.sql", bq.build_script(load_landscape()).sql)


def test_golden_console_script_declares_every_parameter() -> None:
    script = bq.build_script(load_landscape(), since=dt.date(2024, 1, 1))
    text = bq.console_script(script)
    _golden("default_landscape_console.sql", text)
    assert "@" not in re.sub(r"--[^\n]*", "", text)
    parsed = sqlglot.parse(text, read="bigquery")
    assert sum(isinstance(s, exp.Declare) for s in parsed if s is not None) == len(script.params)


def _statements(sql: str) -> list[exp.Expression]:
    return [s for s in sqlglot.parse(sql, read="bigquery") if s is not None]


def test_parses_as_googlesql_without_select_star_or_literals_of_the_landscape() -> None:
    land = load_landscape()
    script = bq.build_script(land)
    stmts = _statements(script.sql)
    assert len(stmts) == 10
    for s in stmts:
        assert not list(s.find_all(exp.Star)), s.sql(dialect="bigquery")[:200]
    used = {p.name for s in stmts for p in s.find_all(exp.Parameter)} | set(re.findall(r"@([a-z_]+)", script.sql))
    assert used == {p.name for p in script.params}
    literals = {lit.this for s in stmts for lit in s.find_all(exp.Literal) if lit.is_string}
    assert literals <= {"en", "", "-1"}, literals                       # values are bound, never spliced
    body = re.sub(r"--[^\n]*", "", script.sql)
    for value in (*land.core_codes, *land.strong_keywords):
        assert value not in body
    assert not any(f"'{o}'" in body for o in land.offices)


def test_text_columns_only_when_keywords_are_needed() -> None:
    with_kw = bq.build_script(load_landscape())
    assert with_kw.uses_text and "title_localized" in with_kw.sql
    for script in (bq.build_script(load_landscape(), keywords=False), bq.build_script(_core_only())):
        body = re.sub(r"--[^\n]*", "", script.sql)
        assert not script.uses_text
        assert "localized" not in body and "strong_re" not in body
        assert {p.name for p in script.params} == {"core_prefixes", "date_from", "date_to", "offices", "since"}


def test_keywords_only_landscape_without_keywords_is_refused() -> None:
    land = load_landscape()
    kw_only = Landscape(**{**{k: getattr(land, k) for k in land.__dataclass_fields__ if not k.startswith("_")},
                           "core_codes": ()})
    with pytest.raises(ConfigError, match="no rule left"):
        bq.build_script(kw_only, keywords=False)


def test_scratch_dataset_names_are_checked_and_comments_cannot_break_out() -> None:
    assert bq.scratch_name("my-project-1.scratch_1") == "`my-project-1.scratch_1`"
    for bad in ("x`; DROP TABLE y; --", "a.b.c", "Bad-Project.ds", ""):
        with pytest.raises(ConfigError, match="scratch_dataset"):
            bq.build_script(load_landscape(), scratch_dataset=bad)
    land = load_landscape()
    evil = Landscape(**{**{k: getattr(land, k) for k in land.__dataclass_fields__ if not k.startswith("_")},
                        "name": "x\nDROP TABLE t; --"})
    assert len(_statements(bq.build_script(evil).sql)) == 10
    assert "\nDROP" not in bq.build_script(evil).sql


def test_cpc_prefixes_follow_matches_code() -> None:
    assert bq.cpc_prefixes(["H01F1/057", "H01F", "B22F3", "B22F3"]) == ["H01F1/057", "H01F", "B22F3/"]


def test_keyword_regex_is_whole_word_and_case_insensitive_on_duckdb() -> None:
    pat = bq.keyword_regex(["Nd-Fe-B", "R-T-B", "rare earth"])
    con = duckdb.connect()
    cases = {"an nd-fe-b magnet": True, "NdFeB": False, "x-Nd-Fe-B": False, "Nd-Fe-Bx": False, "R-T-B.": True,
             "(rare earth)": True, "rare earths": False, "Nd-Fe-B": True}
    for text, want in cases.items():
        assert con.execute("SELECT regexp_matches($t, $p)", {"t": text, "p": pat}).fetchone() == (want,), text
        assert bool(load_landscape()._kw(("Nd-Fe-B", "R-T-B", "rare earth")).search(text)) == want  # type: ignore[union-attr]


def test_transpiles_to_spark_too() -> None:
    assert len(bq.transpile(bq.build_script(load_landscape()), "spark")) == 10


# ------------------------------------------------------------------------------------------------
# semantics on DuckDB


def _expected(rows: list[dict], land: Landscape, since: int = 0) -> dict[str, object]:
    """Members, edges, touched publications and families, computed row by row in Python."""
    def date_ok(r: dict) -> bool:
        d = r["priority_date"] or r["filing_date"] or r["publication_date"]
        return not d or bq.yyyymmdd(land.date_from) <= d <= bq.yyyymmdd(land.date_to)

    def text(r: dict, col: str) -> str:
        return " ".join(t["text"] for t in r[col])

    members = {r["publication_number"] for r in rows
               if date_ok(r) and r["country_code"] in land.offices
               and land.match([c["code"] for c in r["cpc"]], text(r, "title_localized") + " " + text(r, "abstract_localized"))}
    member_fams = {r["family_id"] for r in rows if r["publication_number"] in members and r["family_id"]}
    fam_pubs = {r["publication_number"] for r in rows if r["family_id"] in member_fams or r["publication_number"] in members}
    edges = {(r["publication_number"], c["publication_number"], c["npl_text"]) for r in rows for c in r["citation"]
             if r["publication_date"] >= since and (r["publication_number"] in fam_pubs or c["publication_number"] in fam_pubs)}
    pub_date = {r["publication_number"]: r["publication_date"] for r in rows}
    touched = ({p for p in fam_pubs if pub_date[p] >= since} | {e[0] for e in edges} | {e[1] for e in edges if e[1]})
    touched &= set(pub_date)
    fams = {r["family_id"] for r in rows if r["publication_number"] in touched and r["family_id"]}
    families = {}
    for f in fams:
        mem = [r for r in rows if r["family_id"] == f]
        families[f] = (min((r["priority_date"] for r in mem if r["priority_date"]), default=None),
                       sorted(r["publication_number"] for r in mem), sorted({r["country_code"] for r in mem}),
                       sorted({a["name"] for r in mem for a in r["assignee_harmonized"] if a["name"]}),
                       any(r["publication_number"] in members for r in mem))
    return {"members": members, "edges": edges, "touched": touched, "families": families}


@pytest.fixture(scope="module")
def fixture_db() -> tuple[duckdb.DuckDBPyConnection, list[dict]]:
    con = duckdb.connect()
    tb.create_publications_table(con)
    rows = tb.fixture_rows(load_landscape())
    tb.load_rows(con, rows)
    return con, rows


@pytest.mark.parametrize("since", [None, dt.date(2020, 1, 1)])
def test_script_on_duckdb_gives_members_edges_and_families_exactly(fixture_db, since: dt.date | None) -> None:
    con, rows = fixture_db
    land = load_landscape()
    script = bq.build_script(land, since=since)
    tb.run_on_duckdb(con, script)
    want = _expected(rows, land, bq.yyyymmdd(since) if since else 0)
    pubs = con.execute("SELECT publication_number, in_landscape FROM patentscope_scratch.ps_publications").fetchall()
    assert {p for p, _ in pubs} == want["touched"]
    assert {p for p, m in pubs if m} == want["members"] & want["touched"]  # type: ignore[operator]
    edges = set(con.execute("SELECT citing_publication_number, cited_publication_number, npl_text "
                            "FROM patentscope_scratch.ps_citations").fetchall())
    assert edges == want["edges"]
    fams = {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in con.execute(
        "SELECT family_id, earliest_priority_date, members, offices, assignees_harmonized, in_landscape "
        "FROM patentscope_scratch.ps_families").fetchall()}
    assert fams == want["families"]
    if since is None:   # the hand-checked SYNTHETIC cases
        members = want["members"]
        assert {"US-99000001-B2", "US-99000020-A", "US-99000022-A"} <= members  # type: ignore[operator]
        assert not {"JP-99000002-A", "US-99000021-A", "US-99000023-A", "ZZ-99000024-A", "US-99000025-A"} & members  # type: ignore[operator]
        touched = want["touched"]
        assert {"JP-99000002-A", "US-99000003-A", "US-99000010-A"} <= touched  # type: ignore[operator]
        assert not {"US-99000004-A", "US-99000005-A", "EP-99000011-A1"} & touched  # type: ignore[operator]
        assert fams["SYN-FAM-10"][1] == ["EP-99000011-A1", "US-99000010-A"]   # a neighbour's whole family
        assert fams["SYN-FAM-1"][4] is True and fams["SYN-FAM-3"][4] is False
        assert len(want["members"]) > 20 and len(want["edges"]) > 10  # type: ignore[arg-type]
