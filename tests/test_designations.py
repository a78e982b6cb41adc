"""EP designated states: read as the embedded real records print them, and used by the expiry
engine (no national row for a market an EP grant does not designate) and by the royalty model's
ep_validated_in copies (EPC Art. 2(2), 64(1), 79(1))."""

from __future__ import annotations

import csv
import datetime as dt

import polars as pl
import pytest
from click.testing import CliRunner

from patentscope.cli import main
from patentscope.ingest.sample import sample_folder
from patentscope.metrics.expiry import compute_expiry
from patentscope.metrics.expiry.warehouse import designations_frame
from patentscope.metrics.royalty import expand_ep
from patentscope.normalize.designations import parse_designated_states

D = dt.date


def sample_values() -> dict[str, str]:
    out = {}
    for name in ("ndfeb_records.csv", "ndfeb_records_more.csv"):
        with open(sample_folder() / name, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                if row.get("designated_states"):
                    out[row["publication_number"]] = row["designated_states"]
    return out


def test_every_printed_form_in_the_sample_reads_as_iso_codes():
    values = sample_values()
    assert len(values) >= 10  # the embedded sample's EP grants
    for text in values.values():
        codes = parse_designated_states(text)
        assert codes and all(len(c) == 2 and c.isupper() for c in codes), text
        assert len(codes) == len(set(codes))
    # the three forms, as printed
    assert parse_designated_states("DE FR NL (per B001EP tag)") == ["DE", "FR", "NL"]
    assert parse_designated_states("AT BE CH CY DE DK ES FI FR GB GR IE IT LI LU MC NL PT SE; extension AL LT LV MK RO SI")[-6:] \
        == ["AL", "LT", "LV", "MK", "RO", "SI"]
    assert parse_designated_states("DE FR GB IT NL SE") == ["DE", "FR", "GB", "IT", "NL", "SE"]
    assert parse_designated_states("not shown") == [] and parse_designated_states(None) == []


def test_frame_joins_every_source_list():
    fv = pl.DataFrame({"pub_key": ["EP-1", "EP-1", "EP-2", "EP-3"],
                       "field": ["designated_states", "designated_states", "designated_states", "title"],
                       "value": ["DE FR", "FR GB (per B001EP tag)", "none here", "DE"]})
    got = {k: v for k, v in designations_frame(fv).iter_rows()}
    assert got == {"EP-1": ["DE", "FR", "GB"], "EP-2": None}


def _bundle(key: str) -> dict:
    return {"pub_key": key, "pub_number": f"{key}-B1", "country": "EP", "doc_number": key[3:], "kind": "B1",
            "kinds_seen": ["B1"], "filing_date": D(2007, 1, 5), "grant_date": D(2012, 5, 6)}


def test_a_market_the_grant_does_not_designate_gets_no_national_row_and_the_log_says_why():
    pubs = pl.DataFrame([_bundle("EP-T1"), _bundle("EP-T2")], schema_overrides={"kinds_seen": pl.List(pl.String)})
    des = pl.DataFrame({"pub_key": ["EP-T1"], "designated": [["DE", "FR", "GB"]]})
    ev = pl.DataFrame([{"pub_key": "EP-T1", "jurisdiction": "NL", "event_date": D(2015, 3, 1), "event_code": "PG25",
                        "effect": "lapse", "source": "test"}])
    out = compute_expiry(pubs, None, ev, None, at=D(2020, 1, 1), today=D(2026, 11, 28), markets=["DE", "IT"],
                         designations=des)
    rows = {(r["pub_key"], r["jurisdiction"]): r for r in out.iter_rows(named=True)}
    # EP-T1 designates DE, not IT; the NL event is evidence and keeps its row; EP-T2 shows no designations
    assert set(rows) == {("EP-T1", "EP"), ("EP-T1", "DE"), ("EP-T1", "NL"), ("EP-T2", "EP"), ("EP-T2", "DE"), ("EP-T2", "IT")}
    bundle_log = "\n".join(rows[("EP-T1", "EP")]["calculation_log"])
    assert "designated states (EP grant, INID 84, as the record prints them): DE FR GB" in bundle_log
    assert "markets not designated: IT: no national row" in bundle_log and "EPC Art. 2(2), 64(1), 79(1)" in bundle_log
    de = rows[("EP-T1", "DE")]
    assert de["status"] == "unknown" and "designated in the EP grant" in "\n".join(de["calculation_log"])
    assert "designated" not in "\n".join(rows[("EP-T2", "EP")]["calculation_log"])


def test_ep_validated_in_copies_only_to_designated_markets():
    pf = pl.DataFrame({"family_id": ["F1", "F2"], "holder_group": ["A", "A"], "jurisdiction": ["EP", "EP"],
                       "segment": ["sintered", "sintered"], "in_force_from": [None, None], "in_force_to": [None, None],
                       "weight": [1.0, 1.0], "designated": [["DE", "FR"], None]},
                      schema_overrides={"in_force_from": pl.Date, "in_force_to": pl.Date})
    out = expand_ep(pf, ["DE", "IT"])
    got = sorted(out.filter(pl.col("jurisdiction") != "EP").select("family_id", "jurisdiction").iter_rows())
    assert got == [("F1", "DE"), ("F2", "DE"), ("F2", "IT")]  # F1 does not designate IT; F2 shows no list


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory, sample_warehouse):
    from analyzed_sample import analyzed_sample
    return analyzed_sample(tmp_path_factory, sample_warehouse)


def test_cli_says_a_real_grant_does_not_designate_the_market(analyzed):
    # EP 1 895 551 B1 (embedded real record) designates DE FR GB
    r = CliRunner().invoke(main, ["--warehouse", str(analyzed), "expiry", "EP1895551B1", "--market", "IT"])
    assert r.exit_code != 0 and "does not designate IT (it designates DE FR GB)" in r.output
    r = CliRunner().invoke(main, ["--warehouse", str(analyzed), "expiry", "EP1895551B1", "--market", "DE", "--json"])
    assert r.exit_code == 0, r.output
    assert "designated in the EP grant" in r.output
