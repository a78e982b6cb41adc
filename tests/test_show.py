"""``patentscope show NUMBER``: the whole record of one publication, on sample numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from analyzed_sample import analyzed_sample
from click.testing import CliRunner

from patentscope.cli import main
from patentscope.record import build_record, number_pattern
from patentscope.warehouse.connection import reader


@pytest.fixture(scope="module")
def wh(tmp_path_factory, sample_warehouse) -> Path:
    return analyzed_sample(tmp_path_factory, sample_warehouse)


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_show_us4770723_prints_the_whole_record(wh):
    r = run("--warehouse", str(wh), "show", "US4770723A")
    assert r.exit_code == 0, r.output
    out = r.output
    for heading in ("Bibliographic data", "Holders over time", "Family", "Classification", "Citations", "Expiry",
                    "Licences and litigation", "Links"):
        assert heading in out, heading
    # the lineage chain of the original assignee, each step with its line in lineage.csv
    assert "Sumitomo Special Metals Co. Ltd. → NEOMAX Co., Ltd." in out
    assert re.search(r"NEOMAX Co\., Ltd\. merged into Hitachi Metals, Ltd\. on 2007-04-01 \(lineage\.csv:\d+\)", out)
    assert "group Proterial, Ltd." in out
    # its expiry with the calculation log, a citation from the warehouse, the litigation fact
    assert "rule us_utility" in out and "status expired by term" in out
    assert "← US-5110374" in out
    assert "[litigation] L9" in out
    # canonical links; the proxy page it was transcribed from is kept as source, with a warning
    assert "Google Patents: https://patents.google.com/patent/US4770723A/en" in out
    assert "USPTO Patent Public Search: https://ppubs.uspto.gov/pubwebapp/external.html?q=4770723.pn." in out
    assert "transcribed page (source): http://veesta.com/" in out
    assert "warning: web proxy or mirror on veesta.com wrapping https://patents.google.com/patent/US4770723A/en" in out


def test_show_marks_source_disagreements(wh):
    with reader(wh) as con:
        rec = build_record(con, "US-4770723")
    assert "original_assignee" in rec["disagreements"] and "status_as_shown" in rec["disagreements"]
    f = {x["field"]: x for x in rec["fields"]}["status_as_shown"]
    assert {v["value"] for v in f["values"]} == {"Expired - Lifetime", "Fee status: Paid"}
    assert [v["value"] for v in f["values"] if v["chosen"]] == ["Expired - Lifetime"]
    assert {v["source_record"] for v in f["values"]} == {"NDW0001", "NDW1040"}
    assert not {x["field"]: x for x in rec["fields"]}["title"]["disagreement"]


def test_show_json_and_html(wh, tmp_path):
    r = run("--warehouse", str(wh), "show", "EP1005050A3", "--json")
    assert r.exit_code == 0, r.output
    rec = json.loads(r.output)
    assert rec["pub_key"] == "EP-1005050"
    labels = {ln["label"]: ln for ln in rec["links"]}
    assert labels["European Patent Register"]["url"] == "https://register.epo.org/application?number=EP99123531&lng=en"
    assert "kind" in rec["disagreements"]
    page = tmp_path / "rec.html"
    r = run("--warehouse", str(wh), "-q", "show", "US4770723A", "--html", str(page))
    assert r.exit_code == 0 and r.output == ""
    html = page.read_text(encoding="utf-8")
    assert 'id="rec-US-4770723"' in html and "Sumitomo Special Metals Co. Ltd. → NEOMAX Co., Ltd." in html
    assert "default-src 'none'" in html and "<script" not in html


def test_show_unknown_number_and_missing_warehouse(wh, tmp_path):
    r = run("--warehouse", str(wh), "show", "US1234567A")
    assert r.exit_code == 1 and "no publication matching" in r.output
    missing = tmp_path / "nope.duckdb"
    r = run("--warehouse", str(missing), "show", "US4770723A")
    assert r.exit_code == 3 and "no warehouse at" in r.output
    assert not missing.exists()


def test_number_pattern_finds_numbers_as_written():
    pat = re.compile(number_pattern("4770723") or "")
    for text in ("US 4,770,723", "U.S. Pat. No. 4.770.723", "US4770723A"):
        assert pat.search(text), text
    assert not pat.search("147707230") and number_pattern("12") is None


def test_show_before_analyze_says_what_is_missing(sample_warehouse):
    r = run("--warehouse", str(sample_warehouse), "show", "JP2015023285A")
    assert r.exit_code == 0, r.output
    assert "none resolved (run `patentscope analyze`" in r.output and "not computed (run `patentscope analyze`)" in r.output
    assert "J-PlatPat: https://www.j-platpat.inpit.go.jp/c1801/PU/JP-2015-023285/11/ja" in r.output
    assert "cloudfrontnetl.store" in r.output and "warning: web proxy or mirror" in r.output
