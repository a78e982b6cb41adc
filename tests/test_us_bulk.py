"""PatentsView bulk load: header checks against the real g_patent header, the landscape in SQL
against Landscape.match, the citation neighbourhood against an independent SQL query, release
replacement, kill-and-rerun, malformed lines and damaged archives. Tables are SYNTHETIC
(benchmarks/synthetic_patentsview.py), except the real g_patent header row."""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest

from patentscope.errors import InputError
from patentscope.ingest import us_bulk
from patentscope.ingest.sample import ingest_sample_format, sample_folder
from patentscope.ingest.us_bulk import (
    TableFile,
    check_header,
    column_specs,
    csv_scan,
    ingest_bulk,
    read_header,
)
from patentscope.landscape.sql import LandscapeSQL, code_match_sql, keyword_pattern, symbol_sql
from patentscope.normalize.classifications import matches_code, normalize_symbol
from patentscope.warehouse import save

REPO = Path(__file__).resolve().parents[1]
PV = Path(__file__).resolve().parent / "fixtures" / "patentsview"
TABLES = ["publications", "parties", "classifications", "citations", "field_values", "term_inputs", "legal_events",
          "related_publications", "priority_claims", "ingest_state"]


def _generator():
    spec = importlib.util.spec_from_file_location("synthetic_patentsview", REPO / "benchmarks" / "synthetic_patentsview.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make_release(folder: Path, seed: int, *, tsv: bool = False) -> Path:
    _generator().generate(folder, 12_000, seed=seed, landscape_share=0.05, zip_it=True, keep_tsv=tsv, log=lambda m: None)
    return folder


@pytest.fixture(scope="session")
def release_a(tmp_path_factory):
    return make_release(tmp_path_factory.mktemp("release_a"), 1, tsv=True)  # .tsv.zip and .tsv


@pytest.fixture(scope="session")
def zips_a(release_a, tmp_path_factory):
    d = tmp_path_factory.mktemp("zips_a")
    for f in release_a.glob("*.tsv.zip"):
        shutil.copy(f, d / f.name)
    return d


@pytest.fixture(scope="session")
def tsvs_a(release_a, tmp_path_factory):
    d = tmp_path_factory.mktemp("tsvs_a")
    for f in release_a.glob("*.tsv"):
        shutil.copy(f, d / f.name)
    return d


@pytest.fixture(scope="session")
def clean_a(zips_a, tmp_path_factory, landscape):
    wh = tmp_path_factory.mktemp("clean_a") / "w.duckdb"
    ingest_bulk(wh, zips_a, landscape, command="clean")
    return wh


def content(path: Path, tables=TABLES) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for t in tables:
            cols = [c for c, _ in save.table_columns(con, t) if c not in ("fetched_at", "run_id", "updated_run_id", "updated_at")]
            out[t] = con.execute(f"SELECT count(*), coalesce(sum(hash({', '.join(cols)})), 0) FROM {t}").fetchall()[0]
        return out
    finally:
        con.close()


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quotechar='"'))


# ----------------------------------------------------------------------------- headers

def test_real_g_patent_header_and_row_read_exactly(tmp_path):
    tf = TableFile("g_patent", PV / "g_patent.head2.tsv")
    tf.header = read_header(tf)
    assert tf.header == ["patent_id", "patent_type", "patent_date", "patent_title", "wipo_kind", "num_claims", "withdrawn", "filename"]
    notes = []
    check_header(tf, column_specs(), notes.append)
    assert notes == []
    con = duckdb.connect()
    rows = con.execute(f"SELECT * FROM {csv_scan(str(tf.path), tf.header, 'rej')}").fetchall()
    assert rows == [("10000000", "utility", "2018-06-19", "Coherent LADAR using intra-pixel quadrature detection", "B2",
                     "20", "0", "ipg180619.xml")]


def test_column_facts_match_the_real_header_and_bulk_columns_csv():
    specs = column_specs()
    real = read_header(TableFile("g_patent", PV / "g_patent.head2.tsv"))
    assert [s.column for s in specs["g_patent"]] == real
    with open(PV / "bulk_columns.csv", encoding="utf-8") as f:
        facts = [r for r in csv.DictReader(f) if r["dataset"] == "granted"]
    for table, cols in specs.items():
        if table in ("g_patent", "g_patent_abstract"):
            continue  # the real header wins over the config; g_patent_abstract is not in the config
        ref = sorted((int(r["ordinal"]), r["column"]) for r in facts if r["table"] == table)
        assert [(s.ordinal, s.column) for s in cols] == ref, table
    assert {s.column for s in specs["g_patent_abstract"]} == {"patent_id", "patent_abstract"}


def test_missing_table_or_column_fails_loudly(tmp_path, zips_a, landscape):
    partial = tmp_path / "partial"
    partial.mkdir()
    for f in zips_a.glob("*.zip"):
        if f.name != "g_us_term_of_grant.tsv.zip":
            shutil.copy(f, partial / f.name)
    with pytest.raises(InputError, match=r"bulk table g_us_term_of_grant is missing"):
        ingest_bulk(tmp_path / "w.duckdb", partial, landscape, command="t")
    # a header without cpc_group
    tsv = tmp_path / "g_us_term_of_grant.tsv"
    with zipfile.ZipFile(zips_a / "g_us_term_of_grant.tsv.zip") as z:
        tsv.write_bytes(z.read("g_us_term_of_grant.tsv"))
    shutil.copy(tsv, partial / tsv.name)
    text = (zipfile.ZipFile(zips_a / "g_cpc_current.tsv.zip").read("g_cpc_current.tsv").decode()).replace('"cpc_group"', '"cpc_grp"', 1)
    (partial / "g_cpc_current.tsv.zip").unlink()
    (partial / "g_cpc_current.tsv").write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"g_cpc_current.tsv: column 'cpc_group' is missing from the header"):
        ingest_bulk(tmp_path / "w.duckdb", partial, landscape, command="t")
    assert not (tmp_path / "w.duckdb").exists()  # refused before the warehouse was opened


# ----------------------------------------------------------------------------- landscape in SQL

SYMBOLS = ["H01F1/0577", "H01F 1/0577", "H01F   1/057", "h01f1/0571", " H01F41/0293 ", "H01F01/057", "H01F1/05",
           "H01F1/0576", "H01F41/02", "H01F41/0253", "B22F3/24", "B22F9/04", "B22F30/00", "C22C38/005", "C22C38/00",
           "Y02E60/10", "H01M  50/46", "H01M2004/027", "not a symbol", "H01F", "H01F1/", "A61K9/7061", "H01F1/0577X"]


def test_symbol_and_code_matching_sql_equal_python(landscape):
    con = duckdb.connect()
    for s in SYMBOLS:
        got = con.execute(f"SELECT {symbol_sql('$s')}", {"s": s}).fetchall()[0][0]
        assert got == normalize_symbol(s), s
    codes = [*landscape.core_codes, *landscape.context_codes, "H01F", "B22F3"]
    for s in {normalize_symbol(x) for x in SYMBOLS} - {None}:
        for code in codes:
            got = con.execute(f"SELECT {code_match_sql('$s', code)}", {"s": s}).fetchall()[0][0]
            assert got == matches_code(s, code), (s, code)


TEXTS = [
    "A sintered NdFeB magnet", "xNdFeB powder", "-NdFeB alloy", "NdFeBx", "NdFeB-based", "(R-T-B) magnets", "R-T-Bx",
    "nd-fe-b", "ND2FE14B phase", "the Nd2Fe14B", "neodymium iron boron magnet", "neodymium-iron-boron",
    "rare earth sintered magnet", "rare-earth sintered magnets", "a rare earth permanent magnet", "boron", "boronated",
    "grain boundary diffusion of Dy", "éNdFeB", "NdFeBé", "_NdFeB", "NdFeB_", "Nd-Fe-B\nmagnet", "multi\nline R-Fe-B",
    "Fe-B-R type", "RE-Fe-B", "R2T14B compound", "2NdFeB", "NdFeB2", "title ends rare\u00a0earth", "",
    "ſintered magnet", "Permanent Magnet and NdFeB", "sintered magnet of R-T-B", "R-T-B-based", "(Nd,Pr)-Fe-B",
]


def test_keyword_regex_equals_python(landscape):
    con = duckdb.connect()
    for words, rx in ((landscape.strong_keywords, landscape._strong_re), (landscape.weak_keywords, landscape._weak_re)):
        pat = keyword_pattern(words)
        for t in TEXTS:
            got = con.execute("SELECT regexp_extract($t, $p, 1)", {"t": t, "p": pat}).fetchall()[0][0]
            m = rx.search(t)
            assert got == (m.group(0) if m else ""), (t, got)
    assert keyword_pattern(()) is None and LandscapeSQL.of(landscape).strong is not None


def python_reasons(folder: Path, land) -> dict[str, str]:
    """Landscape.match over the raw TSVs, read with the csv module (independent of the SQL)."""
    titles = {r["patent_id"]: r["patent_title"] for r in read_tsv(folder / "g_patent.tsv")}
    abstracts = {r["patent_id"]: r["patent_abstract"] for r in read_tsv(folder / "g_patent_abstract.tsv")}
    cpc: dict[str, list[tuple[int, str]]] = {}
    for r in read_tsv(folder / "g_cpc_current.tsv"):
        cpc.setdefault(r["patent_id"], []).append((int(r["cpc_sequence"]), r["cpc_group"]))
    out = {}
    for pid, title in titles.items():
        symbols: list[str] = []
        for _, raw in sorted(cpc.get(pid, [])):
            s = normalize_symbol(raw)
            if s and s not in symbols:
                symbols.append(s)
        reason = land.match(symbols, f"{title} {abstracts.get(pid, '')}")
        if reason:
            out[pid] = reason
    return out


def test_bulk_load_selects_the_landscape_and_its_neighbourhood(clean_a, tsvs_a, landscape):
    expected = python_reasons(tsvs_a, landscape)
    kinds = {r.split(":")[0] for r in expected.values()}
    assert kinds == {"cpc", "keyword", "cpc+keyword"} and len(expected) > 50
    assert "keyword:neodymium iron boron" in expected.values()  # a match across the title/abstract join
    con = duckdb.connect(str(clean_a), read_only=True)
    try:
        got = dict(con.execute("SELECT doc_number, landscape_reason FROM publications WHERE in_landscape").fetchall())
        assert got == expected
        # the neighbourhood, from an independent plain query over the raw citation file
        ref = duckdb.connect()
        ref.execute("CREATE TABLE land AS SELECT unnest($ids) AS id", {"ids": sorted(expected)})
        cit = (f"read_csv('{tsvs_a / 'g_us_patent_citation.tsv'}', delim='\t', header=true, all_varchar=true)")
        edges = set(ref.execute(f"SELECT patent_id, citation_patent_id FROM {cit} "
                                "WHERE patent_id IN (SELECT id FROM land) OR citation_patent_id IN (SELECT id FROM land)").fetchall())
        others = {x for e in edges for x in e} - set(expected)
        forward = dict(ref.execute(f"SELECT citation_patent_id, count(DISTINCT patent_id) FROM {cit} "
                                   "WHERE citation_patent_id IN (SELECT id FROM land) GROUP BY 1").fetchall())
        got_edges = set(con.execute("SELECT substr(citing_pub_key, 4), cited_as_written FROM citations WHERE source = 'bulk'").fetchall())
        assert got_edges == edges
        got_others = {r[0] for r in con.execute("SELECT doc_number FROM publications WHERE NOT in_landscape").fetchall()}
        assert got_others == others
        got_forward = dict(con.execute("SELECT substr(cited_pub_key, 4), count(DISTINCT citing_pub_key) FROM citations "
                                       "WHERE cited_pub_key IN (SELECT pub_key FROM publications WHERE in_landscape) GROUP BY 1").fetchall())
        assert got_forward == forward  # forward citations from the whole corpus
        # other ends that are not in g_patent (pre-1976 numbers) still get a minimal row
        assert con.execute("SELECT count(*) FROM publications WHERE NOT in_landscape AND title IS NULL").fetchall()[0][0] > 0
        # landscape rows carry their children; other ends only the minimal row
        assert con.execute("SELECT count(DISTINCT pub_key) FROM classifications").fetchall()[0][0] == len(expected)
        assert con.execute("SELECT count(*) FROM term_inputs").fetchall()[0][0] == len(expected)
        tog = {r["patent_id"]: r for r in read_tsv(tsvs_a / "g_us_term_of_grant.tsv")}
        for pk, pta, td in con.execute("SELECT pub_key, pta_days, terminal_disclaimer FROM term_inputs").fetchall():
            row = tog.get(pk[3:], {})
            assert pta == (int(row["term_extension"]) if row.get("term_extension") else None)
            assert td == (True if row.get("term_disclaimer") else None)
        assert con.execute("SELECT count(*) FROM quarantine").fetchall() == [(0,)]
        # field values of the landscape patents and the kind of every row, from a plain reading
        # of the files: a patent's own wipo_kind, else the one the first citing row prints
        pat = {r["patent_id"].strip(): r for r in read_tsv(tsvs_a / "g_patent.tsv")}
        apps: dict[str, dict[str, str]] = {}
        for r in read_tsv(tsvs_a / "g_application.tsv"):
            pid, app = r["patent_id"].strip(), r["application_id"].strip()
            if app and (pid not in apps or app < apps[pid]["application_id"].strip()):
                apps[pid] = r
        want_fv = set()
        for pid in expected:
            r, a = pat[pid], apps.get(pid, {})
            for field, value in (("title", r["patent_title"]), ("grant_date", r["patent_date"]),
                                 ("filing_date", a.get("filing_date")), ("application_number", (a.get("application_id") or "").strip()),
                                 ("kind", r["wipo_kind"].strip()), ("num_claims", r["num_claims"]), ("patent_type", r["patent_type"].strip())):
                if value:
                    want_fv.add(("US-" + pid, field, value))
        got_fv = set(con.execute("SELECT pub_key, field, value FROM field_values WHERE source = 'bulk'").fetchall())
        assert got_fv == want_fv
        printed: dict[str, tuple[tuple[str, int], str]] = {}
        for r in read_tsv(tsvs_a / "g_us_patent_citation.tsv"):
            cited, kind = r["citation_patent_id"].strip().lstrip("0"), r["wipo_kind"].strip()
            citing, seq = r["patent_id"].strip(), int(r["citation_sequence"])
            if kind and (citing in expected or cited in expected) and (cited not in printed or (citing, seq) < printed[cited][0]):
                printed[cited] = ((citing, seq), kind)
        got_kind = dict(con.execute("SELECT doc_number, kind FROM publications WHERE source = 'bulk'").fetchall())
        for doc, kind in got_kind.items():
            own = pat[doc]["wipo_kind"].strip() if doc in pat else ""
            assert kind == (own or printed.get(doc, (None, None))[1]), doc
        assert any(doc not in pat and kind for doc, kind in got_kind.items())   # some kinds come from citing rows
    finally:
        con.close()


def test_citation_lines_printed_twice_load_once(clean_a, tsvs_a, landscape, tmp_path):
    # the citations go into the table without a staged key check: their key is unique because
    # the staging groups by (citing, cited as written). A release whose citation file prints
    # lines twice (once more with another sequence number) loads each reference once: the load
    # equals the one without the repeats
    folder = tmp_path / "dup"
    shutil.copytree(tsvs_a, folder)
    path = folder / "g_us_patent_citation.tsv"
    rows = read_tsv(path)
    repeats = [dict(r) for r in rows[:400:3]] + [{**r, "citation_sequence": str(int(r["citation_sequence"]) + 1000)}
                                                  for r in rows[:400:3]]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t", quotechar='"', lineterminator="\n")
        w.writeheader()
        w.writerows(rows + repeats)
    wh_dup = tmp_path / "dup.duckdb"
    ingest_bulk(wh_dup, folder, landscape, command="dup")
    # clean_a: the same release without the repeats (its .tsv.zip files load as the .tsv ones)
    assert content(wh_dup, ["citations", "publications"]) == content(clean_a, ["citations", "publications"])
    con = duckdb.connect(str(wh_dup), read_only=True)
    try:
        n, distinct = con.execute("SELECT count(*), count(DISTINCT (citing_pub_key, cited_as_written, source)) "
                                  "FROM citations").fetchall()[0]
        assert n == distinct > 0
    finally:
        con.close()


# ----------------------------------------------------------------------------- releases and kills

def test_same_release_twice_changes_nothing(clean_a, zips_a, landscape, tmp_path):
    wh = tmp_path / "w.duckdb"
    shutil.copy(clean_a, wh)
    before = content(wh, [*TABLES, "raw_landing", "ingest_runs"])
    res = ingest_bulk(wh, zips_a, landscape, command="again")
    assert res.skipped
    assert content(wh, [*TABLES, "raw_landing", "ingest_runs"]) == before


def test_newer_release_replaces_the_old_one(clean_a, tmp_path, landscape):
    b = make_release(tmp_path / "release_b", 2)
    only_b = tmp_path / "only_b.duckdb"
    ingest_bulk(only_b, b, landscape, command="b")
    a_then_b = tmp_path / "a_then_b.duckdb"
    shutil.copy(clean_a, a_then_b)
    ingest_bulk(a_then_b, b, landscape, command="b")
    assert content(a_then_b) == content(only_b)


def test_other_sources_survive_a_bulk_release(tmp_path, zips_a, landscape):
    wh = tmp_path / "w.duckdb"
    ingest_sample_format(wh, sample_folder(), landscape, command="sample")
    before = content(wh, ["licensing_facts", "holder_declared_patents"])
    sample_rows = duckdb.connect(str(wh), read_only=True)
    n_sample = sample_rows.execute("SELECT count(*) FROM publications WHERE source = 'sample'").fetchall()[0][0]
    sample_rows.close()
    ingest_bulk(wh, zips_a, landscape, command="bulk")
    con = duckdb.connect(str(wh), read_only=True)
    assert con.execute("SELECT count(*) FROM publications WHERE source = 'sample'").fetchall()[0][0] == n_sample
    con.close()
    assert content(wh, ["licensing_facts", "holder_declared_patents"]) == before


@pytest.mark.integration
@pytest.mark.parametrize("step", ["staged", "in_write"])
def test_kill_mid_load_then_rerun_equals_clean_run(step, clean_a, zips_a, landscape, tmp_path, monkeypatch):
    wh = tmp_path / "w.duckdb"

    def die(at):
        if at == step:
            raise KeyboardInterrupt(f"simulated kill at {at}")

    monkeypatch.setattr(us_bulk, "_checkpoint", die)
    with pytest.raises(KeyboardInterrupt):
        ingest_bulk(wh, zips_a, landscape, command="killed")
    after_kill = content(wh)
    assert all(n == 0 for t, (n, _) in after_kill.items()), after_kill
    monkeypatch.setattr(us_bulk, "_checkpoint", lambda at: None)
    ingest_bulk(wh, zips_a, landscape, command="rerun")
    assert content(wh) == content(clean_a)


@pytest.mark.slow
def test_sigkill_inside_the_write_transaction(clean_a, zips_a, tmp_path, landscape):
    """A real process killed with SIGKILL half-way through the final transaction."""
    wh = tmp_path / "w.duckdb"
    code = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from patentscope.ingest import us_bulk\n"
        "from patentscope.landscape import load_landscape\n"
        "us_bulk._checkpoint = lambda at: os.kill(os.getpid(), signal.SIGKILL) if at == 'in_write' else None\n"
        f"us_bulk.ingest_bulk(Path({str(wh)!r}), Path({str(zips_a)!r}), load_landscape(), command='killed')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    ingest_bulk(wh, zips_a, landscape, command="rerun")
    assert content(wh) == content(clean_a)


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("form", ["tsv", "zip-arrow"])
def test_malformed_lines_are_quarantined_and_the_rest_loads(form, tsvs_a, landscape, tmp_path):
    folder = tmp_path / "in"
    shutil.copytree(tsvs_a, folder)
    good = (folder / "g_us_term_of_grant.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    bad_line = '"9999999"\t"2001-01-01"\t"too many"\t"fields"\t"here"\t"x"\n'
    lines = [*good[:4], bad_line, *good[4:]]
    (folder / "g_us_term_of_grant.tsv").write_text("".join(lines), encoding="utf-8")
    if form != "tsv":
        for f in list(folder.glob("*.tsv")):
            with zipfile.ZipFile(folder / (f.name + ".zip"), "w", zipfile.ZIP_DEFLATED) as z:
                z.write(f, f.name)
            f.unlink()
    wh = tmp_path / "w.duckdb"
    res = ingest_bulk(wh, folder, landscape, command="t", zip_reader="fifo" if form == "zip-fifo" else "arrow")
    assert res.quarantined == 1
    con = duckdb.connect(str(wh), read_only=True)
    try:
        (file, line, reason, raw), = con.execute("SELECT file, line, reason, raw_row FROM quarantine").fetchall()
        assert file.startswith("g_us_term_of_grant.tsv") and line == 5 and raw.rstrip("\n") == bad_line.rstrip("\n")
        assert con.execute("SELECT status FROM ingest_runs").fetchall() == [("partial",)]
        assert con.execute("SELECT count(*) FROM term_inputs").fetchall()[0][0] > 0
    finally:
        con.close()


def test_damaged_archive_fails_loudly(zips_a, landscape, tmp_path):
    folder = tmp_path / "in"
    shutil.copytree(zips_a, folder)
    data = bytearray((folder / "g_us_patent_citation.tsv.zip").read_bytes())
    mid = len(data) // 2
    data[mid:mid + 64] = bytes(64)  # corrupt the deflate stream in the middle
    (folder / "g_us_patent_citation.tsv.zip").write_bytes(bytes(data))
    for reader in ("arrow", "fifo"):
        with pytest.raises(InputError, match=r"g_us_patent_citation.tsv.zip:g_us_patent_citation.tsv: the archive is damaged"):
            ingest_bulk(tmp_path / f"w-{reader}.duckdb", folder, landscape, command="t", zip_reader=reader)
        w = tmp_path / f"w-{reader}.duckdb"  # damage found before the warehouse is opened leaves no file at all
        assert not w.exists() or content(w)["publications"][0] == 0  # nothing of the damaged release


def test_zip_readers_and_plain_tsv_give_the_same_rows(clean_a, tsvs_a, zips_a, landscape, tmp_path):
    fifo = tmp_path / "fifo.duckdb"
    ingest_bulk(fifo, zips_a, landscape, command="t", zip_reader="fifo")
    plain = tmp_path / "plain.duckdb"
    ingest_bulk(plain, tsvs_a, landscape, command="t", release="same")
    expect = content(clean_a, TABLES[:-1])
    assert content(fifo, TABLES[:-1]) == expect and content(plain, TABLES[:-1]) == expect


def test_upsert_sql_follows_save_precedence(mem_con):
    """The bulk loader's SQL upsert gives what warehouse.save._upsert_publications gives."""
    from patentscope.normalize.batch import Batch

    base = {"country": "US", "doc_number": "1", "number_as_received": "US1", "family_id": "PUB:US-1",
            "family_id_source": "publication"}
    sample = {**base, "pub_key": "US-1", "pub_number": "US-1", "title": "from sample", "abstract": "sample abstract",
              "source": "sample", "in_landscape": True, "landscape_reason": "curated:explicit"}
    bulk = {**base, "pub_key": "US-1", "pub_number": "US-1-A", "title": "from bulk", "abstract": None, "source": "bulk",
            "in_landscape": False}
    other = duckdb.connect(":memory:")
    from patentscope.warehouse import migrations
    migrations.apply(other)
    for con in (mem_con, other):
        save.save_batch(con, Batch(source="sample", publications=[sample]), run_id=1)
    mem_con.register("w_bulk", save.to_frame(mem_con, "publications", [bulk]))
    save._upsert_publications(mem_con, "w_bulk", "bulk")
    other.register("w_pub", save.to_frame(other, "publications", [bulk]))
    cols = [c for c, _ in save.table_columns(other, "publications")]
    other.execute(us_bulk._upsert_sql("w_pub", "bulk", cols)).fetchall()
    q = "SELECT * FROM publications"
    assert mem_con.execute(q).fetchall() == other.execute(q).fetchall()


def test_cursor_records_the_release(clean_a):
    con = duckdb.connect(str(clean_a), read_only=True)
    cur = json.loads(con.execute("SELECT cursor FROM ingest_state WHERE source = 'bulk'").fetchall()[0][0])
    con.close()
    assert cur["release"].startswith("files:") and cur["product"] == "PVGPATDIS"
    assert set(cur["files"]) == {"g_patent", "g_application", "g_cpc_current", "g_us_patent_citation", "g_assignee_disambiguated",
                                 "g_patent_abstract", "g_us_term_of_grant", "g_inventor_disambiguated"}
    assert cur["counts"]["max_grant_date"] and cur["landscape_sha"]
