"""Holder names: normalization, clustering, lineage over time, overrides, build, evaluation, CLI."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from patentscope.cli import main
from patentscope.errors import ConfigError, WarehouseError
from patentscope.holders.build import build_model, refresh
from patentscope.holders.cluster import Link, cluster, word_relation
from patentscope.holders.evaluate import evaluate
from patentscope.holders.lineage import Lineage, builtin_lineage, load_lineage_lines
from patentscope.holders.normalize import inventor_keys, normalize_name, split_holders
from patentscope.holders.overrides import Overrides, find_overrides, parse_overrides
from patentscope.warehouse import migrations
from patentscope.warehouse.query import load_queries, run_read_only

D = dt.date.fromisoformat


# ---------------------------------------------------------------------------------------------
# normalization


@pytest.mark.parametrize("a,b", [
    ("TDK CORP", "TDK Corporation (Tokyo, JP)"),
    ("Tdk Corp", "ＴＤＫ株式会社"),
    ("PROTERIAL, LTD., Tokyo (JP)", "Proterial Ltd"),
    ("HITACHI METALS, LTD. Minato-ku, Tokyo (JP)", "Hitachi Metals, Ltd."),
    ("Showa Denko K.K.", "SHOWA DENKO KK (JP)"),
    ("Shin-Etsu Chemical Co., Ltd. Tokyo 100-0004 (JP)", "Shin Etsu Chemical Co Ltd"),
    ("GENERAL MOTORS CORPORATION Detroit Michigan 48202 (US)", "General Motors Corporation, Detroit, Mich."),
    ("Vacuumschmelze GmbH & Co. KG", "VACUUMSCHMELZE GMBH"),
    ("Kabushiki Kaisha Toshiba", "TOSHIBA KK"),
    ("㈱日立製作所", "株式会社日立製作所"),
])
def test_variants_share_a_normalized_name(a, b):
    ha, hb = normalize_name(a), normalize_name(b)
    assert ha.resolved and hb.resolved
    assert ha.key == hb.key


def test_what_normalization_keeps():
    h = normalize_name("Shin-Etsu Chemical Co., Ltd. Chiyoda-ku, Tokyo (JP)")
    assert (h.normalized, h.legal_form, h.country, h.clean_name) == ("SHIN ETSU CHEMICAL", "CO LTD", "JP", "Shin-Etsu Chemical Co., Ltd.")
    assert normalize_name("住友特殊金属株式会社").key == "住友特殊金属"
    assert normalize_name("엘지이노텍 주식회사").legal_form == "주식회사"
    assert normalize_name("General Motors Corporation (Detroit, MI)").country == "US"   # a US state, not a country
    amb = normalize_name("Magnequench International, Inc. (Anderson, IN)")
    assert amb.country is None and "ambiguous" in (amb.country_evidence or "")           # Indiana or India
    assert normalize_name("煙台東星磁性材料株式有限公司 (識別番号 310005618)").key == "煙台東星磁性材料"


def test_persons_told_from_organisations():
    assert normalize_name("HIROSAWA SATOSHI (JP)").kind == "person"
    assert normalize_name("SUMITOMO SPEC METALS (JP)").kind == "organisation"
    assert normalize_name("KUNIYOSHI FUTOSHI").kind == "person"  # SURNAME GIVENNAME shape (issue 15 item 1)
    assert normalize_name("KUNIYOSHI FUTOSHI", inventors=inventor_keys(["Futoshi Kuniyoshi"])).kind == "person"
    assert normalize_name("General Motors").kind == "organisation"


@pytest.mark.parametrize("bad", ["", "   ", None, "...", "-- ; --", "(JP)", "JP", "Japan", "x" * 300, "TDK Соrp",
                                 "ＮＥＣトーキン株式会社", "Co., Ltd.", "株式会社", "Individual", "12345"])
def test_bad_input_is_unresolved_and_never_merged(bad):
    h = normalize_name(bad)
    assert h.kind == "unresolved" and h.reason and h.key is None
    twin = normalize_name(bad)
    cl = cluster([h, twin, normalize_name("TDK Corp")])
    assert cl.entity_of.get(bad or "") is None


def test_split_holders():
    assert split_holders("HIKIFUNE KK; TDK Corp") == ["HIKIFUNE KK", "TDK Corp"]
    assert split_holders("General Motors Corporation (Detroit, MI); General Motors Corporation (Detroit, MI)") == \
        ["General Motors Corporation (Detroit, MI)"]
    assert split_holders("A | B") == ["A", "B"]
    assert split_holders("") == [""]


# ---------------------------------------------------------------------------------------------
# clustering


def test_rules_and_near_misses_are_explained():
    names = ["SUMITOMO SPEC METALS (JP)", "Sumitomo Special Metals Co Ltd", "Mitsubishi Metal Corp",
             "Mitsubishi Materials Corp", "Yantai Shougang Magnetic Materials Inc", "Yantai Dongxing Magnetic Materials Inc",
             "Baotou Tianhe Magent Material Technology Co Ltd", "Baotou Tianhe Magnet Material Technology Co Ltd",
             "MINEBEA MITSUMI INC", "MINEBEAMITSUMI INC", "Hitachi, Ltd.", "Hitachi Metals Ltd"]
    cl = cluster([normalize_name(n) for n in names])
    e = cl.entity_of
    assert e["SUMITOMO SPEC METALS (JP)"] == e["Sumitomo Special Metals Co Ltd"]
    assert cl.joined_by["SUMITOMO SPEC METALS (JP)"] or cl.joined_by["Sumitomo Special Metals Co Ltd"]
    assert e["Baotou Tianhe Magent Material Technology Co Ltd"] == e["Baotou Tianhe Magnet Material Technology Co Ltd"]
    assert e["MINEBEA MITSUMI INC"] == e["MINEBEAMITSUMI INC"]
    for a, b in [("Mitsubishi Metal Corp", "Mitsubishi Materials Corp"), ("Hitachi, Ltd.", "Hitachi Metals Ltd"),
                 ("Yantai Shougang Magnetic Materials Inc", "Yantai Dongxing Magnetic Materials Inc")]:
        assert e[a] != e[b]
    rules = {ed.rule for ed in cl.edges if ed.accepted}
    assert {"abbreviation", "typo", "same-letters"} <= rules
    near = [ed for ed in cl.edges if not ed.accepted and "SHOUGANG" in (ed.reason + ed.a + ed.b).upper()]
    assert near and near[0].score >= 0.5


def test_word_relation():
    assert word_relation("SPEC", "SPECIAL") == "abbreviation"
    assert word_relation("MFG", "MANUFACTURING") == "abbreviation"
    assert word_relation("MAGENT", "MAGNET") == "typo"
    assert word_relation("METAL", "MATERIALS") is None
    assert word_relation("ZHONGKE", "ZHONGHE") is None          # a different pinyin syllable is a different name
    assert word_relation("STEEL", "STEELWORKS") is None


def test_override_merge_wins_and_split_blocks():
    names = [normalize_name(n) for n in ["Fujian Jinlong Rare Earth Co ltd", "Fujian Golden Dragon Rare Earth Co Ltd",
                                          "TDK Corp", "TDK CORPORATION"]]
    cl = cluster(names, links=[Link(("Fujian Jinlong Rare Earth Co ltd", "Fujian Golden Dragon Rare Earth Co Ltd"),
                                    "override:merge", "checked")],
                 splits=[(("TDK Corp", "TDK CORPORATION"), "test")])
    assert cl.entity_of["Fujian Jinlong Rare Earth Co ltd"] == cl.entity_of["Fujian Golden Dragon Rare Earth Co Ltd"]
    assert cl.entity_of["TDK Corp"] != cl.entity_of["TDK CORPORATION"]
    assert any("split" in w for w in cl.warnings)


# ---------------------------------------------------------------------------------------------
# lineage


@pytest.mark.parametrize("day,holder,group,confirmed", [
    ("2004-03-31", "Sumitomo Special Metals Co. Ltd.", "Sumitomo Special Metals Co. Ltd.", True),
    ("2004-04-01", "NEOMAX Co., Ltd.", "Hitachi Metals, Ltd.", False),
    ("2007-03-31", "NEOMAX Co., Ltd.", "Hitachi Metals, Ltd.", False),
    ("2007-04-01", "Hitachi Metals, Ltd.", "Hitachi Metals, Ltd.", True),
    ("2023-01-03", "Hitachi Metals, Ltd.", "Hitachi Metals, Ltd.", True),
    ("2023-01-04", "Proterial, Ltd.", "Proterial, Ltd.", False),
])
def test_sumitomo_special_metals_over_time(day, holder, group, confirmed):
    at = builtin_lineage().at(normalize_name("Sumitomo Special Metals Co Ltd").key or "", D(day))
    assert (at.holder_name, at.group_name, at.confirmed) == (holder, group, confirmed)
    assert at.group_id == ("L:SUMITOMO SPECIAL METALS" if day < "2004-04-01" else "L:HITACHI METALS")


@pytest.mark.parametrize("day,group", [("1990-06-01", "General Motors Corporation"),
                                       ("2000-06-01", "Magnequench International, Inc."),
                                       ("2008-06-01", "Neo Material Technologies Inc."), ("2014-06-01", "Molycorp, Inc."),
                                       ("2020-06-01", "Neo Performance Materials")])
def test_magnequench_over_time(day, group):
    assert builtin_lineage().at("MAGNEQUENCH INTERNATIONAL", D(day)).group_name == group


def test_later_name_asked_about_an_earlier_date_and_aliases():
    lin = builtin_lineage()
    assert lin.at("PROTERIAL", D("1999-01-01")).holder_name == "Hitachi Metals, Ltd."
    assert lin.at("住友特殊金属", D("2010-01-01")).group_name == "Hitachi Metals, Ltd."
    assert lin.at("SHOWA DENKO", D("2023-06-01")).group_name == "Resonac Holdings Corporation"
    assert lin.country_of("PROTERIAL") == "JP"


def test_every_lineage_line_has_a_source_and_unconfirmed_are_marked():
    lin = builtin_lineage()
    assert lin.lines and all(ln.source for ln in lin.lines)
    proterial = [ln for ln in lin.lines if ln.relation == "renamed_to" and ln.object.startswith("Proterial")]
    assert proterial and not proterial[0].confirmed and proterial[0].valid_from == D("2023-01-04")


@pytest.mark.parametrize("row,msg", [
    ("A,renamed_to,B,2004-04-01,,yes,,", "needs a source"),
    ("A,bought,B,2004-04-01,,yes,x,", "relation"),
    ("A,renamed_to,B,04/01/2004,,yes,x,", "not a date"),
    ("A,renamed_to,B,,,yes,x,", "needs valid_from"),
    ("A,country,Japan,,,yes,x,", "two-letter"),
    ("A,controlled_by,B,2005,2004,yes,x,", "not after"),
])
def test_bad_lineage_lines_are_refused(tmp_path, row, msg):
    p = tmp_path / "l.csv"
    p.write_text("subject,relation,object,valid_from,valid_to,confirmed,source,note\n" + row + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=msg):
        load_lineage_lines(p)


# ---------------------------------------------------------------------------------------------
# overrides


def test_overrides_parse_and_refuse_mistakes(tmp_path, monkeypatch):
    ov = parse_overrides('[[merge]]\nnames = ["A", "B"]\n[[set_group]]\nname = "A"\ngroup = "G"\nfrom = 2004-04-01\n'
                         '[[set_country]]\nname = "A"\ncountry = " jp "\n')
    assert ov.count == 3 and ov.set_group[0].valid_from == D("2004-04-01") and ov.set_country[0][1] == "JP"
    for bad, msg in [("[[merge]]\nnames = [\"A\"]", r"<overrides>:2: merge\[1\]\.names: .*at least 2"),
                     ("[[bogus]]\nx = 1", r"<overrides>:1: bogus: unknown key \(allowed here: merge, split"),
                     ("[[set_kind]]\nname = \"A\"\nkind = \"robot\"", r":3: set_kind\[1\]\.kind: Input should be 'person'"),
                     ("not toml [", "not valid TOML"),
                     ("[[merge]]\nnames = [\"A\", \"B\"]\n[[split]]\nnames = [\"A\", \"B\"]", "both merged and split"),
                     ("[[set_country]]\nname = \"A\"\ncountry = \"jpn\"", r":3: set_country\[1\]\.country: .*two-letter"),
                     ("[[set_group]]\nname = \"A\"\ngroup = \"G\"\nfrom = 2005-01-01\nto = 2004-01-01",
                      r":5: set_group\[1\]\.to: .*reversed"),
                     ("[merge]\nnames = [\"A\", \"B\"]", r"merge: must be an array")]:
        with pytest.raises(ConfigError, match=msg):
            parse_overrides(bad)
    wh = tmp_path / "w.duckdb"
    monkeypatch.delenv("PATENTSCOPE_HOLDER_OVERRIDES", raising=False)
    assert find_overrides(None, wh) is None
    (tmp_path / "holder_overrides.toml").write_text("", encoding="utf-8")
    assert find_overrides(None, wh) == tmp_path / "holder_overrides.toml"
    monkeypatch.setenv("PATENTSCOPE_HOLDER_OVERRIDES", str(tmp_path / "env.toml"))
    assert find_overrides(None, wh) == tmp_path / "env.toml"
    assert find_overrides(Path("x.toml"), wh) == Path("x.toml")


# ---------------------------------------------------------------------------------------------
# build


PARTIES = [("US-1", "original_assignee", "Sumitomo Special Metals Co Ltd", None),
           ("US-1", "current_assignee", "Proterial Ltd", None),
           ("US-2", "original_assignee", "SUMITOMO SPEC METALS (JP)", "JP"),
           ("US-2", "original_assignee", "HIROSAWA SATOSHI (JP)", "JP"),
           ("US-3", "applicant", "HIKIFUNE KK; TDK Corp", None),
           ("US-4", "original_assignee", "TDK CORPORATION", None),
           ("US-5", "original_assignee", "Individual", None),
           ("US-6", "original_assignee", "ONIMURA TAKUYA", None)]
INVENTORS = [("US-2", "HIROSAWA SATOSHI (JP)"), ("US-6", "ONIMURA TAKUYA")]


def _load(con):
    for i, (pub, role, name, country) in enumerate(PARTIES + [(p, "inventor", n, None) for p, n in INVENTORS]):
        con.execute("INSERT INTO parties VALUES ($p, $r, $s, $n, $c, 'test', NULL)",
                    {"p": pub, "r": role, "s": i, "n": name, "c": country}).fetchall()


def _dump(con):
    return [con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("holder_names", "holder_entities", "holder_groups", "holder_match_evidence")]


def test_refresh_is_idempotent_and_groups_at_any_date(mem_con, monkeypatch):
    monkeypatch.delenv("PATENTSCOPE_HOLDER_OVERRIDES", raising=False)
    _load(mem_con)
    stats = refresh(mem_con)
    first = _dump(mem_con)
    refresh(mem_con)
    assert _dump(mem_con) == first
    assert stats.n_unresolved == 1 and stats.n_names == 8
    q = "SELECT holder_group, share FROM holders_at($d) WHERE name_as_written = $n ORDER BY part_seq"
    assert mem_con.execute(q, {"d": D("2000-01-01"), "n": "Proterial Ltd"}).fetchall() == [("Hitachi Metals, Ltd.", 1.0)]
    assert mem_con.execute(q, {"d": D("2005-01-01"), "n": "SUMITOMO SPEC METALS (JP)"}).fetchall() == [("Hitachi Metals, Ltd.", 1.0)]
    assert mem_con.execute(q, {"d": D("2024-01-01"), "n": "Sumitomo Special Metals Co Ltd"}).fetchall() == [("Proterial, Ltd.", 1.0)]
    assert [r[1] for r in mem_con.execute(q, {"d": D("2024-01-01"), "n": "HIKIFUNE KK; TDK Corp"}).fetchall()] == [0.5, 0.5]
    kinds = dict(mem_con.execute("SELECT part_as_written, kind FROM holder_names").fetchall())
    assert kinds["ONIMURA TAKUYA"] == "person" and kinds["HIROSAWA SATOSHI (JP)"] == "person"
    assert mem_con.execute("SELECT count(*) FROM holders WHERE name_as_written = 'Individual' AND holder_group IS NULL").fetchall() == [(1,)]
    # every name joined to another says how
    assert mem_con.execute("SELECT count(*) FROM holder_names WHERE entity_id IS NOT NULL AND match_rule IS NULL").fetchall() == [(0,)]


def test_overrides_survive_rebuilds_and_win(mem_con, tmp_path):
    _load(mem_con)
    ov = tmp_path / "o.toml"
    ov.write_text('[[merge]]\nnames = ["HIKIFUNE KK", "TDK Corp"]\nreason = "test"\n'
                  '[[rename]]\nname = "TDK Corp"\nto = "TDK Corporation"\n'
                  '[[set_group]]\nname = "TDK CORPORATION"\ngroup = "Test Group"\nfrom = 2010-01-01\n'
                  '[[set_kind]]\nname = "Individual"\nkind = "unresolved"\n', encoding="utf-8")
    for _ in range(2):
        refresh(mem_con, overrides_path=ov)
        rows = mem_con.execute("SELECT DISTINCT holder, holder_group FROM holders_at(DATE '2015-01-01') "
                               "WHERE name_as_written = 'HIKIFUNE KK; TDK Corp'").fetchall()
        assert rows == [("TDK Corporation", "Test Group")]
        before = mem_con.execute("SELECT DISTINCT holder_group FROM holders_at(DATE '2000-01-01') "
                                 "WHERE name_as_written = 'TDK CORPORATION'").fetchall()
        assert before == [("TDK Corporation",)]


def test_failed_rebuild_leaves_previous_tables(mem_con, monkeypatch):
    _load(mem_con)
    refresh(mem_con)
    before = _dump(mem_con)
    import patentscope.holders.build as b

    real = b.build_model

    def broken(*a, **k):
        m = real(*a, **k)
        m.groups = m.groups.with_columns(m.groups["entity_id"].map_elements(lambda _: None, return_dtype=m.groups["entity_id"].dtype))
        return m

    monkeypatch.setattr(b, "build_model", broken)
    with pytest.raises(WarehouseError, match="rolled back"):
        refresh(mem_con)
    assert _dump(mem_con) == before


def test_refresh_needs_the_migration():
    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE parties (x INTEGER)").fetchall()
    with pytest.raises(WarehouseError, match="migrate"):
        refresh(con)


def test_build_model_is_pure():
    m = build_model([("P", "applicant", "TDK Corp", None)], [], Lineage([]), Overrides())
    assert m.names.height == 1 and m.entities["holder_name"].to_list() == ["TDK Corp"]


def test_sample_warehouse_build_and_queries(sample_warehouse, tmp_path):
    path = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, path)
    con = duckdb.connect(str(path))
    migrations.apply(con)
    stats = refresh(con)
    assert stats.n_entities < stats.n_parts and stats.n_unresolved >= 1
    groups = dict(con.execute("SELECT part_as_written, holder_group FROM holders_at(DATE '2010-01-01')").fetchall())
    assert groups["Sumitomo Special Metals Co Ltd"] == groups["Neomax Co Ltd"] == groups["Proterial Ltd"] == "Hitachi Metals, Ltd."
    assert groups["TDK CORP"] == groups["TDK Corporation (Tokyo, JP)"]
    con.close()
    from patentscope.warehouse.connection import reader

    with reader(path) as ro:
        for q in load_queries().values():
            if q.name.startswith("holders_"):
                assert run_read_only(ro, q.sql, q.bind({}) or None).height > 0, q.name


# ---------------------------------------------------------------------------------------------
# evaluation and CLI


def test_evaluation_meets_the_goal():
    r = evaluate("ndfeb")
    assert r.n_names >= 90 and r.n_positive_pairs >= 80
    assert r.precision is not None and r.precision >= 0.99
    assert r.f1 is not None and r.f1 >= 0.97
    no_alias = evaluate("ndfeb", use_aliases=False)
    assert no_alias.precision == 1.0 and (no_alias.f1 or 0) >= 0.97
    assert evaluate("epo-ops").precision == 1.0


def test_cli(tmp_path, monkeypatch, sample_warehouse):
    monkeypatch.delenv("PATENTSCOPE_HOLDER_OVERRIDES", raising=False)
    runner = CliRunner()
    nowh = ["--warehouse", str(tmp_path / "none.duckdb")]
    r = runner.invoke(main, [*nowh, "holders", "resolve", "Sumitomo Special Metals Co., Ltd.", "--date", "2005-06-01"])
    assert r.exit_code == 0, r.output
    assert "NEOMAX Co., Ltd." in r.output and "Hitachi Metals, Ltd." in r.output and "unconfirmed" in r.output
    r = runner.invoke(main, [*nowh, "holders", "resolve", "(JP)"])
    assert r.exit_code == 0 and "UNRESOLVED" in r.output
    r = runner.invoke(main, [*nowh, "holders", "resolve", "TDK", "--date", "2020-13-01"])
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output
    r = runner.invoke(main, [*nowh, "holders", "evaluate", "--set", "ndfeb"])
    assert r.exit_code == 0 and "precision 1.0000" in r.output
    r = runner.invoke(main, [*nowh, "holders", "build"])
    assert r.exit_code == 3
    wh = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, wh)
    r = runner.invoke(main, ["--warehouse", str(wh), "holders", "build"])
    assert r.exit_code == 0 and "holders" in r.output
    r = runner.invoke(main, ["--warehouse", str(wh), "holders", "resolve", "TDK Corporation", "--json"])
    assert r.exit_code == 0 and '"source": "warehouse"' in r.output and '"holder": "TDK Corp"' in r.output
