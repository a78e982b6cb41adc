"""`patentscope findings`: on the embedded sample (mostly "too few to judge", every number
reproduced by its named query), on hand-built warehouses whose verdicts are worked by hand, and
on a SYNTHETIC warehouse of 100k publications that gives verdicts (slow)."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import polars as pl
import pytest
from analyzed_sample import analyzed_sample

from patentscope.findings import (
    NOT_AVAILABLE,
    TOO_FEW,
    VERDICT,
    FindingsSettings,
    basic_holders_block,
    fee_block,
    findings,
    inverse_statement,
    scenario_terms,
    wall_block,
)
from patentscope.warehouse.query import get_query, load_queries, run_read_only

AT = dt.date(2020, 7, 8)


def run_query(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, str]) -> pl.DataFrame:
    nq = get_query(name)
    return run_read_only(con, nq.sql, nq.bind(params))


def check_numbers_reproduce(con: duckdb.DuckDBPyConnection, f: dict) -> int:
    """Every number that names a row and a column: run its query with its parameters, find the
    row, compare. Returns how many were checked."""
    names = set(load_queries())
    cache: dict[tuple, list[dict]] = {}
    checked = 0
    for b in f["blocks"]:
        for n in b["numbers"]:
            assert n["query"] in names, n
            if not n["row"]:
                continue
            key = (n["query"], tuple(sorted(n["params"].items())))
            if key not in cache:
                cache[key] = run_query(con, n["query"], n["params"]).to_dicts()
            hits = [r for r in cache[key] if all(str(r[k]) == v for k, v in n["row"].items())]
            assert hits, f"no row {n['row']} in {n['query']}"
            cols = n["column"].split(",")
            got = [hits[0][c] for c in cols]
            want = n["value"] if len(cols) > 1 else [n["value"]]
            for g, w in zip(got, want, strict=True):
                if isinstance(w, float):
                    assert g == pytest.approx(w, abs=0.051 if n["column"] == "hhi" else 5.1e-5), n
                else:
                    assert g == w, n
            checked += 1
    return checked


# ---------------------------------------------------------------------------------------------
# the embedded sample: 147 real patents, not a landscape


@pytest.fixture(scope="module")
def sample_analyzed(sample_warehouse, tmp_path_factory):
    from patentscope.ingest.sample import sample_folder
    from patentscope.metrics.royalty import load_scenario, run_scenario
    from patentscope.warehouse.connection import writer

    wh = tmp_path_factory.mktemp("findings") / "w.duckdb"
    shutil.copy(analyzed_sample(tmp_path_factory, sample_warehouse), wh)  # analyzed at 2026-11-28
    with writer(wh) as con:
        run_scenario(con, load_scenario(sample_folder().parent / "royalty" / "example_scenario.toml"))
    return wh


def test_sample_is_mostly_too_few_to_judge_and_every_number_is_its_query(sample_analyzed):
    con = duckdb.connect(str(sample_analyzed), read_only=True)
    try:
        f = findings(con, dt.date(2014, 7, 8))
        b1, b2, b3 = f["blocks"]
        assert [b["status"] for b in f["blocks"]] == [TOO_FEW, TOO_FEW, TOO_FEW]
        assert "threshold 20" in b1["verdict"] and "central: no candidate family" in b1["verdict"]
        assert "or more" in b2["verdict"] and "threshold 20" in b3["verdict"]
        assert all(b["assumptions"] and b["numbers"] for b in f["blocks"])
        assert check_numbers_reproduce(con, f) >= 20
        # the per-licensor rate is a percentage compared with the scenario's rates, never a raw fraction
        inv = [n for n in b3["numbers"] if "per-licensor rate" in n["name"]]
        assert inv and all("%" in n["display"] and ("NOT reachable" in n["display"] or "reachable" in n["display"])
                           for n in inv)
        assert not any("0.86" in n["display"] for n in inv)
        # the text output shows the displays and the queries
        from patentscope.findings import as_text
        text = as_text(f)
        assert "[query findings_fee_burden year=2014]" in text and "86.11% per licensor" in text
    finally:
        con.close()


def test_findings_command_and_report_open_with_the_same_blocks(sample_analyzed):
    import json

    from click.testing import CliRunner

    from patentscope.cli import main
    from patentscope.report.findings_section import findings_context
    r = CliRunner().invoke(main, ["--warehouse", str(sample_analyzed), "-q", "findings", "--at", "2014-07-08", "--json"])
    assert r.exit_code == 0, r.output
    cli = json.loads(r.output)
    con = duckdb.connect(str(sample_analyzed), read_only=True)
    try:
        ctx = findings_context(con, dt.date(2014, 7, 8))
    finally:
        con.close()
    assert ctx["available"]
    assert [(b["question"], b["status"], b["verdict"]) for b in ctx["blocks"]] == \
        [(b["question"], b["status"], b["verdict"]) for b in cli["blocks"]]


def test_report_puts_findings_first(sample_analyzed, tmp_path):
    from patentscope.landscape import load_landscape
    from patentscope.report import write_report
    out = write_report(sample_analyzed, load_landscape(), tmp_path / "r.html")
    html = out.read_text(encoding="utf-8")
    sections = [html.index(f'<section id="{s}"') for s in ("findings",) if f'<section id="{s}"' in html]
    assert sections, "no findings section"
    first = html.index("<section")
    assert first == sections[0], "the report does not open with the findings"
    assert "too few to judge" in html[sections[0]:html.index("</section>", sections[0])]


def test_unanalyzed_warehouse_says_so(tmp_path):
    from patentscope.errors import PatentscopeError
    from patentscope.warehouse import migrations
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    migrations.apply(con)
    with pytest.raises(PatentscopeError, match="run `patentscope analyze` first"):
        findings(con, AT)
    con.close()


# ---------------------------------------------------------------------------------------------
# hand-built warehouses (only the tables the queries read), verdicts worked by hand

ST = FindingsSettings(min_families=10, majority=0.5, min_forward_citations=5, top=50, years=30)


def _basic_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The tables findings_basic_holders reads, with only the columns it reads."""
    con.execute("""CREATE TABLE centrality (family_id VARCHAR, in_landscape BOOLEAN, pagerank_rescaled DOUBLE,
                                            forward_citations INTEGER)""")
    con.execute("CREATE TABLE publications (pub_key VARCHAR, family_id VARCHAR, in_landscape BOOLEAN)")
    con.execute("CREATE TABLE publication_segments (pub_key VARCHAR, segment VARCHAR)")
    con.execute("""CREATE TABLE expiry_results (pub_key VARCHAR, family_id VARCHAR, in_force_from DATE, expiry_date DATE,
                   expiry_latest DATE, status VARCHAR, flags VARCHAR[], lapse_periods STRUCT("start" DATE, "end" DATE)[])""")
    con.execute("""CREATE TABLE publication_holder_groups (pub_key VARCHAR, group_label VARCHAR, group_country VARCHAR,
                                                           valid_from DATE, valid_to DATE)""")


def basic_warehouse() -> duckdb.DuckDBPyConnection:
    """25 central families, one US publication each, in force from 2005-01-01:
    C01-C10 Alpha (JP) to 2030-01-01, C01 in a reinstated lapse 2020-01-01..2021-01-01;
    C11-C15 Alpha (JP) to 2040-01-01; C16-C23 Beta (US) to 2045-01-01; C24 no holder, to 2045;
    C25 Alpha, status unknown; C26 has the top PageRank but 2 forward citations (not central).
    Segment 'sintered' = C02-C12, 'bonded' = C16-C23."""
    con = duckdb.connect()
    _basic_tables(con)
    for i in range(1, 27):
        fam, pub = f"C{i:02d}", f"US-{i}"
        end = "2030-01-01" if i <= 10 else "2040-01-01" if i <= 15 else "2045-01-01"
        con.execute("INSERT INTO centrality VALUES (?, true, ?, ?)", [fam, 100.0 - i if i < 26 else 1000.0, 10 if i < 26 else 2])
        con.execute("INSERT INTO publications VALUES (?, ?, true)", [pub, fam])
        lapse = [{"start": dt.date(2020, 1, 1), "end": dt.date(2021, 1, 1)}] if i == 1 else []
        con.execute("INSERT INTO expiry_results VALUES (?, ?, DATE '2005-01-01', ?::DATE, ?::DATE, ?, [], ?)",
                    [pub, fam, end, end, "unknown" if i == 25 else "in force", lapse])
        if i <= 15 or i == 25:
            con.execute("INSERT INTO publication_holder_groups VALUES (?, 'Alpha', 'JP', NULL, NULL)", [pub])
        elif i <= 23:
            con.execute("INSERT INTO publication_holder_groups VALUES (?, 'Beta', 'US', NULL, NULL)", [pub])
        if 2 <= i <= 12:
            con.execute("INSERT INTO publication_segments VALUES (?, 'sintered')", [pub])
        if 16 <= i <= 23:
            con.execute("INSERT INTO publication_segments VALUES (?, 'bonded')", [pub])
    return con


def test_basic_holders_hand_worked():
    con = basic_warehouse()
    params = {"at": AT.isoformat(), "min_forward": "5", "top": "50", "years": "30"}
    rows = run_query(con, "findings_basic_holders", params)
    at = rows.filter((pl.col("family_set") == "central") & (pl.col("day") == AT) & (pl.col("holder_basis") == "country"))
    # on 2020-07-08: C02-C15 (14 JP), C16-C23 (8 US), C24 (no holder) = 23 in force; C01 in its lapse,
    # C25 of unknown status, C26 not central
    assert at["n_set"][0] == 25 and at["n_in_force"][0] == 23 and at["n_status_unknown"][0] == 1
    shares = dict(zip(at["holder"], at["share"], strict=True))
    assert shares == pytest.approx({"JP": 14 / 23, "US": 8 / 23, "(no holder shown)": 1 / 23})
    y2021 = rows.filter((pl.col("family_set") == "central") & (pl.col("year") == 2021) & (pl.col("holder") == "JP"))
    assert y2021["share"][0] == pytest.approx(15 / 24)  # C01 is back after its lapse
    b = basic_holders_block(rows, ST, params)
    assert b["status"] == VERDICT
    # 2030-07-08: C01-C10 have ended: JP 5, US 8, none 1 -> 5/14 < 50%
    assert "central: by country: yes: holders from JP hold 61% of 23; the share falls below 50% in 2030" in b["verdict"]
    assert "by group: yes: Alpha hold 61% of 23; the share falls below 50% in 2030" in b["verdict"]
    # sintered: C02-C12, all Alpha: 100%; by 2030 only C11, C12 remain (2 < 10): too few from then
    assert ("blocking: sintered: by country: yes: holders from JP hold 100% of 11; the share fewer than 10 remain in "
            "force from 2030") in b["verdict"]
    assert "blocking: bonded: by country: too few to judge (8 in force, threshold 10)" in b["verdict"]
    year_nums = {n["name"]: n["value"] for n in b["numbers"] if "year the share" in n["name"]}
    assert year_nums["central: year the share of JP falls below 50%"] == 2030
    # an independent computation of the year from the query rows: first later year with JP < 50%
    jp = rows.filter((pl.col("family_set") == "central") & (pl.col("holder_basis") == "country")).group_by("year").agg(
        (pl.col("share").filter(pl.col("holder") == "JP").sum()).alias("jp")).sort("year")
    assert jp.filter((pl.col("year") > 2020) & (pl.col("jp") < 0.5))["year"][0] == 2030


def test_basic_holders_unknown_share_can_block_a_verdict():
    con = basic_warehouse()
    # Beta's families lose their country and four of Alpha's publications are shown as KR
    con.execute("UPDATE publication_holder_groups SET group_country = NULL WHERE group_label = 'Beta'")
    con.execute("UPDATE publication_holder_groups SET group_country = 'KR' WHERE pub_key IN ('US-2', 'US-3', 'US-4', 'US-5')")
    params = {"at": AT.isoformat(), "min_forward": "5", "top": "50", "years": "0"}
    b = basic_holders_block(run_query(con, "findings_basic_holders", params), ST, params)
    # JP 10/23 = 43%, KR 4/23; unknown = Beta's 8 (no country) + C24 (no holder) = 9/23 = 39%: 43% + 39% > 50%,
    # the unknown could decide it
    assert "central: by country: too few to judge: holders from JP hold 43% and 39% is of unknown holder" in b["verdict"]
    # by group Alpha still holds 14/23
    assert "by group: yes: Alpha hold 61% of 23" in b["verdict"]



def _anniversary(at: dt.date, k: int) -> dt.date:
    try:
        return at.replace(year=at.year + k)
    except ValueError:              # 29 February in a common year: DuckDB's `+ INTERVAL` gives the 28th
        return at.replace(year=at.year + k, day=28)


def _basic_holders_by_hand(fams, pubs, rows, groups, segs, at, years, min_forward=5, top=50):
    """findings_basic_holders read day by day from its description, in plain Python."""
    eligible = {f: pr for f, (pr, fwd) in fams.items() if pr is not None and fwd >= min_forward}
    rank = {f: 1 + sum(1 for q in eligible.values() if q > pr) for f, pr in eligible.items()}
    sets: dict[str, set[str]] = {"central": {f for f, r in rank.items() if r <= top}}
    for pub, seg in segs.items():
        if seg != "unclassified":
            sets.setdefault("blocking: " + seg, set()).add(pubs[pub])
    sets = {k: v for k, v in sets.items() if v}
    days = [_anniversary(at, k) for k in range(years + 1)]
    out = {}
    for name, members in sets.items():
        for day in days:
            n_live = n_unknown = 0
            shares = {"country": {}, "group": {}}
            for fam in members:
                mine = [r for r in rows if r["family_id"] == fam]
                live = [r["pub_key"] for r in mine if not r["flags"] and r["status"] != "unknown"
                        and r["from"] is not None and r["to"] is not None and r["from"] <= day < r["to"]
                        and not any(a is not None and b is not None and a <= day < b for a, b in r["lapses"])]
                if not live:
                    end = lambda r: r["latest"] or r["to"] or dt.date(9999, 12, 31)  # noqa: E731
                    n_unknown += any((r["status"] == "unknown" or r["flags"]) and day < end(r) for r in mine)
                    continue
                n_live += 1
                held = set()
                for pub in live:
                    valid = [g for g in groups.get(pub, []) if (g[2] is None or g[2] <= day) and (g[3] is None or day < g[3])]
                    held |= {(False, g[0], g[1]) for g in valid} if valid else {(True, None, None)}
                for basis, holder in (("country", lambda h: "(no holder shown)" if h[0] else h[2] or "unknown"),
                                      ("group", lambda h: "(no holder shown)" if h[0] else h[1])):
                    names = {holder(h) for h in held}
                    for x in names:
                        shares[basis][x] = shares[basis].get(x, 0.0) + 1 / len(names)
            for basis in ("country", "group"):
                for holder, v in shares[basis].items() or [(None, 0.0)]:
                    out[(name, basis, day, holder)] = (v, v / n_live if n_live else None, len(members), n_live, n_unknown)
    return out


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_basic_holders_equals_a_day_by_day_reading_on_random_synthetic_warehouses(seed):
    # SYNTHETIC: 60 families of 1-3 publications, in-force periods (some without a start or an
    # end), statuses and flags, lapses (some with an open bound), 0-3 holder groups a
    # publication with validity windows, PageRank ties, segments; `at` and the years at random
    # (29 February among them). The query works on spans between dates; this reads every day.
    import random
    rnd = random.Random(seed)
    date = lambda: dt.date(1995, 1, 1) + dt.timedelta(days=rnd.randrange(0, 40 * 365))  # noqa: E731
    maybe = lambda: None if rnd.random() < 0.15 else date()  # noqa: E731
    con = duckdb.connect()
    _basic_tables(con)
    fams, pubs, rows, groups, segs = {}, {}, [], {}, {}
    for i in range(60):
        fam = f"SYN-F{i}"
        fams[fam] = (None if rnd.random() < 0.1 else float(rnd.randrange(0, 20)), rnd.randrange(0, 12))
        con.execute("INSERT INTO centrality VALUES (?, true, ?, ?)", [fam, *fams[fam]])
        for j in range(rnd.randrange(1, 4)):
            pub = f"ZZ-{i}-{j}"
            pubs[pub] = fam
            con.execute("INSERT INTO publications VALUES (?, ?, true)", [pub, fam])
            if rnd.random() < 0.7:
                segs[pub] = rnd.choice(["sintered", "bonded", "unclassified"])
                con.execute("INSERT INTO publication_segments VALUES (?, ?)", [pub, segs[pub]])
            a = maybe()
            b = None if rnd.random() < 0.1 else (a or date()) + dt.timedelta(days=rnd.randrange(-400, 9000))
            lapses = [(maybe(), maybe()) for _ in range(rnd.choice([0, 0, 1, 2]))]
            lapses = [(x, y if x is None or y is None else max(x, y)) for x, y in lapses]
            r = {"pub_key": pub, "family_id": fam, "from": a, "to": b, "latest": None if rnd.random() < 0.5 else maybe(),
                 "status": rnd.choice(["in force", "in force", "unknown", "lapsed", "expired by term"]),
                 "flags": ["bad_input"] if rnd.random() < 0.1 else [], "lapses": lapses}
            rows.append(r)
            con.execute("INSERT INTO expiry_results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [pub, fam, a, b, r["latest"], r["status"], r["flags"], [{"start": x, "end": y} for x, y in lapses]])
            for _ in range(rnd.choice([0, 1, 1, 2, 3])):
                vf, vt = maybe() if rnd.random() < 0.5 else None, maybe() if rnd.random() < 0.5 else None
                g = (rnd.choice(["Alpha", "Beta", "Gamma"]), rnd.choice(["JP", "CN", None]), vf, vt)
                groups.setdefault(pub, []).append(g)
                con.execute("INSERT INTO publication_holder_groups VALUES (?, ?, ?, ?, ?)", [pub, *g])
    at = rnd.choice([dt.date(2000, 2, 29), dt.date(2008, 2, 29), date()])
    years = rnd.choice([0, 3, 30, 45])
    got = run_query(con, "findings_basic_holders", {"at": at.isoformat(), "min_forward": "5", "top": "10", "years": str(years)})
    want = _basic_holders_by_hand(fams, pubs, rows, groups, segs, at, years, top=10)
    assert got.height == len(want) > 0
    for r in got.iter_rows(named=True):
        families, share, n_set, n_live, n_unknown = want[(r["family_set"], r["holder_basis"], r["day"], r["holder"])]
        assert (r["n_set"], r["n_in_force"], r["n_status_unknown"]) == (n_set, n_live, n_unknown), r
        assert r["families"] == pytest.approx(families, abs=1e-12)
        assert r["share"] == (None if share is None else pytest.approx(share, abs=1e-12)), r
    # the draw exercised what the spans must get right
    assert any(v[4] for v in want.values()) and any(v[3] for v in want.values())

def test_wall_hand_worked():
    con = duckdb.connect()
    con.execute("""CREATE TABLE concentration_stats (scope_type VARCHAR, scope_value VARCHAR, period_type VARCHAR, year INTEGER,
                   weighting VARCHAR, n_families BIGINT, n_unattributed BIGINT, n_status_unknown BIGINT,
                   n_fees_not_verified BIGINT, n_individual BIGINT, n_holders BIGINT, hhi DOUBLE, cr4 DOUBLE, label VARCHAR,
                   min_families BIGINT)""")
    above, few = "above 1,800 (merger-guideline analogy)", TOO_FEW
    # all: 40 families in 2020 (+ 2 unattributed = 42), 30 + 1 in 2025, 20 + 0 in 2027 (< 21): the fall is 2027
    for y, n, u in ((2020, 40, 2), (2025, 30, 1), (2027, 20, 0)):
        con.execute("INSERT INTO concentration_stats VALUES ('all', 'all', 'in_force_stock', ?, 'families', ?, ?, 3, NULL, NULL,"
                    " 4, 2500, 0.9, ?, 20)", [y, n, u, above])
    # segment bonded: 5 families in 2020 and no row after: too few, never banded; sintered: 25, gone after 2025
    con.execute("INSERT INTO concentration_stats VALUES ('segment', 'bonded', 'in_force_stock', 2020, 'families', 5, 0, 0,"
                " NULL, NULL, 1, 10000, 1, ?, 20)", [few])
    con.execute("INSERT INTO concentration_stats VALUES ('segment', 'sintered', 'in_force_stock', 2020, 'families', 25, 0, 0,"
                " NULL, NULL, 5, 2000, 1, ?, 20)", [above])
    con.execute("INSERT INTO concentration_stats VALUES ('segment', 'sintered', 'in_force_stock', 2025, 'families', 25, 0, 0,"
                " NULL, NULL, 5, 2000, 1, ?, 20)", [above])
    con.execute("INSERT INTO concentration_stats VALUES ('all', 'all', 'in_force_stock', 2020, 'centrality', 40, 0, 0,"
                " NULL, NULL, 5, 9999, 1, ?, 20)", [above])
    cells = run_query(con, "findings_wall", {"year": "2020"})
    by = {r["scope_value"]: r for r in cells.to_dicts()}
    assert set(by) == {"all", "bonded", "sintered"}  # the centrality-weighted row is not the wall
    assert by["all"]["cliff_year"] == 2027 and by["sintered"]["cliff_year"] == 2026 and by["bonded"]["cliff_year"] == 2021
    cliffs = pl.DataFrame({"holder_group": ["Alpha", "Beta"], "families_in_force": [25, 5], "cliff_year": [2031, 2024]})
    b = wall_block(cells, cliffs, FindingsSettings(20, 0.5, 5, 50), 2020)
    assert b["status"] == VERDICT
    assert "all:all: HHI 2,500, CR4 90% over 40 families (above 1,800 (merger-guideline analogy)), below half by 2027" in b["verdict"]
    assert "segment:sintered: HHI 2,000" in b["verdict"] and "too few to judge: segment:bonded (5)" in b["verdict"]
    assert "Cliffs of the largest holders: Alpha 2031" in b["verdict"] and "Beta" not in b["verdict"]
    assert not any(n["name"] == "segment:bonded HHI" for n in b["numbers"])  # a too-few cell is never banded
    assert b["unknown"] == {"families with no holder shown (left out)": 2, "families of unknown status (left out)": 3}
    con.execute("DELETE FROM concentration_stats WHERE scope_value = 'sintered' OR weighting = 'centrality'")
    con.execute("UPDATE concentration_stats SET label = ? , n_families = 10 WHERE scope_type = 'all'", [few])
    b2 = wall_block(run_query(con, "findings_wall", {"year": "2020"}), cliffs, FindingsSettings(20, 0.5, 5, 50), 2020)
    assert b2["status"] == TOO_FEW and "10 in-force families in 2020" in b2["verdict"]


STACK = """
[rates]
unlicensed = {percent = {triangular = [0.02, 0.05, 0.10]}}
licensed = {percent = {triangular = [0.01, 0.03, 0.05]}}
[apportionment]
method = "stack"
[[variant]]
name = "demanded"
unlicensed = {percent = {uniform = [0.10, 0.25]}}
"""
CAP = STACK.replace('method = "stack"', 'method = "cap"\ncap = {uniform = [0.05, 0.5]}')


def fee_warehouse() -> duckdb.DuckDBPyConnection:
    """Exporter E, 2020, markets US (sales 600) and DE (400), variants base and demanded.
    base US: A licensed, coverage 1 at 3%; B unlicensed, coverage 0.5 at 5%; base DE: B at 5%, coverage 1.
    The inverse (royalty_inverse) needs 43.056458164094225% per licensor for 30%."""
    con = duckdb.connect()
    con.execute("""CREATE TABLE royalty_results (scenario VARCHAR, variant VARCHAR, exporter VARCHAR, market VARCHAR,
                   year INTEGER, currency VARCHAR, sales_value DOUBLE, n_blocking BIGINT, n_licensed BIGINT,
                   n_unlicensed BIGINT, n_refused BIGINT, n_compulsory BIGINT, burden_p5 DOUBLE, burden_p50 DOUBLE,
                   burden_p95 DOUBLE, share_infeasible DOUBLE, infeasible BOOLEAN)""")
    con.execute("""CREATE TABLE royalty_detail (scenario VARCHAR, variant VARCHAR, exporter VARCHAR, market VARCHAR, year INTEGER,
                   holder_group VARCHAR, status VARCHAR, coverage DOUBLE, weight DOUBLE, rate_p50 DOUBLE)""")
    con.execute("""CREATE TABLE royalty_inverse (scenario VARCHAR, exporter VARCHAR, year INTEGER, target_burden DOUBLE,
                   required_avg_rate DOUBLE, reachable BOOLEAN, max_burden DOUBLE, why VARCHAR)""")
    con.execute("CREATE TABLE royalty_scenarios (scenario VARCHAR, text VARCHAR)")
    for v, p, inf in (("base", (0.02, 0.053, 0.09), False), ("demanded", (0.5, 0.8, 1.2), True)):
        con.execute("INSERT INTO royalty_results VALUES ('S', ?, 'E', 'ALL', 2020, 'USD', 1000, NULL, NULL, NULL, NULL, NULL,"
                    " ?, ?, ?, ?, ?)", [v, *p, 0.3 if inf else 0.0, inf])
        con.execute("INSERT INTO royalty_results VALUES ('S', ?, 'E', 'US', 2020, 'USD', 600, 2, 1, 1, 0, 0, 0.01, 0.055, 0.1, 0, false)", [v])
        con.execute("INSERT INTO royalty_results VALUES ('S', ?, 'E', 'DE', 2020, 'USD', 400, 1, 0, 1, 0, 0, 0.02, 0.05, 0.08, 0, false)", [v])
        con.execute("INSERT INTO royalty_detail VALUES ('S', ?, 'E', 'US', 2020, 'A', 'licensed', 1, 1, 0.03)", [v])
        con.execute("INSERT INTO royalty_detail VALUES ('S', ?, 'E', 'US', 2020, 'B', 'unlicensed', 0.5, 1, 0.05)", [v])
        con.execute("INSERT INTO royalty_detail VALUES ('S', ?, 'E', 'DE', 2020, 'B', 'unlicensed', 1, 1, 0.05)", [v])
    con.execute("INSERT INTO royalty_inverse VALUES ('S', 'E', 2020, 0.3, 0.43056458164094225, true, 0.7, 'reachable')")
    con.execute("INSERT INTO royalty_scenarios VALUES ('S', ?)", [STACK])
    return con


def test_fee_burden_hand_worked():
    con = fee_warehouse()
    rows = run_query(con, "findings_fee_burden", {"year": "2020"})
    by = {(r["variant"], r["market"]): r for r in rows.to_dicts()}
    # US: licensed 1 x 3% = 0.03 against unlicensed 0.5 x 5% = 0.025: licensed drives it, 0.03 / 0.055
    assert by[("base", "US")]["driver"] == "licensed" and by[("base", "US")]["driver_share"] == pytest.approx(0.03 / 0.055)
    assert by[("base", "DE")]["driver"] == "unlicensed" and by[("base", "DE")]["driver_share"] == pytest.approx(1.0)
    # ALL, by value: licensed 600 x 0.03 = 18; unlicensed 600 x 0.025 + 400 x 0.05 = 35
    assert by[("base", "ALL")]["driver"] == "unlicensed" and by[("base", "ALL")]["driver_share"] == pytest.approx(35 / 53)
    assert by[("base", "ALL")]["n_blocking"] == 3 and by[("base", "ALL")]["n_unlicensed"] == 2
    terms = {"S": scenario_terms(STACK)}
    assert terms["S"] == {"method": "stack", "cap": None, "max_rate": 0.25}
    b = fee_block(rows, 30, FindingsSettings(20, 0.5, 5, 50), 2020, terms)
    assert b["status"] == VERDICT
    assert b["verdict"].startswith("30% is not reached under any feasible rate variant")
    assert "infeasible (P95 above 100% of sales): E -> ALL under demanded" in b["verdict"]
    inv = next(n for n in b["numbers"] if "per-licensor rate" in n["name"])
    assert inv["value"] == pytest.approx(0.430565)
    assert inv["display"] == ("NOT reachable under the scenario's rate assumptions: it needs 43.06% per licensor "
                              "(rates stack, no cap), above the highest rate it assumes (25.0%)")
    band = next(n for n in b["numbers"] if n["name"] == "E -> ALL demanded burden P5/P50/P95")
    assert band["display"] == "50.0% / 80.0% / 120.0% INFEASIBLE (P95 above 100% of sales)"
    # too few families: no verdict, but the infeasible variant is still named
    few = fee_block(rows, 7, FindingsSettings(20, 0.5, 5, 50), 2020, terms)
    assert few["status"] == TOO_FEW and "7 in-force families (threshold 20)" in few["verdict"] and "demanded" in few["verdict"]
    assert fee_block(rows.clear(), 30, FindingsSettings(20, 0.5, 5, 50), 2020)["status"] == NOT_AVAILABLE


def test_fee_burden_over_the_years_hand_worked():
    con = fee_warehouse()
    # 2021 and 2022 for base ALL: P50 35% in 2021 (reaches 30%), 35% again in 2022 (the peak's first year is 2021)
    for y in (2021, 2022):
        con.execute("INSERT INTO royalty_results VALUES ('S', 'base', 'E', 'ALL', ?, 'USD', 1000, NULL, NULL, NULL, NULL,"
                    " NULL, 0.2, 0.35, 0.5, 0, false)", [y])
        con.execute("INSERT INTO royalty_inverse VALUES ('S', 'E', ?, 0.3, 0.5, true, 0.7, 'reachable')", [y])
    yrs = run_query(con, "findings_fee_burden_years", {})
    base = yrs.filter((pl.col("variant") == "base") & (pl.col("market") == "ALL")).to_dicts()[0]
    assert (base["first_year"], base["last_year"], base["peak_p50"], base["peak_year"], base["first_year_at_target"],
            base["infeasible_years"]) == (2020, 2022, 0.35, 2021, 2021, 0)
    dem = yrs.filter((pl.col("variant") == "demanded") & (pl.col("market") == "ALL")).to_dicts()[0]
    assert dem["first_year_at_target"] is None and dem["infeasible_years"] == 1  # 80% in 2020, infeasible
    b = fee_block(run_query(con, "findings_fee_burden", {"year": "2020"}), 30, FindingsSettings(20, 0.5, 5, 50), 2020,
                  {"S": scenario_terms(STACK)}, yrs)
    peak = next(n for n in b["numbers"] if n["name"] == "E -> ALL base peak median burden 2020-2022")
    assert peak["display"] == "35.0% in 2021; the median reaches the target from 2021"
    dpeak = next(n for n in b["numbers"] if n["name"] == "E -> ALL demanded peak median burden 2020-2020")
    assert dpeak["display"] == "80.0% in 2020; the median never reaches the target; infeasible in 1 of the years"


def test_inverse_under_a_cap_and_unreachable():
    r = {"target_burden": 0.3, "reachable": True, "required_avg_rate": 0.43056458164094225, "why": "reachable"}
    cap = scenario_terms(CAP)
    assert cap["method"] == "cap" and cap["cap"] == 0.5
    assert inverse_statement(r, cap) == (True, "reachable under the scenario's aggregate cap of 50.0%: a per-licensor "
                                               "rate of 43.06% gives 30%")
    assert inverse_statement(r, {"method": "stack", "cap": None, "max_rate": 0.5})[0] is True
    no = {"target_burden": 0.3, "reachable": False, "required_avg_rate": None,
          "why": "unreachable: under the cap of 0.06 the aggregate rate cannot exceed it in any market"}
    ok, text = inverse_statement(no, cap)
    assert FindingsSettings.load().years == 30  # data/findings.toml [over_time]
    assert not ok and text.startswith("NOT reachable: no per-licensor rate gives 30% (unreachable: under the cap of 0.06")



# ---------------------------------------------------------------------------------------------
# a SYNTHETIC warehouse of 100k publications (benchmarks/synthetic_patentsview.py): verdicts


@pytest.mark.slow
def test_synthetic_100k_warehouse_gives_verdicts(tmp_path):
    """100,000 SYNTHETIC PatentsView-shaped patents (all in the landscape), ingested, analyzed
    (segments by their CPC and keyword rules: the classifier's fit is not what is tested here)
    and run through the example royalty scenario: the wall and the fee burden rest on enough
    families to give verdicts, and every number is still its query's."""
    import sys
    from pathlib import Path

    from patentscope.analyze import analyze
    from patentscope.ingest.sample import sample_folder
    from patentscope.ingest.us_bulk import ingest_bulk
    from patentscope.landscape import load_landscape
    from patentscope.metrics.royalty import load_scenario, run_scenario
    from patentscope.metrics.segments import _inputs, assign_by_rules, load_segments
    from patentscope.warehouse.connection import writer
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import synthetic_patentsview as gen

    gen.generate(tmp_path / "tables", 400_000, seed=3, landscape_share=1.0, n_patents=100_000, inventors=False,
                 log=lambda _m: None)
    wh = tmp_path / "SYNTHETIC.duckdb"
    ingest_bulk(wh, tmp_path / "tables", load_landscape(), command="pytest", release="SYNTHETIC-findings")
    at = dt.date(2026, 12, 1)
    analyze(wh, at=at, today=at, steps=("holders", "expiry", "centrality"), progress=False)
    with writer(wh) as con:
        segs = assign_by_rules(*_inputs(con, True), load_segments())
        con.register("_s", segs)
        con.execute("INSERT INTO publication_segments SELECT pub_key, segment, decided_by, evidence, probability FROM _s")
        con.unregister("_s")
    analyze(wh, at=at, today=at, steps=("concentration",), progress=False)
    with writer(wh) as con:
        run_scenario(con, load_scenario(sample_folder().parent / "royalty" / "example_scenario.toml"))
    con = duckdb.connect(str(wh), read_only=True)
    try:
        n_pubs, n_land = con.execute("SELECT count(*), count(*) FILTER (WHERE in_landscape) FROM publications").fetchall()[0]
        assert n_pubs >= 100_000 and n_land > 90_000  # 100k patents (designs and reissues are not NdFeB) + cited ones
        f = findings(con, at)
        b1, b2, b3 = f["blocks"]
        assert b2["status"] == VERDICT and "all:all: HHI" in b2["verdict"], b2["verdict"]
        assert b3["status"] == VERDICT and "per licensor" in b3["verdict"], b3["verdict"]
        assert b1["status"] == VERDICT, b1["verdict"]
        assert check_numbers_reproduce(con, f) >= 30
    finally:
        con.close()
