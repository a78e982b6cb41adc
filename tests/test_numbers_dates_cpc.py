import datetime as dt

import pytest

from patentscope.normalize.classifications import extract_ipc_with_versions, extract_symbols, matches_code, normalize_symbol
from patentscope.normalize.dates import parse_date, parse_iso
from patentscope.normalize.numbers import parse_cited_reference, parse_pub_number


@pytest.mark.parametrize("text,key,number", [
    ("US4770723A", "US-4770723", "US-4770723-A"),
    ("US 4,770,723", "US-4770723", "US-4770723"),
    ("US-4770723-A", "US-4770723", "US-4770723-A"),
    ("EP1005050A3", "EP-1005050", "EP-1005050-A3"),
    ("EP0125752A2", "EP-0125752", "EP-0125752-A2"),
    ("JPH056813A", "JP-H056813", "JP-H056813-A"),
    ("JPS63147303A", "JP-S63147303", "JP-S63147303-A"),
    ("US20130160896A1", "US-20130160896", "US-20130160896-A1"),
    ("TWI229150B", "TW-I229150", "TW-I229150-B"),
    ("KR102617340B1", "KR-102617340", "KR-102617340-B1"),
    ("JP 2817624", "JP-2817624", "JP-2817624"),
])
def test_parse_pub_number(text, key, number):
    pn = parse_pub_number(text)
    assert pn is not None
    assert (pn.pub_key, pn.pub_number, pn.as_received) == (key, number, text)


@pytest.mark.parametrize("text", ["", "not a number", "Patent Abstracts of Japan", "US"])
def test_parse_pub_number_rejects(text):
    assert parse_pub_number(text) is None


@pytest.mark.parametrize("text,rtype,key,year", [
    ("4792367 Dec., 1988 Lee", "US patent (as listed under References Cited)", "US-4792367", 1988),
    ("5110374 May., 1992 Takeshita et al. 148/101", "US patent", "US-5110374", 1992),
    ("JP 60-76108 Apr., 1985", "foreign patent document", "JP-S6076108", 1985),   # Showa 60 = 1985
    ("4-147908 May., 1992 JP", "foreign patent document", "JP-H04147908", 1992),  # Heisei 4 = 1992
    ("0125752 Nov., 1984 EP", "foreign patent document", "EP-0125752", 1984),
    ("EP-A2- 1 308 970", "patent document (EP search report)", "EP-1308970", None),
    ("JP-A- 2004 111 944", "patent document (EP search report)", "JP-2004111944", None),
    ("EP2722856A1 2014-04-23", "foreign patent document", "EP-2722856", 2014),
])
def test_parse_cited_reference(text, rtype, key, year):
    pn, y = parse_cited_reference(text, rtype)
    assert pn is not None and pn.pub_key == key and y == year


@pytest.mark.parametrize("text,rtype", [
    ("JP-A-60 021 084", "patent document (EP search report)"),  # era not stated: not guessed
    ("WO-A-84/01226", "patent document (EP search report)"),
    ("81908 Jul., 1981 JP", "foreign patent document"),          # no era in the number
    ("61-214505 Sep., 19... (truncated)", "foreign patent document"),
    ("Croat, \"Preparation And Coercive Force\", Appl. Phys. Lett. 37 (12), Dec. 15, 1980", "non-patent literature"),
    ("JP 60-76108 Apr., 1990", "foreign patent document"),       # year contradicts Showa 60
])
def test_cited_reference_not_guessed(text, rtype):
    assert parse_cited_reference(text, rtype)[0] is None


@pytest.mark.parametrize("text,expected", [
    ("Aug 11, 2014", dt.date(2014, 8, 11)),
    ("Feb. 25, 2022", dt.date(2022, 2, 25)),
    ("Jan 07 1991", dt.date(1991, 1, 7)),
    ("Thursday, December 27, 2012", dt.date(2012, 12, 27)),
    ("25.11.1999", dt.date(1999, 11, 25)),
    ("20030204", dt.date(2003, 2, 4)),
    ("2022-05-30", dt.date(2022, 5, 30)),
    ("01 February 1999 (page shows date in Russian)", dt.date(1999, 2, 1)),
    ("Nov. 5, 2020 (PCT filing date)", dt.date(2020, 11, 5)),
    ("Feb 29, 1988", dt.date(1988, 2, 29)),
    ("Octob... (truncated in stored excerpt)", None),
    ("Feb 29, 1989", None),   # not a calendar date
    ("2021-02-30", None),
    ("", None),
])
def test_parse_date(text, expected):
    assert parse_date(text) == expected


def test_parse_iso_is_strict():
    assert parse_iso("1988-09-13") == dt.date(1988, 9, 13)
    assert parse_iso("") is None
    with pytest.raises(ValueError):
        parse_iso("13.09.1988")
    with pytest.raises(ValueError):
        parse_iso("1988-02-30")


def test_concatenated_cpc_string():
    s = "C22C 2202/02B22F 2999/00H01F 1/0577C22C 38/00B22F 2998/10C22C 38/005"
    assert extract_symbols(s) == ["C22C2202/02", "B22F2999/00", "H01F1/0577", "C22C38/00", "B22F2998/10", "C22C38/005"]
    assert normalize_symbol("H01F   1/057") == "H01F1/057"  # ODP pads the group
    assert normalize_symbol("H01F 41/0293") == "H01F41/0293"
    assert normalize_symbol("nonsense") is None


def test_ipc_versions():
    got = extract_ipc_with_versions("H01F 1/057 (2006.01); B22F 3/24 (2006.01); C22C 1/04 (2023.01)")
    assert got == [("H01F1/057", "2006.01"), ("B22F3/24", "2006.01"), ("C22C1/04", "2023.01")]


def test_matches_code():
    assert matches_code("H01F1/0577", "H01F1/057")
    assert matches_code("H01F1/057", "H01F1/057")
    assert not matches_code("H01F1/055", "H01F1/057")
    assert matches_code("B22F3/24", "B22F3")
    assert not matches_code("B22F30/00", "B22F3")
    assert matches_code("H01F41/0293", "H01F")


@pytest.mark.parametrize("cc,kind,grant", [
    ("US", "A", True), ("US", "B2", True), ("US", "S1", True), ("US", "P3", True), ("US", "A1", False),
    ("EP", "B1", True), ("EP", "A2", False), ("CN", "U", True), ("CN", "A", False), ("JP", "B2", True), ("KR", "A", False),
    ("US", None, None),
])
def test_is_grant_kind(cc, kind, grant):
    from patentscope.normalize.numbers import is_grant_kind
    assert is_grant_kind(cc, kind) is grant
