"""`patentscope ingest file`: Google Patents and Lens.org CSV exports, and sample-format folders.

Fixtures (tests/fixtures/exports/PROVENANCE.md): real headers; the Lens 2015 rows are real rows
of a real export; the Google and current-Lens rows are copied from our real sample records.
"""

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from patentscope.cli import main
from patentscope.errors import InputError
from patentscope.ingest.files import ingest_files
from patentscope.ingest.sample import sample_folder
from patentscope.normalize import exports

EX = Path(__file__).resolve().parent / "fixtures" / "exports"
GOOGLE = EX / "google_patents_sample_rows.csv"
LENS = EX / "lens_current_sample_rows.csv"
LENS2015 = EX / "lens_2015_pizza_rows.csv"


def q(path, sql):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_formats_recognised_by_their_real_headers():
    assert exports.detect_format(GOOGLE.read_text(encoding="utf-8")) == ("google", 1)   # after the "search URL:" line
    assert exports.detect_format(LENS.read_text(encoding="utf-8")) == ("lens", 0)
    assert exports.detect_format(LENS2015.read_text(encoding="utf-8")) == ("lens2015", 0)
    with pytest.raises(InputError, match="the header is not one patentscope knows"):
        exports.detect_format("number,name\n1,x\n")


def test_google_export(landscape, tmp_path):
    wh = tmp_path / "w.duckdb"
    res = ingest_files(wh, GOOGLE, landscape, command="t")
    assert res.rejected == [] and res.counts["publications"] == 6
    rows = {r[0]: r[1:] for r in q(wh, "SELECT pub_key, pub_number, title, publication_date, in_landscape, landscape_reason, "
                                       "family_id, source, source_url FROM publications")}
    assert rows["US-20130160896"][:3] == ("US-20130160896-A1", "Cerium based permanent magnet material", dt.date(2013, 6, 27))
    assert rows["EP-2899726"][3:5] == (True, "keyword:R-fe-b")
    assert rows["JP-4470884"][5:] == ("PUB:JP-4470884", "file", "https://patents.google.com/patent/JP4470884B2/ja")
    assert q(wh, "SELECT role, seq, name_as_written FROM parties WHERE pub_key = 'US-20070266822' ORDER BY role, seq") == [
        ("applicant", 1, "Showa Denko KK"), ("inventor", 1, "Shiro Sasaki")]
    # a grant's assignee is its original assignee; inventors are split at ", ", the assignee cell is kept whole
    assert q(wh, "SELECT role, name_as_written FROM parties WHERE pub_key = 'US-4770723' ORDER BY role, seq") == [
        ("inventor", "Masato Sagawa"), ("inventor", "Setsuo Fujimura"), ("inventor", "Yutaka Matsuura"),
        ("original_assignee", "Sumitomo Special Metals Co Ltd")]
    assert q(wh, "SELECT count(*) FROM raw_landing WHERE source = 'file'") == [(1,)]


def test_lens_exports_both_layouts(landscape, tmp_path):
    wh = tmp_path / "w.duckdb"
    res = ingest_files(wh, LENS, landscape, command="t")
    assert res.rejected == []
    assert q(wh, "SELECT pub_number, publication_date, filing_date, priority_date, in_landscape, landscape_reason "
                 "FROM publications ORDER BY pub_key") == [
        ("US-11710587-B2", dt.date(2023, 7, 25), dt.date(2018, 11, 28), dt.date(2017, 12, 5), True, "cpc:H01F1/0577"),
        ("US-4770723-A", dt.date(1988, 9, 13), dt.date(1987, 2, 10), dt.date(1982, 8, 21), False, None),
        ("US-9490053-B2", dt.date(2016, 11, 8), dt.date(2014, 2, 12), dt.date(2013, 3, 22), True, "cpc:H01F1/057")]
    assert q(wh, "SELECT symbol FROM classifications WHERE pub_key = 'US-9490053' ORDER BY position") == [
        ("C22C38/005",), ("H01F1/057",), ("H01F1/0577",), ("C22C38/002",)]

    wh2 = tmp_path / "w2.duckdb"
    res = ingest_files(wh2, LENS2015, landscape, command="t")
    # the real row #8 says "30/12/87" but "Publication Year 1986": reported, not guessed
    assert [(e.file, e.line, e.column) for e in res.rejected] == [("lens_2015_pizza_rows.csv", 5, "Publication Date")]
    assert "disagrees with Publication Year 1986" in res.rejected[0].reason
    got = q(wh2, "SELECT pub_number, publication_date, filing_date, priority_date, is_grant FROM publications ORDER BY pub_key")
    assert got == [
        ("AU-1991080191-A", dt.date(1992, 2, 13), dt.date(1991, 7, 4), dt.date(1990, 8, 6), False),
        ("US-20130101709-A1", dt.date(2013, 4, 25), dt.date(2012, 10, 22), dt.date(2011, 10, 24), False),
        ("US-3982033-A", dt.date(1976, 9, 21), dt.date(1971, 8, 24), dt.date(1969, 11, 28), True),   # two-digit years
        ("US-5681602-A", dt.date(1997, 10, 28), dt.date(1995, 3, 24), dt.date(1995, 3, 24), True),
        ("US-D533981-S1", dt.date(2006, 12, 26), dt.date(2005, 2, 9), dt.date(2005, 2, 9), True)]  # a US design patent (S1) is a grant
    assert q(wh2, "SELECT claim_as_written, priority_country, claim_type FROM priority_claims "
                  "WHERE pub_key = 'US-20130101709'") == [("US 201161550506 P 20111024", "US", "provisional")]
    assert q(wh2, "SELECT reference_type, cited_as_written FROM citations") == [
        ("npl", "Steen, For Cheesy Ideas, It s Hard to Top These Pizza Disks , The Wall Street Journal , Oct. 26, 1995.")]
    assert q(wh2, "SELECT file, line, col FROM quarantine") == [("lens_2015_pizza_rows.csv", 5, "Publication Date")]
    assert q(wh2, "SELECT status, rows_read, rows_rejected FROM ingest_runs") == [("partial", 6, 1)]


def test_bad_rows_reported_good_rows_loaded_nothing_half_committed(landscape, tmp_path):
    lines = GOOGLE.read_text(encoding="utf-8").splitlines()
    bad = lines[:3] + [
        lines[3].replace("US-20130160896-A1", "not-a-number"),          # line 4: bad id
        lines[4].replace(",,,,,https", ",,2019-02-30,,,https"),          # line 5: not a calendar date
        "US-9490053-B2,too few fields",                                # line 6: field count
    ] + lines[5:]
    f = tmp_path / "gp-search-bad.csv"
    f.write_text("\n".join(bad) + "\n", encoding="utf-8")
    wh = tmp_path / "w.duckdb"
    res = ingest_files(wh, f, landscape, command="t")
    assert [(e.line, e.column) for e in res.rejected] == [(4, "id"), (5, "filing/creation date"), (6, None)]
    assert str(res.rejected[0]) == "gp-search-bad.csv:4 column 'id': not a patent publication number: 'not-a-number'"
    assert res.counts["publications"] == 4
    assert q(wh, "SELECT count(*) FROM quarantine") == [(3,)]

    # a file that cannot be read at all stops the import before anything is written
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(GOOGLE, folder / "a.csv")
    (folder / "b.csv").write_text("number;name\n1;x\n", encoding="utf-8")
    wh2 = tmp_path / "w2.duckdb"
    with pytest.raises(InputError, match="b.csv: the header is not one patentscope knows"):
        ingest_files(wh2, folder, landscape, command="t")
    assert not wh2.exists()
    (folder / "b.csv").write_bytes(b"id,title\n\xff\xfe,x\n")
    with pytest.raises(InputError, match="not UTF-8"):
        ingest_files(wh2, folder, landscape, command="t")


def test_folder_of_exports_and_reimport_is_idempotent(landscape, tmp_path):
    wh = tmp_path / "w.duckdb"
    res = ingest_files(wh, EX, landscape, command="t")
    assert res.counts["publications"] == 13          # US-4770723 is in the Google and the Lens file: one row
    first = q(wh, "SELECT * FROM publications ORDER BY pub_key")
    us = q(wh, "SELECT field, value, source_record FROM field_values WHERE pub_key = 'US-4770723' AND field = 'title'")
    assert us == [("title", "Magnetic materials and permanent magnets", "google:US-4770723-A")]
    ingest_files(wh, EX, landscape, command="t")
    assert q(wh, "SELECT * FROM publications ORDER BY pub_key") == first


def test_sample_format_folder_is_delegated(landscape, tmp_path):
    wh = tmp_path / "w.duckdb"
    logs = []
    res = ingest_files(wh, sample_folder(), landscape, command="t", log=logs.append)
    assert res.counts["publications"] == 147 and any("embedded-sample format" in m for m in logs)
    assert q(wh, "SELECT DISTINCT source FROM ingest_runs") == [("sample",)]


def test_cli_file_command(tmp_path):
    r = CliRunner().invoke(main, ["--warehouse", str(tmp_path / "w.duckdb"), "ingest", "file", str(LENS2015)])
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert out["loaded"]["publications"] == 5
    assert out["rejected"] == ["lens_2015_pizza_rows.csv:5 column 'Publication Date': '30/12/87' disagrees with Publication Year 1986"]
    assert (tmp_path / "raw" / "file").is_dir()
