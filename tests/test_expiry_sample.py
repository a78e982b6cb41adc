"""Expiry engine on the real embedded sample: hand-checked records, an independent per-row
implementation, the warehouse writer, the named queries and the `patentscope expiry` command."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from patentscope.cli import main
from patentscope.errors import WarehouseError
from patentscope.metrics.expiry import compute_expiry, load_inputs, refresh
from patentscope.metrics.expiry.rules import load_rules
from patentscope.warehouse import migrations
from patentscope.warehouse.connection import reader
from patentscope.warehouse.query import load_queries, run_read_only

D = dt.date
TODAY = D(2026, 11, 28)
RULES = load_rules()


@pytest.fixture(scope="module")
def inputs(sample_con):
    return load_inputs(sample_con)


@pytest.fixture(scope="module")
def sample_expiry(inputs):
    return compute_expiry(inputs["publications"], inputs["term_inputs"], inputs["legal_events"], inputs["priority_claims"],
                          at=TODAY, today=TODAY)


def row(ex: pl.DataFrame, key: str) -> dict:
    rows = ex.filter((pl.col("pub_key") == key) & (pl.col("jurisdiction") == pl.col("office"))).to_dicts()
    assert len(rows) == 1, key
    return rows[0]


def test_us_4770723_is_exactly_17_years_from_grant(sample_expiry):
    """35 USC 154(c)(1): filed 1987-02-10 (before 1995-06-08), granted 1988-09-13 -> the greater of
    grant + 17 and E + 20. Its JP priority of 1982-08-21 puts the first US filing E at or before
    1983-08-21 (Paris Art. 4C(1), 35 USC 119(a)), so E + 20 <= 2003-08-21 < grant + 17 = 2005-09-13."""
    r = row(sample_expiry, "US-4770723")
    assert (r["expiry_earliest"], r["expiry_latest"], r["expiry_date"]) == (D(2005, 9, 13),) * 3
    assert r["status"] == "expired by term" and r["headline_rule"] == "exact" and not r["expiry_is_upper_bound"]
    assert r["rule"] == "us_utility:transition_greater_of_17_and_20"
    text = "\n".join(r["calculation_log"])
    assert "1982-08-21 <= E <= min(filing 1987-02-10, priority + 12mo) = 1983-08-21" in text
    assert "greater of 17 years from grant = 2005-09-13 and 20 years from 1983-08-21 = 2003-08-21 -> 2005-09-13" in text


def test_us_5076861_is_exactly_17_years_from_grant(sample_expiry):
    """35 USC 154(c)(1): filed 1991-01-07, granted 1991-12-31, priority 1987-04-30 -> E <= 1988-04-30,
    E + 20 <= 2008-04-30 < grant + 17 = 2008-12-31 (the page prints 'Dec 31 2008')."""
    r = row(sample_expiry, "US-5076861")
    assert (r["expiry_earliest"], r["expiry_latest"], r["expiry_date"]) == (D(2008, 12, 31),) * 3


def test_no_sample_headline_lies_outside_its_interval(sample_expiry):
    ex = sample_expiry.filter(pl.col("expiry_date").is_not_null())
    assert ex.height > 40
    assert ex["expiry_latest"].null_count() == 0
    bad = ex.filter((pl.col("expiry_date") > pl.col("expiry_latest"))
                    | (pl.col("expiry_date") < pl.col("expiry_earliest")).fill_null(False))
    assert bad.height == 0
    ranged = ex.filter(pl.col("expiry_earliest") != pl.col("expiry_latest"))
    assert ranged["expiry_is_upper_bound"].all() and set(ranged["headline_rule"]) == {"latest_admissible_e"}


def _frames(inputs):
    return inputs["publications"], inputs["term_inputs"], inputs["legal_events"], inputs["priority_claims"]


def test_us_4770723_was_in_force_on_1995_06_08(inputs):
    ex = compute_expiry(*_frames(inputs), at=D(1995, 6, 8), today=TODAY)
    assert row(ex, "US-4770723")["status"] == "in force"


def test_printed_pta_and_pct_data_reach_the_engine_and_match_the_pages(sample_expiry):
    # pages print PTA 278 days and "Mar 31 2024"; PTA 971 days and "Jul 30 2031"
    assert row(sample_expiry, "US-7160398")["expiry_date"] == D(2024, 3, 31)
    assert row(sample_expiry, "US-9818515")["expiry_date"] == D(2031, 7, 30)
    r = row(sample_expiry, "US-6187259")  # 371 national stage of PCT/JP96/01745 filed 1996-06-25
    assert r["base_date"] == D(1996, 6, 25) and r["expiry_date"] == D(2016, 6, 25)
    assert "pct_data 'PCT Filed: June 25, 1996'" in "\n".join(r["calculation_log"])
    # the page prints "Dec 14 2025": inside the interval the printed priority date allows
    r = row(sample_expiry, "US-7750776")
    assert (r["expiry_earliest"], r["expiry_latest"]) == (D(2025, 12, 14), D(2026, 12, 14))
    assert "interval: 2025-12-14 .. 2026-12-14" in "\n".join(r["calculation_log"])


def test_sample_statuses_are_explained(sample_expiry):
    ex = sample_expiry
    assert ex.height == 147 and ex["pub_key"].n_unique() == 147  # no legal events in the sample: office rows only
    counts = dict(ex.group_by("status").len().iter_rows())
    assert sum(counts.values()) == 147 and set(counts) <= {"pending", "in force", "expired by term", "lapsed", "unknown"}
    assert counts["in force"] >= 20 and counts["expired by term"] >= 15
    unknown = ex.filter(pl.col("status") == "unknown")
    assert unknown["status_reason"].str.len_chars().min() > 10
    for r in unknown.iter_rows(named=True):  # every unknown says why: a flag, a missing input, or a range
        assert r["flags"] or r["missing"] or r["status_basis"] in ("pct_international", "application_past_term",
                                                                    "term_range", "ep_bundle_unknown",
                                                                    "exam_request_unknown"), r["pub_key"]
    ca = row(ex, "CA-1236381")  # CA has rules now (Patent Act ss. 44, 45); this record shows no dates at all
    assert ca["status_basis"] == "missing_input" and ca["rule"] == "ca_patent"
    assert any("filed before 1989-10-01 the term is 17 years from issue" in m for m in ca["missing"])
    live = ex.filter(pl.col("status") == "in force")
    assert live["expiry_date"].null_count() == 0 and live["in_force_from"].null_count() == 0
    assert (live["expiry_date"] > TODAY).all() and (live["in_force_from"] <= TODAY).all()


# ----------------------------------------------------------------------------------------------
# an independent, plain-Python implementation of the same rules, row by row


def _add(d: dt.date | None, years: int | None) -> dt.date | None:
    if d is None or years is None:
        return None
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return dt.date(d.year + years, 2, 28)


def _months_after(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.year * 12 + d.month - 1 + months, 12)
    day = d.day
    while True:
        try:
            return dt.date(y, m + 1, day)
        except ValueError:
            day -= 1


def reference(p: dict, ti: dict, claims: list[dict], at: dt.date) -> tuple[str, dt.date | None]:
    """(status, expiry_date) by reading the statutes (docs/sources.md) and term_rules.toml directly."""
    office, kind = p["country"], p["kind"]
    if office not in {"US", "EP", "CN", "JP", "KR", "WO", "DE", "TW", "CA"}:
        return "unknown", None
    f, g, pub_d, pri = p["filing_date"], p["grant_date"], p["publication_date"], p["priority_date"]
    if any(x is not None and x > TODAY for x in (f, g, pub_d, pri)):
        return "unknown", None
    if (g and f and g < f) or (f and pub_d and f > pub_d) or (pri and f and pri > f):
        return "unknown", None
    if kind:
        typ = RULES.kinds.get(office, {}).get(kind)
    elif g is not None:
        typ = {"EP": "invention"}.get(office) or ("invention" if office == "US" and re.fullmatch(r"\d{1,8}", p["doc_number"]) else None)
    elif office == "US" and re.fullmatch(r"\d{11}", p["doc_number"]):
        typ = "application"
    elif office == "US" and re.fullmatch(r"\d{1,8}", p["doc_number"]):
        typ = "invention"
    elif office == "WO":
        typ = "international_application"
    else:
        typ = None
    if typ is None or (typ == "application" and g is not None):
        return "unknown", None
    if typ == "international_application":
        return ("not yet filed" if f and at < f else "unknown"), None
    intl = ti.get("international_filing_date")
    if office == "US":
        e = min(x for x in (ti.get("earliest_us_filing_date"), intl, f, D(9999, 1, 1)) if x)
        e = None if e == D(9999, 1, 1) else e
    else:
        e = intl or f
    start = min((x for x in (f, e) if x), default=None)
    status, end = _reference_term(p, typ, ti, claims, e, at)
    return ("not yet filed" if start and at < start else status), end


def _exam_last_day(p: dict, ti: dict, e: dt.date) -> dt.date | None:
    """The (earliest possible) last day to request examination, read from the statutes: JP Patent
    Act Art. 48-3 (3 years from filing, 7 for filings before 2001-10-01), KR Patent Act Art. 59 (3
    years, 5 before 2017-03-01), CN Patent Law Art. 35 (3 years from the priority or filing date),
    EPC Rule 70(1) (6 months after the search report publication; Euro-PCT not before 31 months)."""
    office, pri, intl = p["country"], p["priority_date"], ti.get("international_filing_date")
    if office == "JP":
        return _months_after(e, 36 if e >= D(2001, 10, 1) else 84)
    if office == "KR":
        return _months_after(e, 36 if e >= D(2017, 3, 1) else 60)
    if office == "CN":
        return _months_after(pri if pri and pri <= e else e, 36)
    if office == "EP":
        if intl:
            return _months_after(pri if pri and pri <= e else intl, 31)
        if p["kind"] in ("A1", "A2", "A3") and p["publication_date"]:
            return _months_after(p["publication_date"], 6)
    return None


def _reference_term(p: dict, typ: str, ti: dict, claims: list[dict], e: dt.date | None,
                    at: dt.date) -> tuple[str, dt.date | None]:
    office = p["country"]
    f, g, pub_d, pri = p["filing_date"], p["grant_date"], p["publication_date"], p["priority_date"]
    if typ == "application":
        if e is None or (office == "US" and (f or e) < D(1995, 6, 8)):
            return "unknown", None
        last = _exam_last_day(p, ti, e)  # no request on record in the sample: unknown after the period
        if last is not None and last < at < _add(e, 20):
            return "unknown", None
        return ("pending" if at < _add(e, 20) else "unknown"), None
    # granted: the term
    pta = ti.get("pta_days") or 0
    lower = None
    if office == "US":
        if e is None:
            return "unknown", None
        fk = ti.get("international_filing_date") or f or e  # a national stage is filed on its PCT date (35 USC 363)
        if ti.get("earliest_us_filing_date"):
            e_lo = e_hi = e
        else:  # the first US filing E is bounded by the printed priority date and continuity claims
            p_ok = pri if pri and pri <= e else None
            cands = [c["priority_date"] for c in claims
                     if c["claim_type"] not in ("foreign", "provisional") and c["priority_country"] in (None, "US", "WO")]
            undated = any(c is None for c in cands)
            months = 14 if f and f >= D(2013, 12, 18) else 12
            e_hi = min(e, _months_after(p_ok, months)) if p_ok else e
            lows = [e, *([p_ok] if p_ok else []), *([min(cands)] if cands and not undated else [])]
            e_lo = None if undated and not p_ok else min(lows)

        def term(x: dt.date | None) -> dt.date | None:
            if x is None:
                return None
            if fk >= D(1995, 6, 8):
                return _add(x, 20) + dt.timedelta(days=pta)
            return _add(g, 17) if g <= D(1978, 6, 8) else max(_add(g, 17), _add(x, 20))

        if fk < D(1995, 6, 8) and g is None:
            return "unknown", None
        end = term(e_hi)
        lower = term(e_lo)
        if lower is None and fk < D(1995, 6, 8) and g > D(1978, 6, 8):
            lower = _add(g, 17)
    elif office == "CA":  # Patent Act s. 44 (filed on/after 1989-10-01), s. 45(1), (2)
        if f is None or (f < D(1989, 10, 1) and g is None):
            return "unknown", None
        if f >= D(1989, 10, 1):
            end = lower = _add(f, 20)
        else:
            end = lower = max(_add(g, 17), _add(f, 20)) if _add(g, 17) >= D(2001, 7, 12) else _add(g, 17)
    else:
        years = {"invention": 20, "utility_model": 10, "design": 10}[typ]
        if office == "CN" and typ == "invention" and e and e < D(1993, 1, 1):
            years = 15  # 1984 Patent Law Art. 45
        if office == "CN" and typ == "design" and e and e >= D(2021, 6, 1):
            years = 15
        if e is None:
            return "unknown", None
        end = lower = _add(e, years)
        if office == "JP" and e < D(1995, 7, 1):
            lower = None
    if at >= end:
        return "expired by term", end
    granted_from = g
    if granted_from is None and p["kinds_seen"] and all(
            RULES.kinds.get(office, {}).get(k) not in (None, "application") for k in p["kinds_seen"]):
        granted_from = pub_d
    if granted_from is None:
        return "unknown", end
    if at < granted_from:
        return ("pending" if g is not None else "unknown"), end
    if lower is None or at >= lower:
        return "unknown", end
    if office == "EP":  # no legal events in the sample: no evidence the bundle took effect anywhere
        return "unknown", end
    return "in force", end


@pytest.mark.parametrize("at", [D(1990, 1, 1), D(2005, 6, 30), D(2019, 12, 31), TODAY, D(2040, 1, 1)])
def test_engine_matches_an_independent_per_row_implementation(inputs, at):
    assert inputs["legal_events"].height == 0  # the reference implements no legal events
    ex = compute_expiry(*_frames(inputs), at=at, today=TODAY)
    ti = {r["pub_key"]: r for r in inputs["term_inputs"].iter_rows(named=True)}
    claims: dict[str, list[dict]] = {}
    for c in inputs["priority_claims"].iter_rows(named=True):
        claims.setdefault(c["pub_key"], []).append(c)
    got = {r["pub_key"]: r for r in ex.iter_rows(named=True)}
    mismatches = []
    for p in inputs["publications"].iter_rows(named=True):
        want_status, want_end = reference(p, ti.get(p["pub_key"], {}), claims.get(p["pub_key"], []), at)
        r = got[p["pub_key"]]
        if (r["status"], r["expiry_date"]) != (want_status, want_end):
            mismatches.append((p["pub_key"], (r["status"], r["expiry_date"]), (want_status, want_end)))
    assert not mismatches


# ----------------------------------------------------------------------------------------------
# the warehouse writer, the view and the named queries


@pytest.fixture()
def writable_copy(sample_warehouse, tmp_path):
    path = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, path)
    con = duckdb.connect(str(path))
    migrations.apply(con)
    yield con, path
    con.close()


def test_refresh_writes_idempotently_in_one_transaction(writable_copy):
    con, _ = writable_copy
    st = refresh(con, TODAY, today=TODAY)
    assert st.publications == 147 and sum(st.by_status.values()) == 147
    assert st.holder_basis == "as_written" and st.unknown_reasons
    first = con.execute("SELECT * EXCLUDE (computed_at) FROM expiry_results ORDER BY ALL").fetchall()
    stock = con.execute("SELECT * FROM in_force_stock ORDER BY ALL").fetchall()
    st2 = refresh(con, TODAY, today=TODAY)
    assert st2.by_status == st.by_status
    assert con.execute("SELECT * EXCLUDE (computed_at) FROM expiry_results ORDER BY ALL").fetchall() == first
    assert con.execute("SELECT * FROM in_force_stock ORDER BY ALL").fetchall() == stock
    v = con.execute("SELECT expiry_date, status, rule FROM expiry WHERE pub_key = 'US-4770723'").fetchall()
    assert v == [(D(2005, 9, 13), "expired by term", "us_utility:transition_greater_of_17_and_20")]
    # a failure while writing leaves the previous rows
    con.execute("ALTER TABLE holder_cliffs RENAME COLUMN cliff_year TO cliff_yr").fetchall()  # the last insert fails
    with pytest.raises(WarehouseError, match="rolled back"):
        refresh(con, D(2030, 1, 1), today=TODAY)
    assert con.execute("SELECT DISTINCT status_date FROM expiry_results").fetchall() == [(TODAY,)]



def test_refresh_in_small_batches_stores_the_same_rows(writable_copy):
    """refresh computes BATCH_SIZE publications per engine call (memory); any size gives the
    same tables and stats, the frame for the later steps included."""
    con, _ = writable_copy

    def stored() -> list[list[tuple]]:
        return [con.execute(f"SELECT * EXCLUDE ({skip}) FROM {t} ORDER BY ALL").fetchall()
                for t, skip in (("expiry_results", "computed_at"), ("in_force_stock", "holder_basis"),
                                ("holder_cliffs", "holder_basis"))]

    whole = refresh(con, TODAY, today=TODAY)
    tables_whole = stored()
    parts = refresh(con, TODAY, today=TODAY, batch_size=40)  # 4 batches of the 147 publications
    assert stored() == tables_whole and tables_whole[0] and tables_whole[1]
    assert (parts.by_status, parts.rows, parts.unknown_reasons) == (whole.by_status, whole.rows, whole.unknown_reasons)
    assert parts.frame is not None and whole.frame is not None
    assert parts.frame.sort("pub_key", "jurisdiction").equals(whole.frame.sort("pub_key", "jurisdiction"))


def test_a_batch_that_fails_to_insert_leaves_the_previous_rows(writable_copy, monkeypatch):
    """Batch i is inserted in a second thread while the engine computes batch i + 1: an insert
    that fails (here the third of four) stops the step, its error reaches the caller and the
    transaction leaves the previous tables."""
    from patentscope.metrics.expiry import warehouse as expiry_warehouse

    con, _ = writable_copy
    refresh(con, TODAY, today=TODAY)
    before = con.execute("SELECT * EXCLUDE (computed_at) FROM expiry_results ORDER BY ALL").fetchall()
    real, calls = expiry_warehouse.public_columns, []

    def failing(ex):  # type: ignore[no-untyped-def]
        calls.append(ex.height)
        if len(calls) == 3:
            raise duckdb.IOException("SYNTHETIC: disk full while inserting")
        return real(ex)

    monkeypatch.setattr(expiry_warehouse, "public_columns", failing)
    with pytest.raises(WarehouseError, match="rolled back"):
        refresh(con, D(2030, 1, 1), today=TODAY, batch_size=40)
    assert len(calls) == 3
    assert con.execute("SELECT * EXCLUDE (computed_at) FROM expiry_results ORDER BY ALL").fetchall() == before

def test_the_in_force_grid_in_small_chunks_gives_the_same_stock_and_live_rows(sample_expiry, monkeypatch):
    """live_families evaluates GRID_CHUNK (publication, jurisdiction) rows at a time (memory); any
    chunk size gives the same live rows and stock."""
    from patentscope.metrics.expiry import in_force_stock, live_families
    from patentscope.metrics.expiry import stock as stock_module

    holders = pl.DataFrame({"pub_key": sample_expiry["pub_key"].unique().sort()}).with_columns(
        holder_group=pl.col("pub_key").str.slice(0, 2))  # SYNTHETIC grouping: by office
    years = range(1985, 2040)
    live = live_families(sample_expiry, holders, years).sort(pl.all())
    stock = in_force_stock(sample_expiry, holders, years, today=TODAY)
    monkeypatch.setattr(stock_module, "GRID_CHUNK", 13)  # 160 rows of the sample: 13 chunks
    assert live_families(sample_expiry, holders, years).sort(pl.all()).equals(live) and live.height > 100
    assert in_force_stock(sample_expiry, holders, years, today=TODAY).equals(stock)
    # in_force_stock counts parts that never split a family and adds them up: any number of parts
    # gives the same cells. SYNTHETIC families of several publications (office + first two digits)
    # and some rows without a family id
    fams = sample_expiry.with_columns(family_id=pl.when(pl.col("pub_key").str.ends_with("1")).then(None)
                                      .otherwise(pl.col("pub_key").str.slice(0, 5)))
    assert fams["family_id"].n_unique() < 70 and fams["family_id"].null_count() > 5
    monkeypatch.setattr(stock_module, "STOCK_PART_ROWS", 1_000_000)
    whole = in_force_stock(fams, holders, years, today=TODAY)
    assert not whole.equals(stock)  # the families matter to the counts
    for rows in (1, 25):
        monkeypatch.setattr(stock_module, "STOCK_PART_ROWS", rows)
        assert in_force_stock(fams, holders, years, today=TODAY).equals(whole)
    assert set(stock["jurisdiction"]) >= {"ALL", "US", "JP"}


def test_refresh_with_holder_groups_and_on_an_unmigrated_warehouse(writable_copy, tmp_path):
    con, _ = writable_copy
    groups = pl.DataFrame({"pub_key": ["US-9947445", "US-9490053"], "holder_group": ["TDK", "TDK"]})
    st = refresh(con, TODAY, today=TODAY, holders=groups, years=range(2020, 2031))
    assert st.holder_basis == "holder_group"
    got = con.execute("SELECT families_in_force FROM in_force_stock WHERE holder_group = 'TDK' AND jurisdiction = 'US' "
                      "AND year = 2026").fetchall()
    assert got == [(2,)]
    bare = duckdb.connect(str(tmp_path / "bare.duckdb"))
    with pytest.raises(WarehouseError, match="migrate"):
        refresh(bare, TODAY)
    bare.close()


def test_expiry_queries_on_the_refreshed_sample(writable_copy):
    con, path = writable_copy
    refresh(con, TODAY, today=TODAY)
    con.close()
    qs = load_queries()
    with reader(path) as ro:
        fam = run_read_only(ro, qs["expiry_families_expiring"].sql,
                            qs["expiry_families_expiring"].bind({"market": "us", "from_year": "2005", "to_year": "2005"}))
        assert "PUB:US-4770723" in fam["family_id"].to_list()
        counts = run_read_only(ro, qs["expiry_status_counts"].sql, {})
        assert counts["publications"].sum() == 147
        stock = run_read_only(ro, qs["expiry_in_force_stock"].sql,
                              qs["expiry_in_force_stock"].bind({"from_year": "2026", "to_year": "2026"}))
        assert stock.height > 0 and (stock["families_in_force"] > 0).all()
        conflicts = run_read_only(ro, qs["status_conflicts"].sql, {})
        assert conflicts.height == 0  # no record of the embedded sample contradicts its computed status
        shown = ro.execute("SELECT count(*) FROM expiry WHERE status_as_shown IS NOT NULL").fetchall()[0][0]
        assert shown >= 60
        fee = ro.execute("SELECT count(*) FROM expiry WHERE status_label = 'in force (fees not verified)'").fetchall()[0][0]
        assert fee == ro.execute("SELECT count(*) FROM expiry WHERE rests_on_fee_assumption").fetchall()[0][0] > 0
        lines = run_read_only(ro, qs["expiry_log"].sql, qs["expiry_log"].bind({"pub": "US 4,770,723"}))
        assert lines["line"][-1].startswith("status at 2026-11-28: expired by term")


# ----------------------------------------------------------------------------------------------
# the command


@pytest.mark.parametrize("number", ["US4770723A", "US-4770723", "US 4,770,723", "us4770723"])
def test_cli_expiry_accepts_common_number_forms(sample_warehouse, number):
    res = CliRunner().invoke(main, ["--warehouse", str(sample_warehouse), "expiry", number, "--at", "2026-11-28", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert [(d["pub_key"], d["expiry_date"], d["status"]) for d in data] == [("US-4770723", "2005-09-13", "expired by term")]


def test_cli_expiry_text_and_errors(sample_warehouse):
    wh = str(sample_warehouse)
    res = CliRunner().invoke(main, ["--warehouse", wh, "expiry", "US4770723A", "--at", "1995-06-08"])
    assert res.exit_code == 0
    assert "expected expiry: 2005-09-13 (term)" in res.output
    assert "status at 1995-06-08: in force" in res.output and "calculation log:" in res.output
    res = CliRunner().invoke(main, ["--warehouse", wh, "expiry", "US4770723A", "--market", "DE"])
    assert res.exit_code == 1 and "has effect only in US, not DE" in res.output
    res = CliRunner().invoke(main, ["--warehouse", wh, "expiry", "US1"])
    assert res.exit_code == 1 and "no publication matching 'US1'" in res.output
    res = CliRunner().invoke(main, ["--warehouse", wh, "expiry", "EP1895551B1", "--market", "de", "--at", "2020-01-01"])
    assert res.exit_code == 0 and "jurisdiction DE" in res.output and "unknown" in res.output


def test_refresh_on_an_empty_warehouse(mem_con):
    st = refresh(mem_con, TODAY, today=TODAY)
    assert (st.rows, st.stock_rows, st.by_status) == (0, 0, {})


def test_cli_expiry_shows_the_interval_evidence_and_csv(sample_warehouse):
    wh = str(sample_warehouse)
    res = CliRunner().invoke(main, ["--warehouse", wh, "expiry", "US7160398", "--at", "2026-11-28"])
    assert res.exit_code == 0, res.output
    assert "expected expiry: 2023-05-13 .. 2024-03-31; headline 2024-03-31 (latest_admissible_e)" in res.output
    assert "evidence on record: expiry_as_shown 'Mar 31 2024'" in res.output and "CONFLICT" not in res.output
    # the page shows EXPIRED and 'Dec 14 2025', inside the interval 2025-12-14 .. 2026-12-14: the evidence narrows it
    res = CliRunner().invoke(main, ["--warehouse", wh, "expiry", "US7750776", "--at", "2026-11-28"])
    assert "expected expiry: 2025-12-14 (status_evidence)" in res.output and "status at 2026-11-28: expired by term" in res.output
    res = CliRunner().invoke(main, ["--warehouse", wh, "expiry", "US5076861", "--csv", "--at", "2026-11-28"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("pub_key,pub_number,jurisdiction") and len(lines) == 2
    head = lines[0].split(",")
    cells = dict(zip(head, lines[1].split(","), strict=False))
    assert (cells["expiry_earliest"], cells["expiry_latest"], cells["expiry_date"]) == ("2008-12-31",) * 3
    res = CliRunner().invoke(main, ["--warehouse", wh, "expiry", "US5076861", "--csv", "--json"])
    assert res.exit_code == 2 and "not both" in res.output


def test_us_patents_shown_with_a_grant_date_but_no_kind_are_grants(sample_con):
    """US 5,076,861: no page shows its kind code, but a grant date (1991-12-31) and a patent number."""
    got = sample_con.execute("SELECT kind, is_grant FROM publications WHERE pub_key = 'US-5076861'").fetchall()
    assert got == [(None, True)]


def test_stock_grid_equals_the_status_taken_year_by_year(sample_expiry):
    """live_families (one row per in-force publication x jurisdiction x year, built from each row's
    in-force span) against status_at evaluated on every reference day for every row."""
    from patentscope.metrics.expiry import status_at
    from patentscope.metrics.expiry.stock import live_families

    years = range(1975, 2052, 3)  # every third year: the spans start and end in different years
    got = live_families(sample_expiry, None, years, rules=RULES).select("pub_key", "jurisdiction", "year")
    month, day = RULES.stock_reference_day
    want = pl.concat([
        status_at(sample_expiry, dt.date(y, month, day), RULES).filter(pl.col("status") == "in force")
        .select("pub_key", "jurisdiction", pl.lit(y, dtype=pl.Int32).alias("year")) for y in years])
    assert want.height > 150  # the sample's granted patents over the years
    assert sorted(got.iter_rows()) == sorted(want.iter_rows())
    # a null status flag is no case for status_at (a null condition does not fire): nor for the grid
    i = pl.int_range(pl.len())
    holed = sample_expiry.with_columns(
        st_granted=pl.when(i % 3 == 0).then(None).otherwise(pl.col("st_granted")),
        st_validation_known=pl.when(i % 4 == 1).then(None).otherwise(pl.col("st_validation_known")),
        st_hard=pl.when(i % 5 == 2).then(None).otherwise(pl.col("st_hard")))
    got = live_families(holed, None, years, rules=RULES).select("pub_key", "jurisdiction", "year")
    want = pl.concat([
        status_at(holed, dt.date(y, month, day), RULES).filter(pl.col("status") == "in force")
        .select("pub_key", "jurisdiction", pl.lit(y, dtype=pl.Int32).alias("year")) for y in years])
    assert sorted(got.iter_rows()) == sorted(want.iter_rows())


def _live_by_day(expiry: pl.DataFrame, holders: list[tuple[str, str, D | None, D | None]], years: list[int]) -> set[tuple]:
    """The independent reference for live_spans: status_at on each reference day, then each
    holder interval checked in plain Python (valid_from <= day < valid_to, open ends)."""
    from patentscope.metrics.expiry import status_at

    month, day = RULES.stock_reference_day
    out = set()
    for y in years:
        at = D(y, month, day)
        live = status_at(expiry, at).filter(pl.col("status") == "in force").select("pub_key", "jurisdiction", "family_id")
        for pub, jur, fam in live.iter_rows():
            groups = [g for p, g, lo, hi in holders if p == pub and (lo is None or lo <= at) and (hi is None or at < hi)]
            for g in groups or ["(no holder shown)"]:
                out.add((pub, jur, fam, g, y))
    return out


def test_live_spans_equal_the_status_on_each_reference_day(sample_expiry):
    """live_spans (and live_families, its year-by-year form) against status_at on each reference
    day with the holder intervals checked one by one: SYNTHETIC holder intervals (several groups
    per publication, gaps between and around them, open ends) and year lists with gaps, over the
    real sample's expiry frame."""
    import random

    from patentscope.metrics.expiry import in_force_stock, live_families, live_spans

    rng = random.Random(18)
    pubs = sorted(sample_expiry["pub_key"].unique())
    holders: list[tuple[str, str, D | None, D | None]] = []
    for pub in pubs:
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            lo = None if rng.random() < 0.4 else D(rng.randint(1985, 2030), rng.randint(1, 12), rng.randint(1, 28))
            hi = None if rng.random() < 0.4 else (D(rng.randint(1985, 2040), 12, 31) if rng.random() < 0.2  # on a reference day
                                                  else D(rng.randint(1985, 2040), rng.randint(1, 12), 1))
            holders.append((pub, rng.choice(["G1", "G2", "G3"]), lo, hi))
        if rng.random() < 0.3:  # a one-year gap: G1 ends before the 2005 reference day, G2 starts after it
            holders += [(pub, "G1", None, D(2005, 12, 31)), (pub, "G2", D(2006, 1, 1), None)]
    frame = pl.DataFrame(holders, schema={"pub_key": pl.String, "holder_group": pl.String, "valid_from": pl.Date,
                                          "valid_to": pl.Date}, orient="row").with_columns(
        group_country=pl.col("holder_group").str.slice(1))
    uniq = sorted(set(holders), key=str)
    for years in (list(range(1985, 2041)), [1990, 1995, 1996, 2003, 2010, 2011, 2012, 2025, 2038]):
        want = _live_by_day(sample_expiry, uniq, years)
        spans = live_spans(sample_expiry, frame, years)
        assert spans.columns == ["pub_key", "jurisdiction", "family_id", "holder_group", "group_country", "year_from",
                                 "year_to"]
        got = set()
        for pub, jur, fam, g, country, a, z in spans.iter_rows():
            covered = [y for y in years if a <= y <= z]
            assert covered[0] == a and covered[-1] == z  # a span starts and ends on a year of the list
            assert (country is None) == (g == "(no holder shown)")
            for y in covered:
                assert (pub, jur, fam, g, y) not in got  # spans do not overlap
                got.add((pub, jur, fam, g, y))
        assert got == want and len(want) > 5 * len(years)
        # maximal: two spans of one row and group never touch
        ordered = spans.sort("pub_key", "jurisdiction", "holder_group", "year_from")
        rows = list(ordered.iter_rows())
        for r0, r1 in zip(rows, rows[1:], strict=False):
            if r0[:4] == r1[:4]:
                assert years.index(r1[5]) > years.index(r0[6]) + 1
        per_year = live_families(sample_expiry, frame, years)
        assert {(p, j, f, g, y) for p, j, f, y, _, g, _ in per_year.iter_rows()} == want
        assert per_year.height == len(want)
    assert spans.filter(pl.col("holder_group") == "(no holder shown)").height > 5
    # the stock from the spans equals distinct counts over the year rows, with SYNTHETIC families
    # of several publications (office + first two digits) and some rows without a family id
    fams = sample_expiry.with_columns(family_id=pl.when(pl.col("pub_key").str.ends_with("1")).then(None)
                                      .otherwise(pl.col("pub_key").str.slice(0, 5)))
    rows = live_families(fams, frame.drop("group_country"), years)
    counts = [pl.col("family_id").n_unique().cast(pl.UInt32).alias("families_in_force"),
              pl.col("pub_key").n_unique().cast(pl.UInt32).alias("publications_in_force")]
    want_stock = pl.concat([rows.group_by("holder_group", "jurisdiction", "year").agg(counts),
                            rows.group_by("holder_group", "year").agg(counts).with_columns(jurisdiction=pl.lit("ALL"))
                            .select("holder_group", "jurisdiction", "year", "families_in_force", "publications_in_force")])
    got_stock = in_force_stock(fams, frame.drop("group_country"), years, today=TODAY).select(want_stock.columns)
    assert got_stock.sort(pl.all()).equals(want_stock.sort(pl.all())) and got_stock.height > 50
