"""Centrality honesty: ties ranked as ties, 'the most central family' only when unique, the
basic-patent citation minimum, and the plain-z-score note. SYNTHETIC centrality rows."""

import duckdb
import polars as pl

from patentscope.metrics.centrality_ranking import ranking_notes, top_families


def _warehouse(values, fwd):
    con = duckdb.connect()
    con.execute("CREATE TABLE centrality_runs (run_id BIGINT, rescale_window INTEGER)")
    con.execute("INSERT INTO centrality_runs VALUES (1, 1000)")
    con.execute("""CREATE TABLE centrality (family_id VARCHAR, members VARCHAR[], family_date DATE, forward_citations BIGINT,
                   forward_citations_5y BIGINT, forward_citations_10y BIGINT, forward_citations_percentile DOUBLE,
                   pagerank DOUBLE, pagerank_rescaled DOUBLE, hits_authority DOUBLE, on_main_path BOOLEAN, in_landscape BOOLEAN)""")
    for i, (v, f) in enumerate(zip(values, fwd, strict=True)):
        con.execute("INSERT INTO centrality VALUES ($id, [], NULL, $f, 0, 0, 0, 0, $v, 0, false, true)",
                    {"id": f"SYN{i:02d}", "f": f, "v": v})
    return con


def test_ties_are_ranked_as_ties_and_no_single_most_central_family():
    # four families tie at the top (one forward citation each), then a 16-way tie
    con = _warehouse([3.0] * 4 + [1.0] * 16 + [0.5], [1] * 20 + [7])
    df = top_families(con, by="pagerank_rescaled", top=20)
    assert df["rank"].to_list() == [1] * 4 + [5] * 16 and df["tied"].to_list() == [4] * 4 + [16] * 16
    notes = ranking_notes(df, "pagerank_rescaled", rescale_window=1000, n_rescaled=21)
    assert notes[0] == "no single most central family: 4 families tie for rank 1 by pagerank_rescaled"
    assert "ranks 5-20 are a 16-way tie" in notes
    assert not any("the most central family" in n for n in notes)
    assert any(n.startswith("0 of the 20 listed families have at least 5 forward citations") for n in notes)
    assert any("plain z-score" in n for n in notes)  # window 1000 >= 21 dated families


def test_unique_top_is_named_and_cut_inside_a_tie_is_said():
    con = _warehouse([9.0, 2.0, 2.0, 2.0], [12, 1, 1, 1])
    df = top_families(con, by="pagerank_rescaled", top=2)
    notes = ranking_notes(df, "pagerank_rescaled", rescale_window=2, n_rescaled=4)
    assert notes[0] == "the most central family by pagerank_rescaled is SYN00"
    assert "the list stops inside a tie of 3 families at rank 2" in notes
    assert not any("plain z-score" in n for n in notes)
    assert df["basic_candidate"].to_list() == [True, False]
    assert ranking_notes(pl.DataFrame(), "pagerank") == ["no family has a value for this measure"]
