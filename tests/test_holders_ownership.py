"""Ownership over time (issue 15 item 3): holder chains, transfers and the GM / Magnequench lineage."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from holders_built import built_copy  # tests/holders_built.py

from patentscope.holders.lineage import load_lineage
from patentscope.holders.ownership import build_chain

LINEAGE = load_lineage()


def test_a_recorded_transfer_splits_the_holder_at_date() -> None:
    # US10204724 (sample NDW0058): Yantai Shougang first, Yantai Dongxing now; the date here is
    # a hand-worked reassignment line (the sample's own line is truncated before its date)
    rows = [("US-10204724", "original_assignee", "Yantai Shougang Magnetic Materials Inc"),
            ("US-10204724", "current_assignee", "Yantai Dongxing Magnetic Materials Inc")]
    ents = {"Yantai Shougang Magnetic Materials Inc": {"H:SG"}, "Yantai Dongxing Magnetic Materials Inc": {"H:DX"}}
    text = "Assigned to YANTAI SHOUGANG MAGNETIC MATERIALS INC.; later assigned to Yantai Dongxing Magnetic Materials Inc. 2019-06-05"
    df = build_chain(rows, {"US-10204724": text}, {"US-10204724": dt.date(2016, 9, 30)}, ents, {}, LINEAGE)
    got = {r["name_as_written"]: (r["valid_from"], r["valid_to"], r["date_basis"]) for r in df.iter_rows(named=True)}
    assert got == {"Yantai Shougang Magnetic Materials Inc": (None, dt.date(2019, 6, 5), "recorded"),
                   "Yantai Dongxing Magnetic Materials Inc": (dt.date(2019, 6, 5), None, "recorded")}
    # without the date: the record's first date, flagged as inferred
    df2 = build_chain(rows, {}, {"US-10204724": dt.date(2016, 9, 30)}, ents, {}, LINEAGE)
    assert set(df2["date_basis"]) == {"inferred from record"}
    assert df2.filter(df2["role"] == "current_assignee")["valid_from"][0] == dt.date(2016, 9, 30)


def test_same_group_today_is_no_transfer() -> None:
    rows = [("US-4981532", "original_assignee", "Mitsubishi Metal Corp"),
            ("US-4981532", "current_assignee", "Mitsubishi Materials Corp")]
    ents = {"Mitsubishi Metal Corp": {"H:MM"}, "Mitsubishi Materials Corp": {"H:MMAT"}}
    df = build_chain(rows, {}, {}, ents, {}, LINEAGE, {"H:MM": "L:MITSUBISHI METAL", "H:MMAT": "L:MITSUBISHI METAL"})
    assert df.height == 1 and df["date_basis"][0] == "as shown" and df["valid_to"][0] is None


@pytest.fixture(scope="module")
def built(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_copy(sample_warehouse, tmp_path_factory, "own")


def test_us4902361_is_held_by_magnequenchs_line_today(built: Path) -> None:
    con = duckdb.connect(str(built), read_only=True)
    rows = con.execute("SELECT group_id, valid_from, valid_to, ownership_date_basis FROM publication_holder_groups "
                       "WHERE pub_key = 'US-4902361' ORDER BY valid_from NULLS FIRST").fetchall()
    con.close()
    assert rows[0][0] == "L:GENERAL MOTORS" and rows[-1][2] is None
    assert rows[-1][0] == "L:NEO PERFORMANCE MATERIALS" and rows[-1][3] == "inferred from lineage"
    at_1990 = [r[0] for r in rows if (r[1] is None or r[1] <= dt.date(1990, 1, 1)) and (r[2] is None or dt.date(1990, 1, 1) < r[2])]
    assert at_1990 == ["L:GENERAL MOTORS"]
    assert any(r[0] == "L:MAGNEQUENCH INTERNATIONAL" and r[1] == dt.date(1995, 1, 1) for r in rows)


def test_gm_global_technology_operations_sits_in_gms_group(built: Path) -> None:
    from patentscope.cli import main

    ids = []
    for name in ("GM Global Technology Operations LLC", "General Motors Company"):
        res = CliRunner().invoke(main, ["--warehouse", str(built), "holders", "resolve", name, "--date", "2015-01-01", "--json"])
        assert res.exit_code == 0, res.output
        out = json.loads(res.output)
        ids.append(out[0]["group_id"])
    assert ids[0] == ids[1] == "L:GENERAL MOTORS"
    assert "controlled by General Motors Company" in (out := json.loads(CliRunner().invoke(main, [
        "--warehouse", str(built), "holders", "resolve", "GM Global Technology Operations LLC", "--date", "2015-01-01",
        "--json"]).output))[0]["lineage_path"]


def test_holders_chain_command_shows_links_and_sources(built: Path) -> None:
    from patentscope.cli import main

    res = CliRunner().invoke(main, ["--warehouse", str(built), "holders", "chain", "US4902361", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert [lk["name_as_written"] for lk in out["links"]] == ["Motors Liquidation Co", "Magnequench International LLC"]
    assert all("lineage.csv:" in lk["evidence"] for lk in out["links"])
    bad = CliRunner().invoke(main, ["--warehouse", str(built), "holders", "chain", "not a number"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output and "no holder chain" in bad.output


def test_the_first_holders_fast_path_equals_the_loop_on_the_sample(sample_warehouse: Path, tmp_path_factory,
                                                                    monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The holder chain of the whole sample (147 real records, some with current assignees and
    recorded transfers) built with the polars fast path and with every publication through the loop."""
    import functools

    from patentscope.holders import ownership
    from patentscope.holders.build import refresh

    def chain(fast: bool) -> list[dict]:
        path = built_copy(sample_warehouse, tmp_path_factory, f"chain-{fast}")
        monkeypatch.setattr(ownership, "build_chain", functools.partial(build_chain, fast=fast))
        con = duckdb.connect(str(path))
        try:
            refresh(con)
            return con.sql("SELECT * FROM holder_chain ORDER BY pub_key, seq").pl().to_dicts()
        finally:
            con.close()

    fast, loop = chain(True), chain(False)
    assert fast == loop and len(fast) > 100
    assert {r["role"] for r in fast} >= {"original_assignee", "applicant", "current_assignee"}


def test_the_first_holders_fast_path_equals_the_loop_on_mixed_rows() -> None:
    # SYNTHETIC rows: both first roles (the original assignee wins), a repeated name, a current
    # assignee (the loop), a moving event without party rows
    rows = [("T-1", "applicant", "B"), ("T-1", "original_assignee", "A"), ("T-1", "original_assignee", "C"),
            ("T-1", "original_assignee", "A"), ("T-2", "applicant", "D"), ("T-2", "applicant", "D"),
            ("T-3", "original_assignee", "E"), ("T-3", "current_assignee", "F"), ("T-4", "current_assignee", "G"),
            ("T-0", "applicant", "H")]
    ev = {"T-5": [{"moves_ownership": True, "reel_frame": "1/1", "conveyance": "ASSIGNMENT", "conveyance_class": "assignment",
                   "assignors": ["X"], "assignees": ["Y"], "assignee_countries": None, "effective_date": dt.date(2020, 1, 1),
                   "recorded_date": dt.date(2020, 2, 1), "date_basis": "executed", "source": "odp", "source_record": "r"}]}
    args = (rows, {}, {}, {"E": {"H:E"}, "F": {"H:F"}}, {}, LINEAGE)
    fast = build_chain(*args, events=ev).to_dicts()
    assert fast == build_chain(*args, events=ev, fast=False).to_dicts()
    assert [(r["pub_key"], r["seq"], r["name_as_written"]) for r in fast if r["pub_key"] in ("T-0", "T-1", "T-2")] == [
        ("T-0", 1, "H"), ("T-1", 1, "A"), ("T-1", 2, "C"), ("T-2", 1, "D")]
