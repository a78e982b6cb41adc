"""Persons vs organisations as holders (issue 15 item 1) on the embedded sample."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from holders_built import built_copy  # tests/holders_built.py


@pytest.fixture(scope="module")
def built(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(built_copy(sample_warehouse, tmp_path_factory, "kinds")))


def test_inventor_in_an_aggregator_assignee_field_is_no_holder(built: duckdb.DuckDBPyConnection) -> None:
    for pk, name in (("US-9837193", "KUNIYOSHI FUTOSHI"), ("US-9862030", "ONIMURA TAKUYA")):
        assert built.execute("SELECT count(*) FROM publication_holder_groups WHERE pub_key = ?", [pk]).fetchone() == (0,)
        flag = built.execute("SELECT name_as_written, flag FROM publication_holder_flags WHERE pub_key = ?", [pk]).fetchall()
        assert flag and flag[0][0] == name and "aggregator" in flag[0][1] and ":Assignee" in flag[0][1]


def test_inventor_who_is_an_official_applicant_stays_an_individual_holder(built: duckdb.DuckDBPyConnection) -> None:
    # hand-worked case: the same record as shown by an official source (an OPS applicant field)
    built.execute("BEGIN")
    try:
        built.execute("UPDATE parties SET source = 'epo_ops', source_field = 'applicant' "
                      "WHERE pub_key = 'US-9837193' AND role = 'original_assignee'")
        rows = built.execute("SELECT holder_kind, group_label FROM publication_holder_groups WHERE pub_key = 'US-9837193'").fetchall()
        flags = built.execute("SELECT count(*) FROM publication_holder_flags WHERE pub_key = 'US-9837193'").fetchone()
    finally:
        built.execute("ROLLBACK")
    assert rows == [("individual", "KUNIYOSHI FUTOSHI")] and flags == (0,)


def test_organisations_are_marked(built: duckdb.DuckDBPyConnection) -> None:
    kinds = dict(built.execute("SELECT holder_kind, count(*) FROM publication_holder_groups GROUP BY ALL").fetchall())
    assert set(kinds) == {"organisation"} and kinds["organisation"] > 90


def test_every_organisation_group_with_two_families_has_a_country(built: duckdb.DuckDBPyConnection) -> None:
    rows = built.execute(
        "SELECT group_id, any_value(group_country), count(DISTINCT p.family_id) FROM publication_holder_groups g "
        "JOIN publications p USING (pub_key) WHERE holder_kind = 'organisation' GROUP BY ALL").fetchall()
    assert [r for r in rows if r[2] >= 2 and r[1] is None] == []
    countries = {r[0]: r[1] for r in rows}
    assert countries["L:NITTO DENKO"] == "JP" and countries["L:VACUUMSCHMELZE"] == "DE"
    assert countries["L:FUJIAN JINLONG RARE EARTH"] == "CN" and countries["L:TOKIN"] == "JP"


def test_person_organisation_classifier_on_labelled_names() -> None:
    from patentscope.holders.evaluate import evaluate_kinds
    from patentscope.holders.normalize import normalize_name

    r = evaluate_kinds()
    assert r.n_names >= 340 and r.accuracy is not None and r.accuracy >= 0.97
    assert r.confusion["organisation"].get("person", 0) == 0  # no organisation read as a person
    for name, kind in (("HARADA AKIHIRO", "person"), ("Nakayama; Masatoshi (Saku, JP)", "person"),
                       ("Minowa, Takehisa, Shin-Etsu Chemical Co., Ltd., Takefu-shi, Fukui-ken (JP)", "person"),
                       ("三千雄 山下", "person"), ("엘지이노텍 주식회사", "organisation"),
                       ("煙台東星磁性材料株式有限公司", "organisation"), ("Haibo YI", "person"),
                       ("Shin Etsu Chemical Co Ltd", "organisation"), ("Tokin Corp", "organisation")):
        assert normalize_name(name).kind == kind, name


def test_person_organisation_on_patentsview_assignee_types() -> None:
    # independent labels: PatentsView's assignee_type (recorded PatentSearch responses)
    from patentscope.holders.evaluate import data_path, evaluate_kinds

    r = evaluate_kinds(data_path("eval_kinds_patentsview.csv"))
    assert r.n_names == 233 and r.confusion["person"] == {"person": 11}
    assert r.accuracy is not None and 0.95 <= r.accuracy < 1.0  # the errors are organisations read as persons
    assert all(gold == "organisation" and got == "person" for _n, gold, got, _e in r.errors)
