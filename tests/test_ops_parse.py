"""OPS XML -> rows, on the real recorded responses in tests/fixtures/epo_ops (exact values)."""

import datetime as dt
import xml.etree.ElementTree as StdET
from pathlib import Path

import pytest
from test_ops_support import (
    EP_BIBLIO,
    EP_FAMILY,
    EP_FULL_CYCLE,
    EP_LEGAL,
    FIX,
    JP_BIBLIO,
    TESLA_1,
    TESLA_2,
    US2006_BIBLIO,
    WO2020_BIBLIO,
    WO_FAMILY,
    fixture,
)

from patentscope.errors import RowError
from patentscope.normalize.epo_ops import build_batch, legal_effect, parse_document, parse_xml

ALL_XML = sorted(p for p in FIX.rglob("*.xml"))


def parse(name):
    return parse_document(fixture(name), name)


def rows(batch, table, **where):
    return [r for r in batch.table(table) if all(r.get(k) == v for k, v in where.items())]


def test_biblio_ep1000000_exact(landscape):
    p = parse(EP_BIBLIO)
    assert p.kind == "biblio" and len(p.documents) == 1
    d = p.documents[0]
    assert (d.doc.country, d.doc.number, d.doc.kind, d.doc.date) == ("EP", "1000000", "A1", dt.date(2000, 5, 17))
    assert d.family_id == "19768124"
    assert d.titles["en"] == "Apparatus for manufacturing green bricks for the brick manufacturing industry"
    assert d.application_epodoc == "EP19990203729" and d.application_date == dt.date(1999, 11, 8)
    assert [(a.name, a.country) for a in d.applicants_epodoc] == [("BOER BEHEER NIJMEGEN BV DE", "NL")]
    assert [a.name for a in d.applicants_original] == ["BEHEERMAATSCHAPPIJ DE BOER NIJMEGEN B.V"]
    assert [a.name for a in d.inventors_original] == ["KOSMAN, WILHELMUS JACOBUS MARIA"]

    b = build_batch([p], landscape)
    pub = b.publications[0]
    assert (pub["pub_key"], pub["pub_number"], pub["family_id"], pub["family_id_source"]) == \
        ("EP-1000000", "EP-1000000-A1", "19768124", "docdb")
    assert pub["priority_date"] == dt.date(1998, 11, 12) and pub["filing_date"] == dt.date(1999, 11, 8)
    assert pub["application_number"] == "EP99203729" and pub["is_grant"] is False and pub["grant_date"] is None
    assert [r["symbol"] for r in rows(b, "classifications", scheme="CPC")] == \
        ["B28B1/29", "B28B5/022", "B28B5/025", "B28B7/0064"]   # sequence 4 and 5 repeat B28B7/0064 (two offices)
    assert [(r["symbol"], r["symbol_as_written"]) for r in rows(b, "classifications", scheme="IPC")] == [
        ("B28B1/29", "B28B 1/ 29 A I"), ("B28B5/02", "B28B 5/ 02 A I"), ("B28B7/00", "B28B 7/ 00 A I"), ("H02P6/08", "H02P 6/ 08 A I")]
    assert [(c["cited_as_written"], c["cited_pub_key"], c["category"], c["cited_by"], c["cited_year"], c["reference_type"])
            for c in b.citations] == [
        ("DE3546191A1", "DE-3546191", "A", "examiner", 1987, "patent (national-search-report)"),
        ("EP0680812A1", "EP-0680812", "A", "examiner", 1995, "patent (national-search-report)"),
        ("NL9400663A", "NL-9400663", "A", "examiner", 1995, "patent (national-search-report)")]
    assert [(r["claim_as_written"], r["priority_country"], r["priority_number"], r["priority_date"], r["claim_type"])
            for r in b.priority_claims] == [("NL19981010536 1998-11-12", "NL", "1010536", dt.date(1998, 11, 12), "foreign")]
    assert [(r["role"], r["name_as_written"], r["country"]) for r in b.parties] == [
        ("applicant", "BEHEERMAATSCHAPPIJ DE BOER NIJMEGEN B.V", "NL"),
        ("inventor", "KOSMAN, WILHELMUS JACOBUS MARIA", "NL")]
    fv = {(r["field"], r["source_record"]): r["value"] for r in b.field_values}
    assert fv[("applicant", "EP1000000A1")] == "BOER BEHEER NIJMEGEN BV DE [NL]"
    assert fv[("title_de", "EP1000000A1")].startswith("Vorrichtung zur Herstellung von Steinformlingen")
    assert b.families == [{"family_id": "19768124", "id_source": "docdb", "source": "ops",
                           "note": "DOCDB simple family id given by EPO OPS (family-id attribute)"}]


def test_full_cycle_merges_a1_and_b1_into_one_publication(landscape):
    b = build_batch([parse(EP_FULL_CYCLE)], landscape)
    (pub,) = b.publications
    assert pub["pub_number"] == "EP-1000000-B1" and pub["kinds_seen"] == ["A1", "B1"] and pub["is_grant"] is True
    assert pub["publication_date"] == dt.date(2000, 5, 17) and pub["grant_date"] == dt.date(2003, 2, 12)
    # applicants of a granted EP are its proprietors: also written as original_assignee
    assert {(r["role"], r["name_as_written"]) for r in b.parties} == {
        ("applicant", "BEHEERMAATSCHAPPIJ DE BOER NIJMEGEN B.V"),
        ("original_assignee", "BEHEERMAATSCHAPPIJ DE BOER NIJMEGEN B.V"),
        ("inventor", "KOSMAN, WILHELMUS JACOBUS MARIA")}
    chosen = [(r["field"], r["source_record"]) for r in b.field_values if r["chosen"] and r["field"] == "ops_biblio"]
    assert chosen == [("ops_biblio", "EP1000000B1")]


def test_citation_categories_npl_and_jp_era_numbers(landscape):
    b = build_batch([parse(WO2020_BIBLIO)], landscape)
    assert b.publications[0]["pub_key"] == "WO-2020081771" and b.publications[0]["family_id"] == "70284791"
    cites = {c["cited_as_written"][:30]: c for c in b.citations}
    assert cites["JPH06279146A"]["cited_pub_key"] == "JP-H06279146" and cites["JPH06279146A"]["category"] == "A"
    npl = [c for c in b.citations if c["reference_type"].startswith("npl")]
    assert [(c["category"], c["cited_pub_key"]) for c in npl] == [("X", None), ("Y", None)]
    assert npl[0]["cited_as_written"] == '- "Aqua nu filtration system LTD", IN -DELNP-2009-00313 A, (20090515)'
    assert [(p["role"], p["name_as_written"], p["country"]) for p in b.parties if p["role"] == "inventor"][:2] == [
        ("inventor", "WANG, Yin", "US"), ("inventor", "XU, Shangping", "US")]


def test_us_pre_grant_numbers_widen_to_11_digits(landscape):
    b = build_batch([parse(US2006_BIBLIO)], landscape)
    pub = b.publications[0]
    assert (pub["pub_key"], pub["pub_number"], pub["number_as_received"]) == \
        ("US-20060142694", "US-20060142694-A1", "US2006142694A1")
    assert len(b.citations) == 99 and pub["family_id"] == "35840242"


def test_jp_priorities_provisional_and_pct_and_unknown_cited_by(landscape):
    b = build_batch([parse(JP_BIBLIO)], landscape)
    assert [(r["claim_as_written"], r["claim_type"]) for r in b.priority_claims] == [
        ("US20020396363P 2002-07-15", "provisional"), ("US20020291320 2002-11-08", "foreign"),
        ("WO2003US21714 2003-07-11", "pct")]
    assert b.parties == []  # <parties/> is empty in this recording
    assert {c["cited_by"] for c in b.citations} == {None}  # cited-by="unknown"


def test_search_pages(landscape):
    ti = parse("bodies/published__api_test_TestSearchApi.test_search__00__published_data_search.xml").search
    assert (ti.query, ti.total, ti.begin, ti.end, len(ti.hits)) == ("ti = plastic", 10000, 1, 100, 100)
    assert (ti.hits[0].doc.joined, ti.hits[0].family_id) == ("CA3237865A1", "78617299")
    p1, p2 = parse(TESLA_1).search, parse(TESLA_2).search
    assert (p1.total, p1.begin, p1.end, p1.hits[0].doc.joined, p1.hits[0].family_id) == (4495, 1, 1, "US2024163973A1", "81327530")
    assert (p2.total, p2.begin, p2.end) == (4495, 2, 2) and p2.hits[0].doc.joined != p1.hits[0].doc.joined
    nine = build_batch([parse("raw-xml/published_test_search_example.xml")], landscape)
    assert len(nine.publications) == 15 and len(nine.families) == 12  # 15 hits, 12 distinct DOCDB families


def test_family_members_link_offices(landscape):
    p = parse(WO_FAMILY)
    assert p.kind == "family" and p.family.total == 20 and len(p.family.members) == 20
    b = build_batch([p], landscape)
    assert {r["family_id"] for r in b.publications} == {"40799763"}
    assert sorted(r["pub_key"] for r in b.publications) == [
        "CN-101911042", "CN-102622450", "EP-2225660", "JP-2011511970", "JP-4961043", "TW-200928818", "TW-I452476",
        "US-20090171930", "US-20120150875", "US-20130275415", "US-20130304750", "US-8131731", "US-8510313",
        "US-9292578", "US-9442982", "WO-2009085664"]
    cn = next(r for r in b.publications if r["pub_key"] == "CN-101911042")
    assert cn["kinds_seen"] == ["A", "B"] and cn["grant_date"] == dt.date(2016, 9, 14)
    ep = build_batch([parse(EP_FAMILY)], landscape)
    assert sorted(r["pub_number"] for r in ep.publications) == [
        "AT-E232441-T1", "DE-69905327-D1", "EP-1000000-B1", "NL-1010536-C2", "US-6093011-A"]


def test_legal_events_codes_effects_jurisdictions(landscape):
    b = build_batch([parse(EP_LEGAL)], landscape)
    ev = b.legal_events
    assert len(ev) == 50 and {r["pub_key"] for r in ev} == {"EP-1000000"}
    by = {(r["jurisdiction"], r["event_date"].isoformat(), r["event_code"]): r for r in ev}
    assert by[("GB", "2010-11-08", "GBPC")]["effect"] == "lapse"              # ceased through non-payment of renewal fee
    assert by[("NL", "2010-02-26", "PGFP")]["effect"] == "fee_paid"           # annual fee paid, year 11
    assert "fee year 11" in by[("NL", "2010-02-26", "PGFP")]["description"]
    assert by[("IE", "2004-08-25", "REG/MM4A")]["effect"] == "lapse"          # PATENT LAPSED
    assert by[("GB", "2003-02-12", "REG/FG4D")]["effect"] == "grant"
    assert by[("FR", "2004-01-02", "EN")]["effect"] == "lapse"                # FR: translation not filed
    assert by[("BE", "2010-11-30", "BERE")]["effect"] == "lapse"
    assert by[("EP", "2002-09-06", "GRAH")]["effect"] == "other"              # intention to grant is not a grant
    assert by[("EP", "2002-12-28", "GRAA")]["effect"] == "grant"
    effects = {}
    for r in ev:
        effects[r["effect"]] = effects.get(r["effect"], 0) + 1
    assert effects == {"lapse": 25, "fee_paid": 3, "grant": 3, "other": 19}
    spc = build_batch([parse("raw-xml/legal_fixtures_example_2.xml")], landscape).legal_events
    assert len(spc) == 51
    assert next(r for r in spc if r["event_code"] == "REG/SPCF")["effect"] == "other"


@pytest.mark.parametrize(("code", "desc", "national", "free", "effect"), [
    ("PG25", "LAPSED IN A CONTRACTING STATE [ANNOUNCED VIA POSTGRANT INFORMATION FROM NATIONAL OFFICE TO EPO]", None,
     "LAPSE BECAUSE OF NON-PAYMENT OF DUE FEES", "lapse"),
    ("PG25", "LAPSED IN A CONTRACTING STATE", None, "LAPSE BECAUSE OF EXPIRATION OF PROTECTION", "expiry"),
    ("STAA", "INFORMATION ON THE STATUS OF AN EP PATENT APPLICATION OR GRANTED EP PATENT", None,
     "STATUS: THE APPLICATION IS DEEMED TO BE WITHDRAWN", "withdrawal"),
    ("STAA", "INFORMATION ON THE STATUS OF AN EP PATENT APPLICATION OR GRANTED EP PATENT", None,
     "STATUS: NO OPPOSITION FILED WITHIN TIME LIMIT", "other"),
    ("REG", "REFERENCE TO A NATIONAL CODE", "PATENT REVOKED", None, "revocation"),
    ("AKX", "DESIGNATION FEES PAID", None, None, "other"),
    ("PGRI", "PATENT REINSTATED IN CONTRACTING STATE [ANNOUNCED FROM NATIONAL OFFICE TO EPO]", None, None, "reinstatement"),
])
def test_effect_vocabulary(code, desc, national, free, effect):
    assert legal_effect(code, desc, national, free) == effect


# -------------------------------------------------------------------------------------- safety

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<ops:world-patent-data xmlns:ops="http://ops.epo.org"><lolz>&lol9;</lolz></ops:world-patent-data>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ops:world-patent-data xmlns:ops="http://ops.epo.org"><x>&xxe;</x></ops:world-patent-data>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL], ids=["billion-laughs", "external-entity"])
def test_entities_are_refused_not_expanded(payload):
    with pytest.raises(RowError, match="refused: the XML declares a DTD or entities") as e:
        parse_document(payload, "evil.xml")
    assert e.value.file == "evil.xml"


def test_truncated_xml_is_a_clear_error():
    data = fixture(EP_BIBLIO)
    with pytest.raises(RowError, match=r"not well-formed XML at line \d+") as e:
        parse_xml(data[: len(data) // 2], "cut.xml")
    assert e.value.line > 1


OPTIONAL = ["parties", "applicants", "inventors", "references-cited", "patent-classifications", "classifications-ipcr",
            "classification-ipc", "priority-claims", "priority-claim", "abstract", "invention-title", "application-reference",
            "category", "date", "kind", "name", "epodoc", "document-id", "bibliographic-data", "search-result", "range",
            "family-member", "legal", "L500EP", "L007EP", "L525EP", "publication-reference", "patcit", "nplcit", "text",
            "section", "subgroup", "classification-scheme"]


def _strip(data: bytes, tag: str, attrs: bool = False) -> bytes:
    root = StdET.fromstring(data)
    for parent in list(root.iter()):
        for child in list(parent):
            if str(child.tag).rsplit("}", 1)[-1] == tag or (tag == "epodoc" and child.get("document-id-type") == "epodoc"):
                parent.remove(child)
        if attrs:
            parent.attrib.clear()
    return StdET.tostring(root)


def test_every_sample_parses_with_optional_parts_missing(landscape):
    """Every recorded OPS response, and variants with each optional part removed (and one with all
    attributes removed), parses and normalizes without raising."""
    assert len(ALL_XML) >= 30
    n = 0
    for path in ALL_XML:
        data = path.read_bytes()
        variants = [data, _strip(data, "__none__", attrs=True)] + [_strip(data, t) for t in OPTIONAL if f"{t}".encode() in data]
        for v in variants:
            p = parse_document(v, path.name)
            build_batch([p], landscape)
            n += 1
    assert n > 150


def test_nothing_identifying_is_a_rejected_row_not_an_exception(landscape):
    data = _strip(fixture(EP_BIBLIO), "publication-reference", attrs=True)
    p = parse_document(data, "anon.xml")
    assert p.documents == [] and len(p.rejected) == 1 and p.rejected[0].file == "anon.xml"
    b = build_batch([p], landscape)
    assert b.publications == [] and len(b.rejected) == 1


def test_fixture_files_are_the_shared_recordings_byte_for_byte():
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "api-samples" / "epo-ops"
    if not shared.is_dir():
        pytest.skip("../shared not present")
    for sub in ("raw-xml", "bodies"):
        for f in (FIX / sub).glob("*.xml"):
            assert f.read_bytes() == (shared / sub / f.name).read_bytes(), f.name
