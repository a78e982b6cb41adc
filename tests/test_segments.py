import polars as pl

from patentscope.metrics.segments import (
    ClassifierSettings,
    assign,
    assign_by_rules,
    evaluate_classifier,
    load_classifier_settings,
    load_segments,
)


def test_rules_cpc_first_then_keywords():
    segs = load_segments()
    pubs = pl.DataFrame({"pub_key": ["P1", "P2", "P3"],
                         "title": ["R-T-B based sintered magnet", "Method of grain boundary diffusion of Tb", "A toaster"],
                         "abstract": [None, None, None]})
    syms = pl.DataFrame({"pub_key": ["P1", "P1"], "symbol": ["H01F41/0293", "C22C38/005"]})
    r = assign_by_rules(pubs, syms, segs).sort("pub_key", "segment")
    got = [(a, b, c) for a, b, c in r.select("pub_key", "segment", "decided_by").iter_rows()]
    # P1 has CPC: decided by CPC only, keywords in its title are not consulted
    assert got == [("P1", "alloy_composition", "cpc"), ("P1", "grain_boundary_diffusion", "cpc"),
                   ("P2", "grain_boundary_diffusion", "keyword")]


def test_every_publication_gets_a_row_and_a_way():
    pubs = pl.DataFrame({"pub_key": ["P1", "P2"], "title": ["Bonded magnet", None], "abstract": [None, None]})
    out = assign(pubs, pl.DataFrame({"pub_key": [], "symbol": []}, schema={"pub_key": pl.Utf8, "symbol": pl.Utf8}))
    assert sorted(out.select("pub_key", "segment", "decided_by").iter_rows()) == [
        ("P1", "bonded", "keyword"), ("P2", "unclassified", "unclassified")]


def test_classifier_on_real_sample_is_precision_gated(sample_con):
    pubs = sample_con.sql("SELECT pub_key, title, abstract FROM publications WHERE in_landscape").pl()
    syms = sample_con.sql("SELECT pub_key, symbol FROM classifications").pl()
    cs = load_classifier_settings()
    rules = assign_by_rules(pubs, syms, load_segments())
    ev = evaluate_classifier(pubs, rules, cs)
    assert set(ev.filter(pl.col("used"))["segment"]) <= set(ev.filter(pl.col("precision") >= cs.min_precision)["segment"])
    out = assign(pubs, syms)
    used = set(ev.filter(pl.col("used"))["segment"])
    assert set(out.filter(pl.col("decided_by") == "classifier")["segment"]) <= used
    assert out["pub_key"].n_unique() == pubs.height
    # reproducible
    assert out.equals(assign(pubs, syms))


def test_no_trainable_segment_means_no_classifier():
    pubs = pl.DataFrame({"pub_key": ["P1", "P2"], "title": ["x", "y"], "abstract": [None, None]})
    syms = pl.DataFrame({"pub_key": ["P1"], "symbol": ["H01F1/0577"]})
    ev = evaluate_classifier(pubs, assign_by_rules(pubs, syms, load_segments()), ClassifierSettings())
    assert ev.filter(pl.col("used")).height == 0


def _rules_by_loop(pubs: pl.DataFrame, symbols: pl.DataFrame, segments: list) -> list[tuple]:
    """The rules as a plain Python loop (the former implementation): an independent check of the
    vectorised assign_by_rules."""
    from patentscope.normalize.classifications import matches_code

    by_pub: dict[str, list[str]] = {}
    for pk, sym in symbols.select("pub_key", "symbol").iter_rows():
        by_pub.setdefault(pk, []).append(sym)
    rows = []
    for pk, title, abstract in pubs.select("pub_key", "title", "abstract").iter_rows():
        hits = []
        for seg in segments:
            sym = next((x for x in by_pub.get(pk, []) for c in seg.cpc if matches_code(x, c)), None)
            if sym:
                hits.append((pk, seg.id, "cpc", sym))
        if not hits:
            for seg in segments:
                rx = seg.keyword_re()
                if rx and (m := rx.search(f"{title or ''} {abstract or ''}")):
                    hits.append((pk, seg.id, "keyword", m.group(0)))
        rows.extend(hits)
    return sorted(rows)


def test_vectorised_rules_equal_the_loop_on_the_real_sample_and_edge_cases(sample_con):
    segs = load_segments()
    pubs = sample_con.sql("SELECT pub_key, title, abstract FROM publications").pl()
    syms = sample_con.sql("SELECT pub_key, symbol FROM classifications ORDER BY pub_key, scheme, position").pl()
    edge = pl.DataFrame({"pub_key": ["E1", "E2", "E3", "E4", "E5"],
                         "title": ["Non-sintered body", "SINTERED MAGNET", "x", None, "pre-recycling; then recycling"],
                         "abstract": [None, None, "hot pressed", "melt-spun ribbon", None]})
    esyms = pl.DataFrame({"pub_key": ["E3", "E3"], "symbol": ["H01F1/05771", "H01F1/057"]})
    for p, s in ((pubs, syms), (edge, esyms)):
        got = sorted(assign_by_rules(p, s, segs).select("pub_key", "segment", "decided_by", "evidence").iter_rows())
        assert got == _rules_by_loop(p, s, segs)


def test_model_is_cached_and_analyze_only_predicts(tmp_path, sample_con):
    import duckdb

    from patentscope.metrics import segments as sg
    from patentscope.warehouse import migrations

    wh = tmp_path / "w.duckdb"
    con = duckdb.connect(str(wh))
    migrations.apply(con)
    for t in ("publications", "classifications"):
        con.register("_src", sample_con.sql(f"SELECT * FROM {t}").pl())
        con.execute(f"INSERT INTO {t} SELECT * FROM _src")
        con.unregister("_src")
    first = sg.refresh(con)
    assert first["model"] == "fitted"
    assert con.execute("SELECT count(*) FROM segment_models").fetchall()[0][0] == 1
    rows1 = con.sql("SELECT * FROM publication_segments ORDER BY ALL").fetchall()
    second = sg.refresh(con)
    assert second["model"] == "cached"
    assert con.sql("SELECT * FROM publication_segments ORDER BY ALL").fetchall() == rows1  # same predictions from the cache
    # the cached arrays predict what scikit-learn's fitted pipeline predicts
    pubs, syms = sg._inputs(con, True)
    rules = assign_by_rules(pubs, syms, load_segments())
    model = sg.cached_model(con, "landscape", sg.rules_version(load_segments(), load_classifier_settings()))[0]
    if model.segments:
        texts, labels = sg._training_set(pubs, rules)
        pipe = sg._model().fit(texts, sg._indicator(labels, list(model.segments)))
        import numpy as np

        assert np.allclose(pipe.predict_proba(texts[:20]), model.proba(texts[:20]))
    res = sg.train(con)
    assert res["model_id"] == 2 and con.execute("SELECT count(*) FROM segment_models").fetchall()[0][0] == 1
    assert con.execute("SELECT count(*) FROM segment_model_scores WHERE model_id = 1").fetchall()[0][0] == 0
    con.close()


def test_a_model_fitted_on_a_half_loaded_warehouse_is_not_kept(tmp_path, tmp_path_factory, sample_warehouse, sample_con,
                                                                 monkeypatch):
    """refit = "when_changed" (the default): analyze after a partial load, then after the rest,
    gives what one analyze of the whole load gives (a re-run equals a clean run); with
    "when_missing" the first model stays and says it is stale."""
    import dataclasses
    import shutil

    import duckdb
    from analyzed_sample import analyzed_sample

    from patentscope.metrics import segments as sg
    from patentscope.warehouse import migrations

    assert load_classifier_settings().refit == "when_changed"

    def load(con, where):
        for t in ("publications", "classifications"):
            con.register("_src", sample_con.sql(f"SELECT * FROM {t} WHERE {where}").pl())
            con.execute(f"INSERT INTO {t} SELECT * FROM _src")
            con.unregister("_src")

    def outputs(con):
        return (con.sql("SELECT * FROM publication_segments ORDER BY ALL").fetchall(),
                con.sql("SELECT segment, positives, precision, recall, used FROM segment_classifier_eval ORDER BY ALL").fetchall())

    clean = duckdb.connect(str(analyzed_sample(tmp_path_factory, sample_warehouse)), read_only=True)  # one analyze of all
    half = "pub_key < 'JP'"
    steps = duckdb.connect(str(tmp_path / "steps.duckdb"))
    migrations.apply(steps)
    load(steps, half)
    sg.refresh(steps)
    steps.close()
    shutil.copy(tmp_path / "steps.duckdb", tmp_path / "kept.duckdb")
    steps = duckdb.connect(str(tmp_path / "steps.duckdb"))
    load(steps, f"NOT ({half})")
    assert sg.refresh(steps)["model"] == "fitted"  # the training set changed: fitted again
    assert outputs(steps) == outputs(clean)
    # the opt-out keeps the first model and says so
    settings = dataclasses.replace(load_classifier_settings(), refit="when_missing")
    monkeypatch.setattr(sg, "load_classifier_settings", lambda path=None: settings)
    kept = duckdb.connect(str(tmp_path / "kept.duckdb"))
    load(kept, f"NOT ({half})")
    assert sg.refresh(kept)["model"] == "cached, stale"
    assert "training set has changed since" in kept.execute("SELECT min(note) FROM segment_classifier_eval").fetchall()[0][0]
    assert outputs(kept) != outputs(clean)  # what the default avoids
    for con in (clean, steps, kept):
        con.close()


def test_segments_file_errors_name_file_line_and_key(tmp_path):
    import pytest

    from patentscope.errors import ConfigError

    p = tmp_path / "s.toml"
    p.write_text("[[segment]]\nid = \"a\"\nlabel = \"A\"\nsource = \"x\"\n[classifier]\nrefit = \"always\"\nfolds = 1\n")
    with pytest.raises(ConfigError) as e:
        load_classifier_settings(p)
    msg = str(e.value)
    assert "s.toml:6: classifier.refit" in msg and "when_missing" in msg   # file:line: key, what is allowed
    assert "s.toml:7: classifier.folds" in msg


def test_cli_train_then_evaluate_csv_and_json(tmp_path, sample_warehouse):
    import csv
    import io
    import json
    import shutil

    from click.testing import CliRunner

    from patentscope.cli import main

    wh = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, wh)
    r = CliRunner().invoke(main, ["--warehouse", str(wh), "segments", "train"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["--warehouse", str(wh), "-q", "segments", "evaluate", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert rows and {"segment", "precision", "recall", "used"} <= set(rows[0])
    r2 = CliRunner().invoke(main, ["--warehouse", str(wh), "-q", "segments", "evaluate", "--csv"])
    assert r2.exit_code == 0
    assert [x["segment"] for x in csv.DictReader(io.StringIO(r2.output))] == [x["segment"] for x in rows]
