"""Recorded USPTO assignments (issue 15 item 3): parsing the real Assignment Search XML and ODP
assignmentBag recordings (tests/fixtures/uspto_assignment/PROVENANCE.md,
tests/fixtures/uspto_odp/PROVENANCE.md), the conveyance classes, the ingest (quarantine with
file and line, XXE refused, idempotent re-run) and the holder chain that follows the events."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from conftest import warehouse_digest

from patentscope.errors import RowError
from patentscope.holders.build import refresh
from patentscope.holders.lineage import load_lineage
from patentscope.holders.ownership import build_chain
from patentscope.ingest.assignments import ingest_assignments
from patentscope.ingest.us_odp import replay_odp
from patentscope.normalize.assignments import classify_conveyance, event_rows, odp_assignments, parse_assignment_xml
from patentscope.normalize.uspto_odp import classify_payload, parse_application, to_rows

FIX = Path(__file__).resolve().parent / "fixtures"
XML = FIX / "uspto_assignment"
ODP = FIX / "uspto_odp"
RAMBUS = (ODP / "current" / "patent_client-v6-2025-02" / "bodies" /
          "manager_test__test_can_get_old_applications__00__200__patent_applications_14230558.json")
D = dt.date.fromisoformat
LINEAGE = load_lineage()


def parsed(name: str):
    found, bad = parse_assignment_xml((XML / name).read_bytes(), name)
    assert bad == []
    return found


# ------------------------------------------------------------------ parsing and classes


def test_the_8789601_lookup_one_transfer_six_security_interests_two_releases() -> None:
    docs = parsed("assignment_3.xml")
    assert len(docs) == 9
    assert sorted(d.kind.kind for d in docs) == ["release"] * 2 + ["security"] * 6 + ["transfer"]
    t = next(d for d in docs if d.kind.kind == "transfer")
    assert (t.reel_frame, t.recorded, t.line) == ("032861/0806", D("2014-05-09"), 5608)
    assert t.assignors == ("BROUSSARD, JOEL", "MCPHERSON, JEFF", "KURTZ, ROBERT")
    assert t.execution_dates == (D("2014-05-09"), D("2014-02-24"), D("2014-02-24"))
    # the last signature completes the conveyance: the latest execution date, the earliest kept
    assert (t.execution_date, t.first_execution_date, t.effective) == (D("2014-05-09"), D("2014-02-24"),
                                                                       (D("2014-05-09"), "executed"))
    assert t.assignees == (("US WELL SERVICES LLC", None),)  # patAssigneeCountryName is NULL
    assert [(p.application_number, p.patent_number, p.publication_number, p.pub_key) for p in t.properties] == [
        ("14190982", "8789601", "20140174717", "US-8789601")]
    rel = [d for d in docs if d.kind.kind == "release"]
    assert {d.reel_frame for d in rel} == {"049109/0610", "049110/0319"} and not any(d.transfers_ownership for d in rel)
    sec = next(d for d in docs if d.reel_frame == "057434/0429")
    assert (sec.kind.kind, len(sec.properties), sec.assignees) == ("security", 85, (("WILMINGTON SAVINGS FUND SOCIETY, FSB", None),))


def test_nunc_pro_tunc_and_a_pre_grant_publication() -> None:
    (a,) = parsed("assignment_1.xml")
    assert (a.reel_frame, a.kind.kind, len(a.properties)) == ("018247/0405", "transfer", 5)
    rows = event_rows(a, source="assignments", source_record="assignment_1.xml:20")
    assert {r["pub_key"] for r in rows} >= {"US-7130913", "US-6195024"} and "nunc pro tunc" in rows[0]["note"]
    (b,) = parsed("assignment_2.xml")
    assert [p.pub_key for p in b.properties] == ["US-20180114740"]  # patNum NULL: keyed by the publication
    assert (len(b.assignors), b.execution_date, b.first_execution_date) == (5, D("2017-08-28"), D("2017-05-17"))


@pytest.mark.parametrize(("text", "kind", "moves"), [
    ("ASSIGNMENT OF ASSIGNORS INTEREST (SEE DOCUMENT FOR DETAILS).", "transfer", True),
    ("ASSIGNMENT OF ASSIGNOR'S INTEREST", "transfer", True),
    ("NUNC PRO TUNC ASSIGNMENT (SEE DOCUMENT FOR DETAILS).", "transfer", True),
    ("MERGER (SEE DOCUMENT FOR DETAILS).", "lineage", True),
    ("CHANGE OF NAME (SEE DOCUMENT FOR DETAILS).", "lineage", True),
    ("SECURITY INTEREST (SEE DOCUMENT FOR DETAILS).", "security", False),
    ("PATENT SECURITY AGREEMENT", "security", False),
    ("TERMINATION AND RELEASE OF PATENT SECURITY AGREEMENT RECORDED AT REEL 048818/FRAME 0520", "release", False),
    ("RELEASE BY SECURED PARTY (SEE DOCUMENT FOR DETAILS).", "release", False),
    ("LICENSE (SEE DOCUMENT FOR DETAILS).", "license", False),
    ("CONFIRMATORY LICENSE (SEE DOCUMENT FOR DETAILS).", "license", False),
    ("CORRECTIVE ASSIGNMENT TO CORRECT THE ASSIGNEE NAME PREVIOUSLY RECORDED AT REEL 032567 FRAME 0453", "correction", False),
    ("COURT ORDER (SEE DOCUMENT FOR DETAILS).", "other", False),
    (None, "other", False),
])
def test_conveyance_classes(text: str | None, kind: str, moves: bool) -> None:
    c = classify_conveyance(text)
    assert (c.kind, c.moves_ownership) == (kind, moves)


def test_odp_assignment_bags_of_three_shapes() -> None:
    rec = classify_payload(json.loads((ODP / "current" / "patent-dev" / "raw" / "get_patent_assignment.json").read_text())).records[0]
    (a,) = odp_assignments(rec)
    assert (a.reel_frame, a.recorded, a.execution_date, a.first_execution_date) == (
        "038323/0190", D("2016-04-19"), D("2016-01-21"), D("2016-01-05"))
    assert a.assignees == (("SAMSUNG ELECTRONICS CO., LTD", "KR"),) and len(a.execution_dates) == 9
    beta = classify_payload(json.loads((ODP / "beta" / "fixtures" / "assignment.json").read_text())).records[0]
    (b,) = odp_assignments(beta)  # 2024: "reelNumber/frameNumber", frame as text "0442"
    assert (b.reel_frame, b.assignors, b.effective) == ("047305/0442", ("WANG, MARVIN",), (D("2018-09-23"), "executed"))
    app = parse_application(classify_payload(json.loads(RAMBUS.read_text())).records[0])
    assert [(x.reel_frame, x.effective) for x in app.assignments] == [
        ("065229/0338", (D("2023-09-28"), "executed")), ("032567/0453", (D("2004-08-19"), "executed"))]


def test_xxe_and_entity_expansion_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LINE")
    body = (XML / "assignment_2.xml").read_bytes().split(b"?>", 1)[1]
    for decl in (f'<!DOCTYPE response [<!ENTITY x SYSTEM "file://{secret}">]>'.encode(),
                 b'<!DOCTYPE response [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'):
        data = b'<?xml version="1.0"?>\n' + decl + body.replace(b"TESLA MOTORS, INC.", b"&x;" if b"SYSTEM" in decl else b"&b;")
        with pytest.raises(RowError, match="refused: the XML declares a DTD or entities") as e:
            parse_assignment_xml(data, "evil.xml")
        assert e.value.file == "evil.xml" and "TOP-SECRET" not in str(e.value)


# ------------------------------------------------------------------ holder chain (pure)


def events_of(docs, pub_key: str, source: str = "assignments") -> list[dict]:
    out = []
    for a in docs:
        for r in event_rows(a, source=source, source_record=f"assignment_3.xml:{a.line}"):
            if r["pub_key"] == pub_key:
                out.append(r)
    return out


def test_security_interests_never_move_ownership() -> None:
    evs = events_of(parsed("assignment_3.xml"), "US-8789601")
    assert len(evs) == 9 and sum(e["moves_ownership"] for e in evs) == 1
    df = build_chain([], {}, {}, {}, {}, LINEAGE, events={"US-8789601": evs})
    assert [(r["name_as_written"], r["valid_from"], r["valid_to"], r["date_basis"], r["flag"]) for r in df.iter_rows(named=True)] == [
        ("US WELL SERVICES LLC", D("2014-05-09"), None, "executed", None)]
    assert df["source"][0] == "assignments: assignment_3.xml:5608"
    # the same chain as from the transfer alone: six security interests and two releases change nothing
    only = build_chain([], {}, {}, {}, {}, LINEAGE, events={"US-8789601": [e for e in evs if e["moves_ownership"]]})
    assert only.equals(df)


def rambus_rows():
    app = parse_application(classify_payload(json.loads(RAMBUS.read_text())).records[0])
    from patentscope.landscape import load_landscape

    batch, us = to_rows([app], load_landscape())
    parties = [(p["pub_key"], p["role"], p["name_as_written"]) for p in batch.parties if p["role"] != "inventor"]
    return parties, us.ownership


def test_a_current_assignee_the_loaded_assignments_do_not_name_is_a_flagged_later_transfer() -> None:
    # the record's parties (current assignee K.MIZRA LLC, from the 2023 assignment) with only the
    # 2004 assignment loaded, as when an assignment file older than the 2023 recording is loaded:
    # both are kept, the transfer to K.Mizra is placed no earlier than the last recorded event
    # (2004-08-19, no lineage line, no reassignment line), and both links say so
    parties, evs = rambus_rows()
    assert parties == [("US-9111608", "current_assignee", "K.MIZRA LLC")]
    old = [e for e in evs if e["reel_frame"] == "032567/0453"]
    df = build_chain(parties, {}, {}, {}, {}, LINEAGE, events={"US-9111608": old})
    got = {r["name_as_written"]: r for r in df.iter_rows(named=True)}
    r, k = got["RAMBUS INC."], got["K.MIZRA LLC"]
    assert (r["valid_from"], r["valid_to"], k["valid_from"], k["valid_to"]) == (D("2004-08-19"), D("2004-08-19"), D("2004-08-19"), None)
    assert (k["counted"], k["role"], k["date_basis"]) == (True, "current_assignee", "inferred from record")
    assert "K.MIZRA LLC as current assignee, which no loaded assignment names" in r["flag"] and r["flag"] == k["flag"]
    assert "taken as the date of the last recorded assignment" in k["evidence"]
    # with a record first date after it (the 2014 filing), the floor is the later of the two
    df2 = build_chain(parties, {}, {"US-9111608": D("2014-03-31")}, {}, {}, LINEAGE, events={"US-9111608": old})
    assert df2.filter(df2["name_as_written"] == "K.MIZRA LLC")["valid_from"].to_list() == [D("2014-03-31")]
    # with both assignments loaded there is no conflict
    full = build_chain(parties, {}, {}, {}, {}, LINEAGE, events={"US-9111608": evs})
    assert full["flag"].to_list() == [None, None] and full["counted"].all()


def test_recorded_date_when_no_execution_date_is_flagged() -> None:
    parties, evs = rambus_rows()
    app = parse_application(classify_payload(json.loads(RAMBUS.read_text())).records[0])
    undated = [dataclasses.replace(a, execution_dates=()) for a in app.assignments]
    assert undated[0].effective == (D("2023-10-13"), "recorded (no execution date)")
    rows = [r | {"pub_key": "US-9111608"} for a in undated
            for r in event_rows(a, source="odp", source_record="t", properties=[a.properties or _prop()])]
    df = build_chain(parties, {}, {}, {}, {}, LINEAGE, events={"US-9111608": rows})
    k = df.filter(df["name_as_written"] == "K.MIZRA LLC").row(0, named=True)
    assert (k["valid_from"], k["date_basis"]) == (D("2023-10-13"), "recorded (no execution date)")
    assert "recorded; no execution date given" in k["evidence"]
    assert len(evs) == 2


def _prop():
    from patentscope.normalize.assignments import Property

    return Property("14230558", "9111608")


# ------------------------------------------------------------------ warehouse: ODP and the XML ingest


def test_odp_mid_life_transfer_splits_the_holder_at_date(tmp_path: Path) -> None:
    """Hand-worked: US 9,111,608 (application 14230558). Reel/frame 032567/0453: Scott C. Best ->
    Rambus Inc., executed 2004-08-19, recorded 2014-03-31. Reel/frame 065229/0338: Rambus Inc. ->
    K.Mizra LLC, executed 2023-09-28, recorded 2023-10-13. So Rambus holds it on 2020-01-01 and
    K.Mizra on 2024-01-01; the split is on the execution date 2023-09-28, not the recording date."""
    from patentscope.landscape import load_landscape

    wh = tmp_path / "w.duckdb"
    replay_odp(wh, RAMBUS, load_landscape(), command="pytest")
    con = duckdb.connect(str(wh))
    try:
        assert con.execute("SELECT count(*) FROM ownership_events WHERE source = 'odp'").fetchall() == [(2,)]
        refresh(con)

        def holder(day: str) -> list[str]:
            return [r[0] for r in con.execute(
                "SELECT group_name FROM publication_holder_groups WHERE pub_key = 'US-9111608' "
                "AND (valid_from IS NULL OR valid_from <= $d) AND (valid_to IS NULL OR $d < valid_to)", {"d": D(day)}).fetchall()]

        assert holder("2020-01-01") == ["RAMBUS INC."]
        assert holder("2023-09-27") == ["RAMBUS INC."] and holder("2023-09-28") == ["K.MIZRA LLC"]
        assert holder("2024-01-01") == ["K.MIZRA LLC"]
        basis = con.execute("SELECT DISTINCT ownership_date_basis FROM publication_holder_groups").fetchall()
        assert basis == [("executed",)]
    finally:
        con.close()
    before = warehouse_digest(wh, ["ownership_events"])
    replay_odp(wh, RAMBUS, load_landscape(), command="pytest again")  # a replay replaces the application's events
    assert warehouse_digest(wh, ["ownership_events"]) == before
    con = duckdb.connect(str(wh))
    try:
        refresh(con)
    finally:
        con.close()
    from patentscope.cli import main

    res = CliRunner().invoke(main, ["--warehouse", str(wh), "holders", "chain", "US9111608", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert [(lk["name_as_written"], lk["source"]) for lk in out["links"]] == [
        ("RAMBUS INC.", "odp: 14230558:assignmentBag[2]"), ("K.MIZRA LLC", "odp: 14230558:assignmentBag[1]")]
    assert [e["reel_frame"] for e in out["ownership_events"]] == ["032567/0453", "065229/0338"]
    text = CliRunner().invoke(main, ["--warehouse", str(wh), "show", "US9111608"]).output
    assert "* 2023-09-28 (executed) reel/frame 065229/0338 transfer: RAMBUS INC. -> K.MIZRA LLC" in text
    res = CliRunner().invoke(main, ["--warehouse", str(wh), "holders", "resolve", "Rambus Inc.", "--json"])
    (r,) = json.loads(res.output)
    assert r["n_chain_links"] == 1 and r["chain_links"][0] == {
        "pub_key": "US-9111608", "name_as_written": "RAMBUS INC.", "role": "recorded_assignee", "valid_from": "2004-08-19",
        "valid_to": "2023-09-28", "date_basis": "executed", "source": "odp: 14230558:assignmentBag[2]", "flag": None,
        "counted": True}
    html = tmp_path / "r.html"
    assert CliRunner().invoke(main, ["--warehouse", str(wh), "show", "US9111608", "--html", str(html)]).exit_code == 0
    assert "Recorded assignments (USPTO)" in html.read_text(encoding="utf-8") and "065229/0338" in html.read_text(encoding="utf-8")
    res = CliRunner().invoke(main, ["--warehouse", str(wh), "query", "ownership_transfers", "--param", "pub=US-9111608",
                                    "--param", "moving=true", "--json"])
    assert res.exit_code == 0, res.output
    assert [(r["reel_frame"], r["effective_date"]) for r in json.loads(res.output)] == [
        ("032567/0453", "2004-08-19"), ("065229/0338", "2023-09-28")]
    text = CliRunner().invoke(main, ["--warehouse", str(wh), "holders", "resolve", "K.MIZRA LLC"]).output
    assert "US-9111608 K.MIZRA LLC (recorded_assignee) from 2023-09-28 to now [executed; source odp: 14230558" in text


def _bad_files(tmp_path: Path) -> list[Path]:
    cut = tmp_path / "cut.xml"
    cut.write_bytes((XML / "assignment_2.xml").read_bytes()[:3000])
    xxe = tmp_path / "xxe.xml"
    xxe.write_bytes(b'<?xml version="1.0"?>\n<!DOCTYPE response [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                    + (XML / "assignment_2.xml").read_bytes().split(b"?>", 1)[1])
    noreel = tmp_path / "noreel.xml"
    noreel.write_bytes((XML / "assignment_2.xml").read_bytes().replace(b'<str name="reelNo">43433</str>', b""))
    return [cut, xxe, noreel]


def test_ingest_assignments_quarantines_with_file_and_line_and_reruns_idempotently(tmp_path: Path) -> None:
    from patentscope.cli import main

    wh = tmp_path / "w.duckdb"
    good = [XML / f"assignment_{i}.xml" for i in (1, 2, 3)]
    res = CliRunner().invoke(main, ["--warehouse", str(wh), "ingest", "assignments", *map(str, good + _bad_files(tmp_path))])
    assert res.exit_code == 1, res.output  # rows were rejected
    con = duckdb.connect(str(wh), read_only=True)
    try:
        q = con.execute("SELECT file, line, reason FROM quarantine ORDER BY file").fetchall()
        assert [(f, ln) for f, ln, _ in q] == [("cut.xml", 74), ("noreel.xml", 20), ("xxe.xml", 1)]
        assert "not well-formed" in q[0][2] and "without a numeric reelNo" in q[1][2] and q[2][2].startswith("refused")
        # 5 + 1 + 85 + 44*4 + 39*3 + 1 property rows of the 11 good recordings
        assert con.execute("SELECT count(*), count(DISTINCT reel_frame) FROM ownership_events").fetchall() == [(385, 11)]
        assert con.execute("SELECT status, rows_rejected FROM ingest_runs").fetchall() == [("partial", 3)]
        assert "root:" not in str(con.execute("SELECT list(source_record) FROM ownership_events").fetchall())
    finally:
        con.close()
    before = warehouse_digest(wh, ["ownership_events"])
    res2 = CliRunner().invoke(main, ["--warehouse", str(wh), "ingest", "assignments", *map(str, good)])
    assert res2.exit_code == 0, res2.output
    assert warehouse_digest(wh, ["ownership_events"]) == before


def test_xml_events_reach_the_chain_of_a_publication_in_the_warehouse(tmp_path: Path) -> None:
    wh = tmp_path / "w.duckdb"
    ingest_assignments(wh, [XML / "assignment_3.xml"], command="pytest")
    con = duckdb.connect(str(wh))
    try:
        # the publication row from the recording's own property fields (patNum, applNum, filingDate,
        # issueDate, inventionTitle of the 032861/0806 doc); no holder party: the events give it
        con.execute("""INSERT INTO publications (pub_key, pub_number, number_as_received, country, doc_number, is_grant,
                       title, application_number, filing_date, grant_date, family_id, family_id_source, source, in_landscape)
                       VALUES ('US-8789601', 'US-8789601', '8789601', 'US', '8789601', true,
                       'SYSTEM FOR PUMPING HYDRAULIC FRACTURING FLUID USING ELECTRIC PUMPS',
                       '14190982', DATE '2014-02-26', DATE '2014-07-29', 'PUB:US-8789601', 'publication', 'file', false)""").fetchall()
        refresh(con)
        rows = con.execute("SELECT name_as_written, role, valid_from, valid_to, counted FROM holder_chain").fetchall()
        assert rows == [("US WELL SERVICES LLC", "recorded_assignee", D("2014-05-09"), None, True)]
        groups = con.execute("SELECT group_name, valid_from FROM publication_holder_groups").fetchall()
        assert groups == [("US WELL SERVICES LLC", D("2014-05-09"))]
    finally:
        con.close()


def test_the_inventors_assignment_to_the_applicant_changes_nothing() -> None:
    # 15123456 (2025 full record): applicant The General Hospital Corporation; reel/frame
    # 047305/0442: Marvin Wang -> THE GENERAL HOSPITAL CORPORATION, executed 2018-09-23
    path = (ODP / "current" / "patent_client-v6-2025-02" / "bodies" /
            "integration_test__TestPatentFileWrapper.test_direct_api_access__00__200__patent_applications_15123456.json")
    app = parse_application(classify_payload(json.loads(path.read_text())).records[0])
    from patentscope.landscape import load_landscape

    batch, us = to_rows([app], load_landscape())
    key = us.ownership[0]["pub_key"]
    parties = [(p["pub_key"], p["role"], p["name_as_written"]) for p in batch.parties if p["role"] == "applicant"]
    assert parties == [(key, "applicant", "The General Hospital Corporation")] and len(us.ownership) == 1
    df = build_chain(parties, {}, {}, {}, {}, LINEAGE, events={key: us.ownership})
    assert [(r["name_as_written"], r["valid_from"], r["valid_to"], r["flag"]) for r in df.iter_rows(named=True)] == [
        ("The General Hospital Corporation", None, None, None)]


@pytest.mark.integration
def test_ingest_all_skips_unchanged_assignment_files(tmp_path: Path) -> None:
    from test_jobs_support import run_job, write_config

    folder = tmp_path / "in"
    folder.mkdir()
    for i in (2, 3):
        (folder / f"assignment_{i}.xml").write_bytes((XML / f"assignment_{i}.xml").read_bytes())
    cfg = write_config(tmp_path / "cfg", {"assignments": {"paths": [str(folder / "*.xml")]}})
    wh = tmp_path / "cfg" / "wh" / "patentscope.duckdb"
    assert run_job(cfg, wh) == 0
    con = duckdb.connect(str(wh), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM ownership_events").fetchall() == [(1 + 85 + 44 * 4 + 39 * 3 + 1,)]
        assert con.execute("SELECT count(*) FROM ingest_runs WHERE source = 'assignments'").fetchall() == [(2,)]
    finally:
        con.close()
    assert run_job(cfg, wh) == 0  # nothing changed: skipped, no new run
    # a new file first in name order: the job loads from it on, in order (jobs.md), upserting
    (folder / "assignment_1.xml").write_bytes((XML / "assignment_1.xml").read_bytes())
    assert run_job(cfg, wh) == 0
    con = duckdb.connect(str(wh), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM ownership_events").fetchall() == [(385,)]
        assert con.execute("SELECT count(*) FROM ingest_runs WHERE source = 'assignments'").fetchall() == [(5,)]
        steps = con.execute("SELECT status FROM job_steps WHERE step = 'assignments' ORDER BY job_id").fetchall()
        assert steps == [("ok",), ("skipped",), ("ok",)]
    finally:
        con.close()
