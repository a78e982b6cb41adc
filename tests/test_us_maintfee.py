"""Maintenance-fee events (PTMNFEE2): both documented fixed-width layouts checked against the only
real rows available (the edegan.com wiki's PostgreSQL rendering of a MaintFeeEvents table; no
raw line of a real download exists in the collection, so each row's values are written back
into each layout and read again), the code -> effect mapping, and the load into legal_events."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import duckdb
import pytest

from patentscope.errors import InputError
from patentscope.ingest.maintfee import ingest_maintfee
from patentscope.normalize import maintfee as mf
from patentscope.normalize.batch import Batch
from patentscope.warehouse import migrations, save

EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "uspto_odp" / "current" / "maintfee" / "edegan_fee_table_example_rows.txt"


def edegan_events() -> list[mf.FeeEvent]:
    """The 11 real example rows. The wiki stored numbers as integers, so the application
    number lost its leading zero (6218896 = 06/218,896); it is padded back to the 8-digit field."""
    out = []
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines()[2:]:
        p = [x.strip() for x in line.split("|")]
        out.append(mf.FeeEvent(p[0], p[0], p[1].rjust(8, "0"), p[2], dt.date.fromisoformat(p[3]),
                               dt.date.fromisoformat(p[4]), dt.date.fromisoformat(p[5]), p[6]))
    return out


def test_example_rows_are_what_the_fixture_says():
    evs = edegan_events()
    assert len(evs) == 11
    assert (evs[0].patent_number, evs[0].application_number, evs[0].event_code) == ("4287053", "06218896", "M170")
    assert [e.event_code for e in evs if e.patent_number == "4291808"] == ["EXP.", "REM."]


@pytest.mark.parametrize("layout", mf.LAYOUTS, ids=lambda lay: lay.name)
def test_each_documented_layout_reads_the_example_rows_and_only_its_own(layout):
    evs = edegan_events()
    lines = [mf.format_line(e, layout) for e in evs]
    other = next(lay for lay in mf.LAYOUTS if lay is not layout)
    assert mf.score_layouts(lines) == {layout.name: 1.0, other.name: 0.0}
    assert mf.detect_layout(lines) is layout
    for line, e in zip(lines, evs, strict=True):
        got = mf.parse_line(line, layout)
        assert got is not None
        assert (got.patent_number, got.application_number, got.entity, got.filing_date, got.grant_date, got.event_date,
                got.event_code) == (e.patent_number, e.application_number, e.entity, e.filing_date, e.grant_date,
                                    e.event_date, e.event_code)
    if layout.name == "2018":
        assert lines[0] == "0000004287053 06218896 N 19801222 19810901 19850211 M170"
    else:
        assert lines[0] == "4287053 06218896 N 19801222 19810901 19850211 M170"


def test_reissue_numbers_and_unknown_layouts():
    assert mf.patent_key_number("000000RE35000") == "RE35000" and mf.patent_key_number("0000004287053") == "4287053"
    with pytest.raises(InputError, match=r"no documented maintenance-fee layout reads its lines \(2018: 0%"):
        mf.detect_layout(["4287053,06218896,N,19801222,19810901,19850211,M170"], file="x.txt")


def test_effects_of_codes():
    got = {c: mf.effect_of(c) for c in ("M170", "M171", "M285", "M1551", "M2552", "M3553", "F172", "EXP.", "EXPX",
                                        "REM.", "SM02", "RMPN", "ASPN", "DIST", "DISQ.E.FILE", "M844")}
    assert got == {"M170": "fee_paid", "M171": "fee_paid", "M285": "fee_paid", "M1551": "fee_paid", "M2552": "fee_paid",
                   "M3553": "fee_paid", "F172": "fee_paid", "EXP.": "lapse", "EXPX": "reinstatement", "REM.": "other",
                   "SM02": "other", "RMPN": "other", "ASPN": "other", "DIST": "terminal_disclaimer",
                   "DISQ.E.FILE": "terminal_disclaimer", "M844": "other"}
    assert mf.describe_code("M1551") == "Payment of Maintenance Fee, 4th Year, Large Entity"
    assert mf.describe_code("SM02", {"SM02": "Pat Hldr no Longer Claims Small Ent Stat"}) == "Pat Hldr no Longer Claims Small Ent Stat"


def archive(tmp_path: Path, name: str, lines: list[str]) -> Path:
    """A zip shaped like the weekly product, holding lines rebuilt from the real example values."""
    z = tmp_path / name.replace(".txt", ".zip")
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr(name, "\n".join(lines) + "\n")
        out.writestr(name.replace("MaintFeeEvents_", "MaintFeeEventsDesc_"), "M170 Payment of Maintenance Fee, 4th Yr, PL 97-247\n")
    return z


def rows(wh: Path, q: str):
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute(q).fetchall()
    finally:
        con.close()


def test_ingest_replaces_events_and_keeps_warehouse_patents(tmp_path):
    wh = tmp_path / "w.duckdb"
    con = duckdb.connect(str(wh))
    migrations.apply(con)
    pubs = [{"pub_key": f"US-{n}", "pub_number": f"US-{n}", "number_as_received": n, "country": "US", "doc_number": n,
             "family_id": f"PUB:US-{n}", "family_id_source": "publication", "in_landscape": True, "source": "bulk"}
            for n in ("4289713", "4291808")]
    save.save_batch(con, Batch(source="bulk", publications=pubs), run_id=0)
    con.close()
    lines = [mf.format_line(e, mf.LAYOUT_2018) for e in edegan_events()]
    week1 = archive(tmp_path, "MaintFeeEvents_20260323.txt", [*lines[:5], "THIS LINE IS NOT AN EVENT", *lines[5:]])
    res = ingest_maintfee(wh, week1, command="t")
    assert res.counts["legal_events"] == 9  # 4289713 (7 events) and 4291808 (2); 4287053 and 4292069 are not in the warehouse
    assert rows(wh, "SELECT event_code, event_date, effect, description FROM legal_events WHERE pub_key = 'US-4291808' "
                    "ORDER BY event_date") == [("REM.", dt.date(1985, 8, 12), "other", "Maintenance Fee Reminder Mailed"),
                                               ("EXP.", dt.date(1985, 10, 31), "lapse", "Patent Expired for Failure to Pay Maintenance Fees")]
    assert rows(wh, "SELECT description FROM legal_events WHERE event_code = 'M170'") == [("Payment of Maintenance Fee, 4th Yr, PL 97-247",)]
    assert rows(wh, "SELECT line, raw_row FROM quarantine") == [(6, "THIS LINE IS NOT AN EVENT")]
    # same file again: nothing changes; an older week is refused (the file is cumulative)
    before = rows(wh, "SELECT * FROM legal_events ORDER BY ALL")
    assert ingest_maintfee(wh, week1, command="t").run_id == 0
    older = archive(tmp_path, "MaintFeeEvents_20260316.txt", lines[:3])
    with pytest.raises(InputError, match="older than the loaded file"):
        ingest_maintfee(wh, older, command="t")
    assert rows(wh, "SELECT * FROM legal_events ORDER BY ALL") == before
    # the next week replaces everything (cumulative), here with every patent kept
    week2 = archive(tmp_path, "MaintFeeEvents_20260330.txt", lines)
    res = ingest_maintfee(wh, week2, command="t", all_patents=True)
    assert res.counts["legal_events"] == 11
    assert rows(wh, "SELECT count(*), count(DISTINCT pub_key) FROM legal_events WHERE source = 'maintfee'") == [(11, 4)]
    assert rows(wh, "SELECT effect, count(*) FROM legal_events GROUP BY 1 ORDER BY 1") == [("fee_paid", 4), ("lapse", 2), ("other", 5)]


def test_old_layout_text_file(tmp_path):
    txt = tmp_path / "MaintFeeEvents_20100104.txt"
    txt.write_text("\n".join(mf.format_line(e, mf.LAYOUT_PRE2014) for e in edegan_events()) + "\n", encoding="ascii")
    res = ingest_maintfee(tmp_path / "w.duckdb", txt, command="t", all_patents=True)
    assert res.counts["legal_events"] == 11
    assert rows(tmp_path / "w.duckdb", "SELECT cursor FROM ingest_state WHERE source = 'maintfee'")[0][0].count('"layout": "pre2014"') == 1


def test_cli_maintfee(tmp_path):
    from click.testing import CliRunner

    from patentscope.cli import main

    z = archive(tmp_path, "MaintFeeEvents_20260330.txt", [mf.format_line(e, mf.LAYOUT_2018) for e in edegan_events()])
    env = {"PATENTSCOPE_CONFIG": "", "PATENTSCOPE_WAREHOUSE": "", "PATENTSCOPE_LANDSCAPE": ""}
    r = CliRunner().invoke(main, ["--warehouse", str(tmp_path / "w.duckdb"), "ingest", "maintfee", str(z), "--all"], env=env)
    assert r.exit_code == 0, r.output
    out = r.stdout[r.stdout.index("{"):]
    assert '"legal_events": 11' in out and "layout 2018" in r.output
