"""compute_expiry: the stages in order; public_columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from ...errors import InputError
from .classify import _classify
from .common import _STATUS_INPUTS, EVENT_SCHEMA, EXPIRY_COLUMNS, PRIORITY_SCHEMA, PUB_SCHEMA, TERM_INPUT_SCHEMA, _conform
from .events import _apply_events, _designations, _targets
from .exam import _exam_requests
from .prepare import _merge_term_inputs, _prepare_events
from .reissue import _reissues
from .rules import TermRules, load_rules
from .status import _finish, status_at
from .terms import _terms
from .weigh import _apply_evidence


def compute_expiry(
    publications: pl.DataFrame,
    term_inputs: pl.DataFrame | None = None,
    legal_events: pl.DataFrame | None = None,
    priority_claims: pl.DataFrame | None = None,
    *,
    at: dt.date,
    today: dt.date | None = None,
    rules: TermRules | None = None,
    markets: Iterable[str] = (),
    status_evidence: pl.DataFrame | None = None,
    reissue_of: pl.DataFrame | None = None,
    designations: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Expected expiry, status at ``at`` and calculation log per publication and jurisdiction.

    ``status_evidence``: the record's own status (:func:`.evidence.evidence_frame` of the
    field_values status_as_shown / expiry_as_shown rows); it is weighed against the computed
    term, and a contradiction is resolved towards the evidence or flagged (docs/expiry.md).

    ``reissue_of`` (pub_key, original_pub_key): the original patent of each US reissue (35 USC 251(a):
    the reissue ends with it); the original must be among ``publications``. Without it a reissue's
    end is unknown (said in the log).

    ``designations`` (pub_key, designated: list of state codes): the states a granted EP designates
    (:func:`.warehouse.designations_frame`). A market it does not designate gets no national row
    (an EP patent has no effect there, EPC Art. 2(2), 64(1), 79(1)); the bundle row's log names
    the designated states and the markets left out. Without it every market is evaluated.

    ``priority_claims`` (pub_key, seq, claim_as_written, priority_country, priority_date,
    claim_type) only matter for US publications without term_inputs.earliest_us_filing_date:
    a claim that may be continuity turns the computed date into an upper bound.
    ``today`` (default: the system date) is the date after which no input date can lie: a
    later date is an impossible input (flagged, status unknown). ``markets``: extra national
    jurisdictions to evaluate for granted EP patents even without legal events there.
    Columns: ``EXPIRY_COLUMNS`` plus the ``st_*`` status inputs (see :func:`status_at`);
    sorted by pub_key, jurisdiction (the office row first).
    """
    rules = rules or load_rules()
    today = today or dt.date.today()
    pubs = _conform(publications, PUB_SCHEMA, "publications")
    dup = pubs.filter(pl.col("pub_key").is_duplicated())["pub_key"].unique().to_list()
    if dup:
        raise InputError(f"publications must have one row per pub_key; repeated: {', '.join(sorted(dup)[:5])}")
    ti = _merge_term_inputs(_conform(term_inputs, TERM_INPUT_SCHEMA, "term_inputs"))
    ev = _prepare_events(_conform(legal_events, EVENT_SCHEMA, "legal_events"), today)
    pc = _conform(priority_claims, PRIORITY_SCHEMA, "priority_claims")
    p = _reissues(_terms(_classify(pubs, ti, ev, pc, rules, today), rules), reissue_of)
    p = _designations(p, designations, list(markets))
    t = _targets(p, ev, list(markets))
    rows = _apply_events(p, ev, t, rules)
    r = _exam_requests(_finish(p, rows), ev, status_evidence, rules, today)
    r = _apply_evidence(r, status_evidence, rules, today)
    r = status_at(r, at, rules)
    keep = [*EXPIRY_COLUMNS, *_STATUS_INPUTS]
    return r.select(keep).sort(["pub_key", pl.col("jurisdiction") != pl.col("office"), "jurisdiction"])



def public_columns(expiry: pl.DataFrame) -> pl.DataFrame:
    """The documented columns only (drops the st_* status inputs)."""
    return expiry.select([c for c in EXPIRY_COLUMNS if c in expiry.columns])
