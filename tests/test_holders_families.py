"""Families from priority claims and application links (patentscope/holders/families.py).

Records are the embedded sample's real ones (numbers as the public pages print them)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patentscope.holders.families import _us_serial_key, application_key, build_families

D = dt.date


@pytest.mark.parametrize(("cc", "num", "date", "key"), [
    ("JP", "2008284566", None, "JP:2008:284566"),          # Google style, Gregorian
    ("JP", "JP2008284566A", None, "JP:2008:284566"),
    ("JP", "63-68954", D(1988, 3, 23), "JP:1988:68954"),     # Showa 63, US front page
    ("JP", "63068954", None, "JP:1988:68954"),               # Google style, era
    ("JP", "7-183441", D(1995, 6, 26), "JP:1995:183441"),    # Heisei 7
    ("JP", "18343995", None, "JP:1995:183439"),              # EPO serial + yy inside a Google number
    ("JP", "34164693", D(1993, 12, 10), "JP:1993:341646"),   # EPO serial + yy
    ("JP", "203549/85", D(1985, 12, 27), "JP:1985:203549"),
    ("JP", "2016-255017", D(2016, 12, 28), "JP:2016:255017"),
    ("US", "13/367,427", None, "US:13/367427"),
    ("US", "US12/609849", None, "US:12/609849"),
    ("US", "554109", None, None),                             # no series code: not comparable
    ("CN", "202210609436.5", D(2022, 5, 31), "CN:2022:10609436"),
    ("CN", "CN202210609436.5", None, "CN:2022:10609436"),
    ("JP", "", None, None),
])
def test_application_keys(cc: str, num: str, date: dt.date | None, key: str | None) -> None:
    assert application_key(cc, num, date) == key


US8568203 = [("US-8568203", "JP", "2008284644", None, "JP2008284644A (JP2010110850A)"),
             ("US-8568203", "JP", "2008284566", None, "JP2008284566A (JP5481837B2)"),
             ("US-8568203", "JP", "2008284661", None, "JP2008284661A (JP5228811B2)")]
US8753174 = [(c[0].replace("8568203", "8753174"), *c[1:]) for c in US8568203]


def _pubs(*rows: tuple[str, str, str | None]) -> list[tuple[str, str, str | None, None, str, str]]:
    return [(pk, cc, app, None, "PUB:" + pk, "publication") for pk, cc, app in rows]


def test_divisional_and_its_parent_share_a_family() -> None:
    pubs = _pubs(("US-8568203", "US", "US12/609849"), ("US-8753174", "US", "US13/754416"), ("US-5338371", "US", None))
    df, _, st = build_families(pubs, US8568203 + US8753174)
    fam = dict(zip(df["pub_key"], df["family_id"], strict=True))
    assert fam["US-8568203"] == fam["US-8753174"] == "EXT:US-8568203"
    assert fam["US-5338371"] == "PUB:US-5338371"
    assert (st.n_families_before, st.n_families_after) == (3, 2)
    src = dict(zip(df["pub_key"], df["family_id_source"], strict=True))
    assert src["US-8753174"] == "priority_extended" and src["US-5338371"] == "publication"


def test_jp_original_joins_its_us_filings_through_its_application_number() -> None:
    # JP5481837B2 is the JP original of priority JP2008-284566 (its application number)
    pubs = _pubs(("JP-5481837", "JP", "JP2008284566A"), ("US-8568203", "US", "US12/609849"),
                 ("US-8753174", "US", "US13/754416"))
    df, _, _ = build_families(pubs, US8568203 + US8753174)
    assert df["family_id"].n_unique() == 1
    # simple family: the JP original claims no priority; its own application {JP:2008:284566}
    # differs from the US set of three, so it is a family of its own there
    df2, _, st2 = build_families(pubs, US8568203 + US8753174, mode="simple")
    fam = dict(zip(df2["pub_key"], df2["family_id"], strict=True))
    assert fam["US-8568203"] == fam["US-8753174"] != fam["JP-5481837"]
    assert set(df2["family_id_source"]) == {"priority_simple", "publication"} and st2.mode == "simple"


def test_extended_versus_simple_on_partly_shared_priorities() -> None:
    # EP-0778594 claims five of US-6187259's eight JP priorities (sample records)
    ep = [("EP-0778594", "JP", n, None, "") for n in ("7183441", "7183445", "18343995", "18344495", "7183440")]
    us = [("US-6187259", "JP", f"7-{n}", D(1995, 6, 26) if n != "254696" else D(1995, 9, 5), "")
          for n in ("183439", "183440", "183441", "183442", "183443", "183444", "183445", "254696")]
    pubs = _pubs(("EP-0778594", "EP", "EP96918894A"), ("US-6187259", "US", None))
    ext, _, _ = build_families(pubs, ep + us)
    assert ext["family_id"].n_unique() == 1
    sim, _, _ = build_families(pubs, ep + us, mode="simple")
    assert sim["family_id"].n_unique() == 2


def test_docdb_id_wins_and_is_adopted_by_members_without_one() -> None:
    pubs = [("US-8568203", "US", "US12/609849", None, "48653387", "docdb"),
            ("US-8753174", "US", "US13/754416", None, "PUB:US-8753174", "publication")]
    df, cf, _ = build_families(pubs, US8568203 + US8753174)
    fam = dict(zip(df["pub_key"], df["family_id"], strict=True))
    assert fam == {"US-8568203": "48653387", "US-8753174": "48653387"}
    assert df.filter(df["pub_key"] == "US-8568203")["family_id_source"][0] == "docdb"
    assert "same priorities" in df.filter(df["pub_key"] == "US-8753174")["evidence"][0]
    assert cf.height == 0


def test_two_docdb_families_in_one_extended_family_are_listed_not_merged() -> None:
    pubs = [("US-8568203", "US", None, None, "A1", "docdb"), ("US-8753174", "US", None, None, "A2", "docdb")]
    df, cf, _ = build_families(pubs, US8568203 + US8753174[:1])
    assert sorted(df["family_id"]) == ["A1", "A2"]
    assert cf.height == 1 and cf["docdb_family_ids"][0].to_list() == ["A1", "A2"]


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="extended or simple"):
        build_families([], [], mode="inpadoc")


def test_sample_families_reach_publications(tmp_path, sample_warehouse) -> None:  # type: ignore[no-untyped-def]
    import shutil

    import duckdb

    from patentscope.holders.families import refresh

    path = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, path)
    con = duckdb.connect(str(path))
    st = refresh(con)
    assert (st.n_publications, st.n_families_before, st.n_families_after) == (147, 147, 143)
    rows = dict(con.execute("SELECT pub_key, family_id FROM publications WHERE pub_key IN ('US-8568203', 'US-8753174')").fetchall())
    assert rows["US-8568203"] == rows["US-8753174"]
    n = con.execute("SELECT n_publications FROM family_overview WHERE family_id = ?", [rows["US-8568203"]]).fetchone()
    assert n == (2,)
    refresh(con)  # idempotent
    assert con.execute("SELECT count(DISTINCT family_id) FROM publications").fetchone() == (143,)
    simple = refresh(con, "simple")
    assert simple.n_families_after >= 143 and refresh(con).mode == "simple"  # the mode sticks
    con.close()


def test_us_continuity_links_join_extended_families() -> None:
    # US8753174 (appl. 13/754416) is a divisional of US8568203 (appl. 12/609849); ODP writes
    # application numbers as 8 digits
    pubs = _pubs(("US-8568203", "US", "US12/609849"), ("US-8753174", "US", "US13/754416"))
    df, _, _ = build_families(pubs, [], links=[("13754416", "12609849")])
    assert df["family_id"].n_unique() == 1
    df2, _, _ = build_families(pubs, [], mode="simple", links=[("13754416", "12609849")])
    assert df2["family_id"].n_unique() == 2


# ----------------------------------------------------------------------------------------------
# the vectorised build against the row-by-row reference (tests/families_reference.py)


def _same_build(pubs, claims, mode, links=()):  # type: ignore[no-untyped-def]
    from families_reference import reference_build_families

    ours = build_families(pubs, claims, mode, links)
    ref = reference_build_families(pubs, claims, mode, links)
    assert ours[0].to_dicts() == ref[0].to_dicts()  # same rows in the same order
    assert ours[1].to_dicts() == ref[1].to_dicts()
    assert ours[2] == ref[2]
    return ours


@pytest.mark.parametrize("mode", ["extended", "simple"])
def test_vectorised_build_equals_the_row_by_row_reference_on_the_sample(sample_con, mode) -> None:  # type: ignore[no-untyped-def]
    pubs = sample_con.execute("SELECT pub_key, country, application_number, filing_date, "
                              "family_id, family_id_source FROM publications ORDER BY pub_key DESC").fetchall()
    claims = sample_con.execute("SELECT pub_key, priority_country, priority_number, priority_date, claim_as_written "
                                "FROM priority_claims ORDER BY pub_key, source, seq").fetchall()
    df, _, st = _same_build(pubs, claims, mode, [("13754416", "12609849")])
    assert st.n_publications == 147 and df.height == 147


# SYNTHETIC random cases: a few application numbers shared at random, DOCDB ids on some
_NUMS = ["US12/609849", "US13/754416", "09/006830", "09006830", "13/754416", "JP2008284566A", "63-68954", "EP96918894A", "554109", "", None,
         "CN202210609436.5", "KR1020150012345"]
_row = st.tuples(st.sampled_from(["US", "JP", "EP", "CN", "KR", None]), st.sampled_from(_NUMS),
                 st.sampled_from([None, D(1988, 3, 23), D(2008, 11, 5)]))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pubs=st.lists(st.tuples(_row, st.sampled_from([None, "F1", "F2", "F3"]),
                               st.sampled_from(["docdb", "inpadoc", "publication", "priority_extended"])),
                     max_size=12),
       claims=st.lists(st.tuples(st.integers(0, 11), _row, st.sampled_from(["", "JP 63-68954", "US 13/754,416"])),
                       max_size=20),
       links=st.lists(st.tuples(st.sampled_from(["13754416", "12609849", "09123456", "x"]),
                                st.sampled_from(["13754416", "12609849", "09123456"])), max_size=3),
       mode=st.sampled_from(["extended", "simple"]))
def test_vectorised_build_equals_the_row_by_row_reference_on_random_cases(pubs, claims, links, mode) -> None:  # type: ignore[no-untyped-def]
    rows = [(f"T-{i:02d}", cc, num, d, fid or f"PUB:T-{i:02d}", src if fid else "publication")
            for i, ((cc, num, d), fid, src) in enumerate(pubs)]
    rows.reverse()  # not in pub_key order: the families' order follows the input
    cl = [(f"T-{i:02d}", cc, num, d, aw) for i, (cc, num, d), aw in claims]
    _same_build(rows, cl, mode, links)


def test_a_member_without_an_id_takes_the_smallest_id_among_members_with_its_priorities() -> None:
    # SYNTHETIC: T-2, T-5 (DOCDB F3, F1) and T-3 (no id) claim the same one priority; T-1 (F2)
    # claims it and US 13/754,416, T-4's own application, which joins T-4 to them
    same = [("JP", "2008284566", None, "")]
    claims = [(pk, *c) for pk in ("T-1", "T-2", "T-3", "T-5") for c in same] + [
        ("T-4", "JP", "63-68954", D(1988, 3, 23), ""), ("T-1", "US", "US13/754416", None, "")]
    pubs = [("T-1", "US", None, None, "F2", "docdb"), ("T-2", "EP", None, None, "F3", "docdb"),
            ("T-3", "US", None, None, "PUB:T-3", "publication"), ("T-4", "US", "US13/754416", None, "PUB:T-4", "publication"),
            ("T-5", "KR", None, None, "F1", "inpadoc")]
    df, cf, st = _same_build(pubs, claims, "extended")
    fam = dict(zip(df["pub_key"], df["family_id"], strict=True))
    # T-3's set {JP:2008:284566} is T-2's and T-5's (the smaller id F1), not T-1's; T-4 shares
    # no set and its family has three ids, so it keeps the constructed one
    assert fam == {"T-1": "F2", "T-2": "F3", "T-3": "F1", "T-4": "EXT:T-1", "T-5": "F1"}
    assert cf["docdb_family_ids"].to_list() == [["F1", "F2", "F3"]] and st.n_joined_by_priority == 2


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(
    st.sampled_from(["US", "us", "JP", "", None, "US "]),
    st.one_of(st.none(), st.text(alphabet="0123456789/ ,U S-", max_size=12),
              st.from_regex(r"\A\d{2}/?\d{6}\Z"), st.from_regex(r"\A\d{1,3}/?\d{5,7}\Z"))), min_size=1, max_size=20))
def test_the_vectorised_us_serial_key_is_application_key_wherever_it_gives_one(rows) -> None:  # type: ignore[no-untyped-def]
    """The polars fast path (the PatentsView/ODP forms "09/006830", "09006830") gives exactly
    application_key's key where it gives one, and gives one for every such US number."""
    f = pl.DataFrame(rows, schema={"cc": pl.Utf8, "n": pl.Utf8}, orient="row")
    got = f.select(_us_serial_key(pl.col("cc"), pl.col("n")).alias("k"))["k"].to_list()
    for (cc, n), k in zip(rows, got, strict=True):
        if k is not None:
            assert k == application_key(cc, n), (cc, n, k)
        elif cc == "US" and n is not None and n.isascii() and len(n) in (8, 9) and n.replace("/", "", 1).isdigit() \
                and (len(n) == 8 or n[2] == "/"):
            raise AssertionError(f"fast path missed {cc!r} {n!r}")
