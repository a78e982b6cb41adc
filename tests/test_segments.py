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
