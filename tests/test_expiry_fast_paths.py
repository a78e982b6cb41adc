"""The engine's fast paths (no legal events, no status evidence, no EP bundle) give exactly the
frame the full paths give: checked on the real embedded sample by forcing the full paths with
inputs that touch no row (an event of a publication not in the frame, an empty evidence row)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from patentscope.metrics.expiry import EVENT_SCHEMA, compute_expiry, load_inputs
from patentscope.metrics.expiry.evidence import EVIDENCE_SCHEMA

D = dt.date
TODAY = D(2026, 11, 28)


@pytest.mark.parametrize("at", [D(2005, 6, 30), TODAY])
def test_fast_paths_equal_the_full_paths_on_the_sample(sample_con, at):
    inp = load_inputs(sample_con)
    pubs, ti, pc = inp["publications"], inp["term_inputs"], inp["priority_claims"]
    assert inp["legal_events"].height == 0
    fast = compute_expiry(pubs, ti, None, pc, at=at, today=TODAY)
    # an event of a publication that is not in the frame, and an evidence row that shows nothing
    other = pl.DataFrame([{"pub_key": "XX-NOT-IN-FRAME", "jurisdiction": "US", "event_date": D(2001, 1, 1),
                           "event_code": "X", "effect": "grant", "source": "test"}], schema=EVENT_SCHEMA)
    blank = pl.DataFrame([{"pub_key": pubs["pub_key"][0]}], schema=EVIDENCE_SCHEMA)
    full = compute_expiry(pubs, ti, other, pc, at=at, today=TODAY, status_evidence=blank)
    assert fast.schema == full.schema
    assert fast.equals(full)


def test_rows_computed_together_equal_rows_computed_one_by_one():
    """SYNTHETIC mixed frame (applications in offices with examination-request rules, US patents
    with fee lapses, EP, CA): the engine splits and re-joins rows (e.g. the examination stage), so
    each row must come out as it does alone. (A polars multi-chunk frame once broke this.)"""
    import random

    rnd = random.Random(7)
    kinds = [("US", "B2"), ("US", "A1"), ("EP", "B1"), ("EP", "A1"), ("JP", "A"), ("JP", "B2"), ("CN", "A"), ("CN", "B"),
             ("KR", "A"), ("CA", "C")]
    rows = []
    for i in range(20):
        cc, kind = kinds[i % len(kinds)]
        f = D(1985, 1, 1) + dt.timedelta(days=rnd.randrange(0, 13000))
        g = f + dt.timedelta(days=rnd.randrange(400, 2500)) if kind in ("B2", "B1", "B", "C") else None
        rows.append({"pub_key": f"{cc}-S{i}", "pub_number": f"{cc}-S{i}-{kind}", "country": cc, "doc_number": f"S{i}",
                     "kind": kind, "kinds_seen": [kind], "filing_date": f, "grant_date": g if g and g < TODAY else None,
                     "publication_date": f + dt.timedelta(days=548), "priority_date": f - dt.timedelta(days=rnd.randrange(365)),
                     "family_id": f"F{i // 3}"})
    pubs = pl.DataFrame(rows, schema_overrides={"kinds_seen": pl.List(pl.String)})
    events = pl.DataFrame([{"pub_key": f"US-S{i}", "jurisdiction": "US", "event_date": D(2015, 1, 1), "event_code": "EXP.",
                            "effect": "lapse", "source": "test"} for i in range(0, 20, 10)], schema=EVENT_SCHEMA)
    cols = ["pub_key", "jurisdiction", "status", "status_basis", "expiry_date", "expiry_earliest", "calculation_log"]
    together = compute_expiry(pubs, None, events, None, at=D(2016, 1, 1), today=TODAY).select(cols)
    alone = pl.concat([compute_expiry(pubs.slice(i, 1), None, events, None, at=D(2016, 1, 1), today=TODAY).select(cols)
                       for i in range(pubs.height)])
    assert together.sort("pub_key", "jurisdiction").equals(alone.sort("pub_key", "jurisdiction"))
    assert set(together["status_basis"]) >= {"exam_request_unknown", "ended"}
