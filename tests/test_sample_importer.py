"""The importer of the embedded-sample format, on the real sample."""

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest

from patentscope.errors import InputError
from patentscope.ingest.sample import ingest_sample_format, sample_folder
from patentscope.normalize import web_records


def _distinct_patents_by_hand() -> int:
    keys = set()
    for f in sorted(sample_folder().glob("ndfeb_records*.csv")):
        with open(f, newline="", encoding="utf-8") as fh:
            keys |= {r["patent_key"] for r in csv.DictReader(fh)}
    return len(keys)


def test_distinct_publication_count(sample_con):
    assert _distinct_patents_by_hand() == 147
    assert sample_con.execute("SELECT count(*), count(DISTINCT pub_key) FROM publications").fetchall() == [(147, 147)]


def test_us4770723_inventors_and_holders(sample_con):
    inv = sample_con.execute(
        "SELECT name_as_written FROM parties WHERE pub_key = 'US-4770723' AND role = 'inventor' ORDER BY seq").fetchall()
    assert [r[0] for r in inv] == ["Masato Sagawa", "Setsuo Fujimura", "Yutaka Matsuura"]
    roles = dict(sample_con.execute(
        "SELECT role, name_as_written FROM parties WHERE pub_key = 'US-4770723' AND role LIKE '%assignee'").fetchall())
    assert roles["original_assignee"].startswith("Sumitomo Special Metals")
    assert roles["current_assignee"] == "Proterial Ltd"
    row = sample_con.execute(
        "SELECT pub_number, filing_date, priority_date, grant_date, application_number FROM publications WHERE pub_key = 'US-4770723'").fetchall()[0]
    assert row == ("US-4770723-A", dt.date(1987, 2, 10), dt.date(1982, 8, 21), dt.date(1988, 9, 13), "US07/013165")


def test_disagreeing_sources_keep_both_values(sample_con):
    rows = sample_con.execute(
        "SELECT value, source_record, chosen, source_url FROM field_values "
        "WHERE pub_key = 'US-4770723' AND field = 'status_as_shown' ORDER BY source_record").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [("Expired - Lifetime", "NDW0001", True), ("Fee status: Paid", "NDW1040", False)]
    assert all(r[3].startswith("http") for r in rows)
    # the publication row carries the chosen value
    assert sample_con.execute("SELECT status_as_shown FROM publications WHERE pub_key = 'US-4770723'").fetchall() == [("Expired - Lifetime",)]


def test_kinds_of_one_number_merge(sample_con):
    # EP1005050 was seen as A2 on one page and A3 on another: one publication, both kinds kept
    row = sample_con.execute("SELECT pub_number, kinds_seen, is_grant FROM publications WHERE pub_key = 'EP-1005050'").fetchall()[0]
    assert row == ("EP-1005050-A3", ["A2", "A3"], False)
    # US4975130 seen without a kind and as A: the kind comes from the page that showed it
    assert sample_con.execute("SELECT pub_number FROM publications WHERE pub_key = 'US-4975130'").fetchall() == [("US-4975130-A",)]


def test_no_value_is_invented(sample_con):
    # Google-Patents-only rows showed no dates: they stay empty
    row = sample_con.execute(
        "SELECT filing_date, priority_date, publication_date, grant_date FROM publications WHERE pub_key = 'US-4975130'").fetchall()[0]
    assert row == (None, None, None, None)
    # a kind no page showed is not guessed
    assert sample_con.execute("SELECT kind FROM publications WHERE pub_key = 'US-5076861'").fetchall() == [(None,)]


def test_concatenated_cpc_parsed(sample_con):
    syms = [r[0] for r in sample_con.execute(
        "SELECT symbol FROM classifications WHERE pub_key = 'US-10388441' AND scheme = 'CPC' ORDER BY position").fetchall()]
    assert "H01F1/0577" in syms and all(" " not in s for s in syms)


def test_citations_resolved_where_certain(sample_con):
    rows = dict(sample_con.execute(
        "SELECT cited_as_written, cited_pub_key FROM citations WHERE citing_pub_key = 'US-5110374'").fetchall())
    assert rows["4770723 Sep., 1988 Sagawa et al. 148/302"] == "US-4770723"
    assert rows["59-219904 Dec., 1984 JP"] == "JP-S59219904"
    assert rows["61-214505 Sep., 19... (truncated)"] is None
    # US 5,110,374 cites US 4,770,723, which is in the sample: the link is visible
    assert sample_con.execute(
        "SELECT count(*) FROM citation_links WHERE citing_pub_key = 'US-5110374' AND cited_pub_key = 'US-4770723'").fetchall() == [(1,)]


def test_reference_tables_loaded(sample_con):
    assert sample_con.execute("SELECT count(*) FROM licensing_facts").fetchall() == [(14,)]
    assert sample_con.execute("SELECT count(*), count(DISTINCT office) FROM holder_declared_patents").fetchall() == [(40, 4)]


def _copy_sample(tmp: Path) -> Path:
    d = tmp / "records"
    shutil.copytree(sample_folder(), d)
    return d


def test_bad_rows_reported_with_file_line_column_and_rest_loads(tmp_path, landscape):
    d = _copy_sample(tmp_path)
    f = d / "ndfeb_records_more.csv"
    lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
    # corrupt the first data row's filing_date (column 19) and the second row's publication number
    rows = list(csv.reader(lines))
    header = rows[0]
    rows[1][header.index("filing_date")] = "1987-02-30"
    rows[2][header.index("publication_number")] = "???"
    with open(f, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    wh = tmp_path / "w.duckdb"
    res = ingest_sample_format(wh, d, landscape, command="test")
    msgs = sorted(str(e) for e in res.rejected)
    assert len(msgs) == 2
    assert msgs[0].startswith("ndfeb_records_more.csv:2 column 'filing_date'")
    assert msgs[1].startswith("ndfeb_records_more.csv:3 column 'publication_number'")
    import duckdb
    con = duckdb.connect(str(wh), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM quarantine").fetchall() == [(2,)]
        # the two rejected rows were both new patents: 145 remain, nothing half-loaded
        n = con.execute("SELECT count(*) FROM publications").fetchall()[0][0]
        assert n == 145
        assert con.execute("SELECT status FROM ingest_runs").fetchall() == [("partial",)]
    finally:
        con.close()


def test_multiline_record_line_numbers(tmp_path):
    text = "record_id,title\nA1,\"first\nsecond\"\nA2,ok\nA3,\"x\"\"\n"
    got = list(web_records._rows("t.csv", text, ",", ["record_id", "title"]))
    assert [(line, r.get("record_id")) for line, r in got[:2]] == [(2, "A1"), (4, "A2")]


def test_wrong_file_is_a_clear_error(tmp_path, landscape):
    d = tmp_path / "x"
    d.mkdir()
    (d / "ndfeb_records.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="header lacks column"):
        ingest_sample_format(tmp_path / "w.duckdb", d, landscape, command="t")
    assert not (tmp_path / "w.duckdb").exists()  # nothing was written


def test_not_utf8_is_a_clear_error(tmp_path, landscape):
    d = _copy_sample(tmp_path)
    (d / "ndfeb_records.csv").write_bytes((d / "ndfeb_records.csv").read_bytes() + b"\xff\xfe,broken\n")
    with pytest.raises(InputError, match="not UTF-8"):
        ingest_sample_format(tmp_path / "w.duckdb", d, landscape, command="t")


def test_reingest_is_idempotent(tmp_path, landscape):
    wh = tmp_path / "w.duckdb"
    tables = ["publications", "parties", "classifications", "citations", "field_values", "priority_claims",
              "related_publications", "families", "licensing_facts", "holder_declared_patents"]
    import duckdb

    def snapshot():
        con = duckdb.connect(str(wh), read_only=True)
        try:
            return {t: con.execute(f"SELECT count(*), sum(hash(COLUMNS(*))) FROM (SELECT * FROM {t})").fetchall() for t in tables}
        finally:
            con.close()

    ingest_sample_format(wh, sample_folder(), landscape, command="t")
    first = snapshot()
    ingest_sample_format(wh, sample_folder(), landscape, command="t")
    assert snapshot() == first


def test_priority_claim_layouts():
    p = web_records.parse_priority_claim
    assert p("25.11.1998 JP 33354598")["priority_date"] == dt.date(1998, 11, 25)
    assert p("2002028207 20020205 JP")["priority_country"] == "JP"
    r = p("Aug 19, 1987 [JP] 62-205944")
    assert (r["priority_country"], r["priority_number"], r["priority_date"]) == ("JP", "62-205944", dt.date(1987, 8, 19))
    assert p("U.S. provisional application Ser. No. 62/231,760 filed Jul. 15, 2015")["claim_type"] == "provisional"
    assert p("Aug 04, 1989 [JP ...(truncated)") == {"priority_country": None, "priority_number": None, "priority_date": None, "claim_type": None}


@pytest.mark.parametrize("text,cc", [
    ("PROTERIAL, LTD., Tokyo (JP)", "JP"),
    ("General Motors Corporation (Detroit, MI)", "US"),         # a US state alone: US
    ("GM GLOBAL TECHNOLOGY OPERATIONS LLC (DETROIT, MI, US)", "US"),
    ("Magnequench International, Inc. (Anderson, IN)", None),   # Indiana or India: not guessed
    ("Takeshita; Takuo (Omiya, JP)", "JP"),
    ("TDK CORP", None),
])
def test_party_country(text, cc):
    assert web_records.party_country(text) == cc


def test_co_holders_split_and_repeats_dropped(sample_con):
    rows = sample_con.execute(
        "SELECT name_as_written FROM parties WHERE pub_key = 'US-6022424' AND role = 'current_assignee' ORDER BY seq").fetchall()
    assert [r[0] for r in rows] == ["Lockheed Martin Idaho Technologies Co", "Battelle Energy Alliance LLC"]
    # the page listed the same assignee twice: one party
    n = sample_con.execute("SELECT count(*) FROM parties p JOIN field_values f ON f.pub_key = p.pub_key AND f.source_record = 'NDW1014' "
                           "WHERE p.role = 'original_assignee' AND f.field = 'original_assignee'").fetchall()[0][0]
    assert n == 1


def test_narrowed_landscape_on_reingest_takes_records_out(tmp_path, landscape):
    from patentscope.landscape import load_landscape
    wh = tmp_path / "w.duckdb"
    ingest_sample_format(wh, sample_folder(), landscape, command="t")
    narrow = tmp_path / "narrow.toml"
    narrow.write_text('name = "narrow"\n[classification]\ncore = ["H01F41/0293"]\n', encoding="utf-8")
    ingest_sample_format(wh, sample_folder(), load_landscape(narrow), command="t")
    fresh = tmp_path / "fresh.duckdb"
    ingest_sample_format(fresh, sample_folder(), load_landscape(narrow), command="t")
    import duckdb
    q = "SELECT pub_key, in_landscape, landscape_reason FROM publications ORDER BY pub_key"
    a, b = duckdb.connect(str(wh), read_only=True), duckdb.connect(str(fresh), read_only=True)
    try:
        assert a.execute(q).fetchall() == b.execute(q).fetchall()
    finally:
        a.close()
        b.close()
