"""The engine's fast paths (no legal events, no status evidence, no EP bundle) give exactly the
frame the full paths give: checked on the real embedded sample by forcing the full paths with
inputs that touch no row (an event of a publication not in the frame, an empty evidence row)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from patentscope.metrics.expiry import EVENT_SCHEMA, compute_expiry, load_inputs
from patentscope.metrics.expiry_evidence import EVIDENCE_SCHEMA

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
