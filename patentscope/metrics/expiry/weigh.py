"""The record's own status evidence weighed against the computed term (office rows only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from .common import _NULL_S, _chain, _date_lit, _line, _lines, _s
from .evidence import ENDED_STATES
from .rules import TermRules, add_years
from .status import _status_exprs, _with_in_lapse


def _apply_evidence(r: pl.DataFrame, evidence: pl.DataFrame | None, rules: TermRules, today: dt.date) -> pl.DataFrame:
    """Weigh the record's own status evidence (office rows only) against the computed term.

    * shown ended (Expired - Fee Related / Lifetime, Ceased, ...) while the computed status on the
      evidence date is in force or pending: it lapsed. The latest possible lapse is the last US fee
      deadline (grant + 4/8/12 years) on/before the evidence date, else the evidence date; the
      earliest is the first fee deadline for a fee-related end, else unknown. Flagged as a conflict.
    * shown ended inside a computed interval (status unknown, term_range): consistent; the latest
      end becomes the evidence date at most.
    * an application shown abandoned / withdrawn / refused: ended by the evidence date.
    * shown in force while the computed term has ended: flagged; status unknown from the computed end.
    * a shown expiry date (not an estimate) outside the legal interval: flagged.
    * 'Fee status: Paid': the in-force status no longer rests on assumed fees.
    The evidence date is the date the page gave, else ``today`` (the page was seen by then)."""
    ev = evidence if evidence is not None else pl.DataFrame(schema=_ev_schema())
    if ev.height == 0 or not r["pub_key"].is_in(ev["pub_key"].implode()).any():
        # no evidence for any row: every case below is false, so only the evidence columns are added
        # (the same frame the full path gives, without its fixed cost)
        return r.with_columns(st_conflict_from=pl.lit(None, dtype=pl.Date), status_conflict=_NULL_S,
                              status_as_shown=pl.lit(None, dtype=ev.schema["shown_state"]),
                              status_evidence=pl.lit(None, dtype=ev.schema["evidence_text"]))
    empty = pl.lit([], dtype=pl.List(pl.String))
    j = r.join(ev, on="pub_key", how="left")
    own = pl.col("jurisdiction") == pl.col("office")
    j = j.with_columns([pl.when(own).then(pl.col(c)).alias(c) for c in ev.columns if c != "pub_key"])
    j = j.with_columns(ev_date=pl.coalesce(pl.col("shown_date"), _date_lit(today)),
                       st_conflict_from=pl.lit(None, dtype=pl.Date), status_conflict=_NULL_S)
    j = _with_in_lapse(j, "ev_date")
    comp, comp_basis, _ = _status_exprs(pl.col("ev_date"), rules.in_force_on_expiry_date, pl.col("st_in_lapse"))
    j = j.with_columns(comp=comp, comp_basis=comp_basis).with_row_index("_ev_row")
    fee = (
        j.filter(pl.col("grant_known").is_not_null() & (pl.col("fee_lapse_years").list.len() > 0))
        .select("_ev_row", "grant_known", "ev_date", "fee_lapse_years").explode("fee_lapse_years")
        .with_columns(deadline=add_years(pl.col("grant_known"), pl.col("fee_lapse_years"), rules.leap_day))
        .group_by("_ev_row").agg(pl.col("deadline").filter(pl.col("deadline") <= pl.col("ev_date")).max().alias("last_fee"),
                                 pl.col("deadline").min().alias("first_fee"))
    )
    j = j.join(fee, on="_ev_row", how="left")
    state = pl.col("shown_state")
    granted = pl.col("st_granted") & ~pl.col("st_hard")
    ended_shown = state.is_in([*ENDED_STATES, "abandoned"]).fill_null(False)
    a_conflict = ended_shown & granted & pl.col("comp").is_in(["in force", "pending"])
    a_narrow = ended_shown & granted & (pl.col("comp_basis") == "term_range")
    app_ended = (state == "abandoned").fill_null(False) & (pl.col("document_type") == "application") \
        & pl.col("comp").is_in(["pending", "unknown"])
    # a granted patent whose term cannot be computed (a missing input) but whose record shows it ended
    d_only = ended_shown & granted & (pl.col("comp_basis") == "missing_input") & pl.col("st_end_date").is_null() \
        & (state != "abandoned")
    b_conflict = (state == "in_force").fill_null(False) & granted & pl.col("comp").is_in(["expired by term", "lapsed"])
    new_latest = pl.coalesce(pl.col("last_fee"), pl.col("ev_date"))
    new_earliest = pl.when((state == "lapsed_fee") & (pl.col("first_fee") <= new_latest).fill_null(False)).then(
        pl.col("first_fee"))
    shown_exp = pl.col("shown_expiry")
    exp_conflict = shown_exp.is_not_null() & ~pl.col("shown_expiry_is_estimate").fill_null(False) & granted \
        & pl.col("expiry_latest").is_not_null() & ~a_conflict \
        & ((shown_exp > pl.col("expiry_latest")) | (shown_exp < pl.col("expiry_earliest")).fill_null(False))
    conflict = pl.concat_str([
        _line(a_conflict, "the record shows '{}' by {}, but the computed status on that day is {} (term to {}): it "
              "lapsed, by {} at the latest{}", pl.col("shown_text"), pl.col("ev_date"), pl.col("comp"),
              _s(pl.col("expiry_latest")), new_latest,
              pl.when(pl.col("last_fee").is_not_null()).then(pl.lit(" (the last maintenance-fee deadline before it)"))
              .otherwise(pl.lit(""))),
        _line(b_conflict, "the record shows in force ('{}') by {}, but the computed term ended {} ({})", pl.col("shown_text"),
              pl.col("ev_date"), pl.col("st_end_date"), _s(pl.col("end_reason"))),
        _line(exp_conflict, "the record shows expiry {}, outside the legal interval {} .. {}", shown_exp,
              _s(pl.col("expiry_earliest")), pl.col("expiry_latest")),
    ], separator="; ", ignore_nulls=True)
    j = j.with_columns(status_conflict=pl.when(conflict != "").then(conflict).otherwise(_NULL_S))
    j = j.with_columns(_a_conflict=a_conflict, _a_narrow=a_narrow, _app_ended=app_ended, _d_only=d_only,
                       _b_conflict=b_conflict, _exp_conflict=exp_conflict)
    a_conflict, a_narrow, app_ended, d_only, b_conflict, exp_conflict = (
        pl.col(c) for c in ("_a_conflict", "_a_narrow", "_app_ended", "_d_only", "_b_conflict", "_exp_conflict"))
    changed = a_conflict | a_narrow | app_ended | d_only
    # an ended status inside the computed interval: the page's own expiry date (not an estimate) when it lies in
    # the interval, else the evidence date, is the latest end
    shown_in = pl.when(~pl.col("shown_expiry_is_estimate").fill_null(True)
                       & (shown_exp >= pl.col("expiry_earliest")).fill_null(False)).then(shown_exp)
    end_new = _chain([(a_conflict | app_ended | d_only, new_latest),
                      (a_narrow, pl.min_horizontal("st_end_date", pl.coalesce(shown_in, pl.col("ev_date"))))],
                     pl.col("st_end_date"))
    earliest_new = _chain([(a_conflict | d_only, new_earliest), (a_narrow, pl.min_horizontal("expiry_earliest", end_new))],
                          pl.col("expiry_earliest"))
    ended_status = pl.when((state == "lapsed_fee") | a_conflict | app_ended | (d_only & (state == "ended")))\
        .then(pl.lit("lapsed")) \
        .otherwise(pl.lit("expired by term"))
    j = j.with_columns(
        st_end_date=end_new,
        st_end_status=pl.when(changed).then(ended_status).otherwise(pl.col("st_end_status")),
        end_reason=pl.when(changed).then(pl.lit("status_evidence")).otherwise(pl.col("end_reason")),
        st_sure_until=pl.when(a_conflict | d_only).then(new_earliest).otherwise(pl.col("st_sure_until")),
        st_bound_reason=pl.when(a_conflict | d_only).then(pl.lit("the record shows it ended; the lapse date is not shown"))
        .otherwise(pl.col("st_bound_reason")),
        st_conflict_from=pl.when(b_conflict).then(pl.col("st_end_date")),
        st_validation_known=pl.col("st_validation_known") | (own & (state == "in_force")).fill_null(False),
        st_fee_assumed_from=pl.when(pl.col("shown_fee_paid").fill_null(False)).then(pl.lit(None, dtype=pl.Date))
        .otherwise(pl.col("st_fee_assumed_from")),
    ).with_columns(
        expiry_latest=pl.when(changed & granted).then(pl.col("st_end_date")).otherwise(pl.col("expiry_latest")),
        expiry_earliest=pl.when(changed & granted).then(earliest_new).otherwise(pl.col("expiry_earliest")),
        expiry_date=pl.when(changed & granted).then(pl.col("st_end_date")).otherwise(pl.col("expiry_date")),
        headline_rule=pl.when(changed & granted).then(pl.lit("evidence_latest")).otherwise(pl.col("headline_rule")),
        status_as_shown=pl.col("shown_state"),
        status_evidence=pl.col("evidence_text"),
    ).with_columns(
        expiry_is_upper_bound=pl.when(changed & granted)
        .then(pl.col("expiry_earliest").is_null() | (pl.col("expiry_earliest") != pl.col("expiry_latest")))
        .otherwise(pl.col("expiry_is_upper_bound")),
        st_term_log=pl.concat_list([
            pl.col("st_term_log"),
            _lines(_line(pl.col("evidence_text").is_not_null(), "evidence: {}", pl.col("evidence_text")),
                   _line(pl.col("evidence_text").is_not_null() & ~changed & pl.col("status_conflict").is_null()
                         & (pl.col("comp") != "unknown"),
                         "evidence: agrees with the computed status on {} ({})", pl.col("ev_date"), pl.col("comp")),
                   _line(pl.col("evidence_text").is_not_null() & ~changed & (pl.col("comp") == "unknown"),
                         "evidence: recorded; the computed status on {} is unknown ({}), and a shown status alone does "
                         "not date an end", pl.col("ev_date"), pl.col("comp_basis")),
                   _line(changed, "override: the record's status ends it by {} (from {})", pl.col("st_end_date"),
                         _s(pl.col("expiry_earliest"))),
                   _line(pl.col("status_conflict").is_not_null(), "CONFLICT: {}", pl.col("status_conflict"))),
        ]).fill_null(empty),
    )
    return j.drop("_ev_row", "ev_date", "comp", "comp_basis", "last_fee", "first_fee", "st_in_lapse", "_a_conflict",
                  "_a_narrow", "_app_ended", "_d_only", "_b_conflict", "_exp_conflict",
                  *[c for c in ev.columns if c != "pub_key"])


def _ev_schema() -> dict[str, Any]:
    from .evidence import EVIDENCE_SCHEMA
    return dict(EVIDENCE_SCHEMA)
