"""The typed input reader (patentscope.inputs): every class of bad TOML/JSON gives
``file:line: key: what is wrong and what is allowed`` as a ConfigError, never another exception."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from pydantic import Field

from patentscope.errors import ConfigError
from patentscope.inputs import (
    MAX_DEPTH,
    InputDate,
    InputModel,
    Money,
    NonEmptyStr,
    OfficeCode,
    Rate,
    Samples,
    Year,
    check_order,
    ordered,
    parse_json,
    read_json,
    read_toml,
    read_toml_dict,
    toml_key_lines,
    toml_text,
)


class Licence(InputModel):
    licensee: NonEmptyStr
    start: Year
    end: Year | None = None
    rate: Rate
    _years = ordered("start", "end")


class Dates(InputModel):
    date_from: InputDate = Field(alias="from")
    to: InputDate
    _range = ordered("from", "to")


class Source(InputModel):
    base_url: str = "https://example.org"
    page_size: int = 100


class Scenario(InputModel):
    name: NonEmptyStr
    samples: Samples = 1000
    price_per_kg: Money
    keywords: list[NonEmptyStr] = []
    offices: list[OfficeCode] = []
    dates: Dates | None = None
    licence: list[Licence] = []
    sources: dict[str, Source] = {}


GOOD = """\
name = "base case"
samples = 2000
price_per_kg = 55.0
keywords = ["neodymium", "R-T-B"]
offices = ["US", "EP"]

[dates]
from = 1990-01-01
to = "2030-12-31"

[[licence]]
licensee = "A"
start = 2001
end = 2010
rate = 0.02

[[licence]]
licensee = "B"
start = 2005
rate = 0.03

[sources.epo_ops]
page_size = 50
"""


def _err(text: str, model: type = Scenario, where: str = "s.toml") -> str:
    with pytest.raises(ConfigError) as ei:
        toml_text(text, model, where)
    return str(ei.value)


def test_good_file_reads_into_the_model(tmp_path: Path) -> None:
    p = tmp_path / "s.toml"
    p.write_text(GOOD, encoding="utf-8")
    sc = read_toml(p, Scenario)
    assert sc.samples == 2000 and sc.dates is not None and sc.dates.to == dt.date(2030, 12, 31)
    assert [lic.licensee for lic in sc.licence] == ["A", "B"] and sc.sources["epo_ops"].page_size == 50


def test_key_lines_follow_tables_and_arrays_of_tables() -> None:
    lines = toml_key_lines(GOOD)
    assert lines[("samples",)] == 2
    assert lines[("dates", "to")] == 9
    assert lines[("licence", 1, "rate")] == 20
    assert lines[("sources", "epo_ops", "page_size")] == 23


def test_key_scan_ignores_brackets_and_equals_inside_strings() -> None:
    text = 'a = "x = [ not a table"\nb = """\n[fake]\nc = 1\n"""\nd = 2 # e = 3\n'
    lines = toml_key_lines(text)
    assert lines[("a",)] == 1 and lines[("d",)] == 6
    assert ("fake",) not in lines and ("c",) not in lines and ("e",) not in lines


@pytest.mark.parametrize("old,new,line,key,words", [
    ("samples = 2000", "samples = 0", 2, "samples", "greater than or equal to 1"),
    ("samples = 2000", "samples = 20000000", 2, "samples", "less than or equal to 10000000"),
    ("samples = 2000", "samples = -5", 2, "samples", "greater than or equal to 1"),
    ("samples = 2000", 'samples = "many"', 2, "samples", "must be an integer"),
    ("price_per_kg = 55.0", "price_per_kg = nan", 3, "price_per_kg", "finite"),
    ("price_per_kg = 55.0", "price_per_kg = inf", 3, "price_per_kg", "finite"),
    ("price_per_kg = 55.0", "price_per_kg = -1.0", 3, "price_per_kg", "greater than or equal to 0"),
    ('keywords = ["neodymium", "R-T-B"]', 'keywords = ["neodymium", ""]', 4, "keywords[2]", "at least 1 character"),
    ('offices = ["US", "EP"]', 'offices = "US"', 5, "offices", "must be an array"),
    ('offices = ["US", "EP"]', "offices = [1, 2]", 5, "offices[1]", "must be a string"),
    ("start = 2001", "start = 0", 13, "licence[1].start", "1900"),
    ("start = 2001", "start = 10000", 13, "licence[1].start", "2100"),
    ("end = 2010", "end = 1999", 14, "licence[1].end", "reversed"),
    ("rate = 0.02", "rate = 2.0", 15, "licence[1].rate", "less than or equal to 1"),
    ("from = 1990-01-01", "from = 0001-01-01", 8, "dates.from", "outside 1900-2100"),
    ('to = "2030-12-31"', 'to = "1980-12-31"', 9, "dates.to", "reversed"),
    ('to = "2030-12-31"', 'to = "31/12/2030"', 9, "dates.to", "date"),
    ("[dates]", 'dates = "1990"\n[other]', 7, "dates", "must be a table"),
    ("samples = 2000", "sampels = 2000", 2, "sampels", "did you mean 'samples'"),
    ("[sources.epo_ops]\npage_size", "[sources.epo_ops]\npage_sise", 23, "sources.epo_ops.page_sise", "did you mean 'page_size'"),
    ("[dates]", "[datse]", 7, "datse", "unknown table; did you mean 'dates'"),
    ('name = "base case"', 'name = 7', 1, "name", "must be a string"),
])
def test_each_bad_value_names_file_line_key_and_what_is_allowed(old: str, new: str, line: int, key: str, words: str) -> None:
    assert old in GOOD
    msg = _err(GOOD.replace(old, new, 1))
    first = [m for m in msg.splitlines() if f": {key}: " in m]
    assert first, msg
    assert first[0].startswith(f"s.toml:{line}: {key}: "), msg
    assert words in first[0], msg


def test_every_problem_is_listed_not_just_the_first() -> None:
    msg = _err(GOOD.replace("samples = 2000", "samples = 0").replace("rate = 0.03", "rate = nan"))
    assert "s.toml:2: samples" in msg and "s.toml:20: licence[2].rate" in msg


def test_missing_key_is_named() -> None:
    msg = _err('samples = 5\nprice_per_kg = 1.0\n')
    assert "s.toml: name: required key is missing" in msg


def test_not_utf8_names_line_and_byte_offset(tmp_path: Path) -> None:
    p = tmp_path / "latin1.toml"
    p.write_bytes('name = "x"\nprice_per_kg = 1.0\nkeywords = ["aimant fritt\u00e9"]\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as ei:
        read_toml(p, Scenario)
    off = p.read_bytes().index(b"\xe9")
    assert str(ei.value).startswith(f"{p}:3: not UTF-8: byte 0xe9 at byte offset {off}")


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "bom.toml"
    p.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert read_toml(p, Scenario).name == "base case"


def test_syntax_error_carries_tomllib_line() -> None:
    msg = _err(GOOD.replace("samples = 2000", "samples = = 2000"))
    assert msg.startswith("s.toml:2: not valid TOML:")


@pytest.mark.parametrize("text", [
    "a = " + "[" * 100_000 + "]" * 100_000,
    "a = " + "{b = " * 5000 + "1" + "}" * 5000,
    "[" + ".".join(["t"] * (MAX_DEPTH + 5)) + "]\nx = 1\n",
], ids=["arrays", "inline-tables", "dotted-table"])
def test_deep_nesting_is_refused_without_recursion_error(text: str) -> None:
    msg = _err(text)
    assert f"nested more than {MAX_DEPTH} levels deep" in msg and msg.startswith("s.toml:1")


def test_deep_json_is_refused_without_recursion_error(tmp_path: Path) -> None:
    p = tmp_path / "deep.json"
    p.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(ConfigError, match="nested more than"):
        read_json(p, Scenario)


def test_json_errors_name_line_and_key(tmp_path: Path) -> None:
    p = tmp_path / "s.json"
    p.write_text(json.dumps({"name": "x", "price_per_kg": 1.0, "licence": [{"licensee": "A", "start": 1800, "rate": 0}]}, indent=1))
    with pytest.raises(ConfigError) as ei:
        read_json(p, Scenario)
    line = p.read_text().splitlines().index('   "start": 1800,') + 1
    assert str(ei.value).startswith(f"{p}:{line}: licence[1].start: "), ei.value
    with pytest.raises(ConfigError, match=r"s.json:1: not valid JSON"):
        parse_json('{"a": }', "s.json")
    with pytest.raises(ConfigError, match="NaN is not allowed"):
        parse_json('{"a": NaN}', "s.json")


@pytest.mark.parametrize("text,key", [
    ('api_key = "abc123456"', "api_key"),
    ("token = 12345678901234", "token"),
    ('secrets = ["x"]\n[sources.epo_ops]\nclientSecret = ["abcdef123"]', "sources.epo_ops.clientSecret"),
    ('[sources.x]\nbase_url = "https://user:hunter22@ops.epo.org/3.2"', "sources.x.base_url"),
    ('headers = ["Authorization: Bearer abc.def.123456"]', "headers[1]"),
    ('[auth]\nuser = "me"', "auth"),
])
def test_key_like_secrets_are_refused_in_any_shape(text: str, key: str) -> None:
    msg = _err(text)
    assert f": {key}: looks like a secret" in msg and "environment" in msg
    assert "hunter22" not in msg and "abc123456" not in msg


def test_configured_secret_value_is_refused_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EPO_OPS_SECRET", "s3cr3t-value-XYZ")
    msg = _err('name = "x"\nprice_per_kg = 1.0\nkeywords = ["s3cr3t-value-XYZ"]\n')
    assert "s.toml:3: keywords[1]: looks like a secret" in msg and "s3cr3t-value-XYZ" not in msg


def test_env_var_names_and_keywords_are_not_secrets() -> None:
    doc = read_toml_dict_text('key_env = "EPO_OPS_KEY"\nkeywords = ["x"]\n')
    assert doc["key_env"] == "EPO_OPS_KEY"


def read_toml_dict_text(text: str) -> dict[str, object]:
    from patentscope.inputs import parse_toml
    return parse_toml(text, "t.toml")[0]


def test_special_and_missing_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a regular file"):
        read_toml_dict(tmp_path)
    with pytest.raises(ConfigError, match="No such file"):
        read_toml_dict(tmp_path / "nope.toml")
    link = tmp_path / "link.toml"
    link.symlink_to("/dev/null")
    with pytest.raises(ConfigError, match=r"resolves to /dev/null"):
        read_toml_dict(link)


def test_check_order_allows_open_ends_and_equal_values() -> None:
    check_order(None, 3, "a", "b")
    check_order(3, 3, "a", "b")
    with pytest.raises(ValueError, match="reversed"):
        check_order(3, 3, "a", "b", strict=True)
