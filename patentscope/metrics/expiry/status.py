"""Stage 5: combine the term and the events, and the status at any date."""

from __future__ import annotations

import datetime as dt

import polars as pl

from ...errors import InputError
from .common import _NULL_S, _STATUS_INPUTS, GRANTED_TYPES, Cases, _cases, _chain, _date_lit, _line_lists, _s, _text_column
from .rules import TermRules, load_rules


def _finish(p: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    r = rows.join(p, on="pub_key", how="left")
    bundle_events = rows.filter(pl.col("national")).group_by("pub_key").agg(
        pl.col("n_own_events").sum().alias("n_bundle_events"))
    r = r.join(bundle_events, on="pub_key", how="left")
    granted = pl.col("document_type").is_in(list(GRANTED_TYPES)).fill_null(False)
    term_eff = pl.coalesce("expiry_event", "term_computed")
    r = r.with_columns(term_eff=pl.when(granted).then(term_eff))
    early = pl.col("lapse_end")
    early_wins = early.is_not_null() & (pl.col("term_eff").is_null() | (early < pl.col("term_eff")).fill_null(False))
    hard = pl.col("pub_flags").list.len() > 0
    nat = pl.col("national")
    r = r.with_columns(
        st_end_date=pl.when(early_wins).then(early).otherwise(pl.col("term_eff")),
        st_end_status=pl.when(early_wins).then(pl.lit("lapsed")).otherwise(pl.lit("expired by term")),
        end_reason=pl.when(early_wins).then(pl.col("lapse_effect"))
        .when(pl.col("expiry_event").is_not_null()).then(pl.lit("expiry_event"))
        .when(pl.col("td_capped")).then(pl.lit("terminal_disclaimer"))
        .when(pl.col("term_eff").is_not_null()).then(pl.lit("term")),
    )
    r = r.with_columns(
        # applications: their own early end only (withdrawal etc.); the potential end is not an expiry
        st_end_date=pl.when(granted).then(pl.col("st_end_date")).otherwise(pl.when(early.is_not_null()).then(early)),
        st_end_status=pl.when(granted).then(pl.col("st_end_status")).otherwise(pl.lit("lapsed")),
        end_reason=pl.when(granted).then(pl.col("end_reason")).otherwise(pl.col("lapse_effect")),
        term_expiry=pl.when(granted).then(pl.col("term_eff")).otherwise(pl.col("potential_end")),
        expiry_date=pl.when(granted & ~hard).then(pl.col("st_end_date")),
        expiry_is_upper_bound=granted & ~early_wins & pl.col("expiry_event").is_null() & pl.col("term_eff").is_not_null()
        & (pl.col("term_lower").is_null() | (pl.col("term_lower") != pl.col("term_computed")).fill_null(True)),
        expiry_latest=pl.when(granted & ~hard).then(pl.col("st_end_date")),
        expiry_earliest=pl.when(granted & ~hard).then(
            pl.when(early_wins | pl.col("expiry_event").is_not_null()).then(pl.col("st_end_date"))
            .otherwise(pl.min_horizontal("term_lower", "st_end_date"))),
        headline_rule=pl.when(~granted | hard | pl.col("st_end_date").is_null()).then(_NULL_S)
        .when(early_wins | pl.col("expiry_event").is_not_null()).then(pl.lit("event"))
        .when(pl.col("term_lower").is_null()).then(pl.lit("upper_bound"))
        .when(pl.col("term_lower") == pl.col("st_end_date")).then(pl.lit("exact"))
        .otherwise(pl.lit("latest_admissible_e")),
        # a US patent with no fee evidence is "in force (fees not verified)" from the first fee lapse date on
        st_fee_assumed_from=pl.when(granted & (pl.col("n_own_events") == 0)).then(pl.col("fee_first_lapse")),
        warnings=pl.col("pub_warnings"),
        st_hard=hard,
        st_exists_from=pl.min_horizontal("filing_date", "base_date", "earliest_us_filing_date", "international_filing_date"),
        st_granted=granted,
        st_in_force_from_exact=pl.col("grant_known").is_not_null(),
        st_sure_until=pl.coalesce("expiry_event", "term_lower"),
        st_bound_reason=pl.col("bound_reason"),
        # a national part needs events there; the EP bundle row needs evidence that it took effect somewhere
        # (an EP-level or national event); without it the bundle's status is unknown (EPC Art. 64, 65, 141)
        st_validation_known=pl.when(nat).then(pl.col("n_own_events") > 0)
        .when((pl.col("country") == "EP") & pl.col("national_members").fill_null(False))
        .then((pl.col("n_own_events") > 0) | (pl.col("n_bundle_events").fill_null(0) > 0))
        .otherwise(pl.lit(True)),
        st_potential_end=pl.col("potential_end"),
        rule=pl.when(pl.col("rule_id").is_null()).then(_NULL_S)
        .when(nat).then(pl.format("{}:national", pl.col("rule_id")))
        .when(pl.col("variant").is_not_null() & ~pl.col("variant").is_in(["from_filing", "from_grant", "none"]))
        .then(pl.format("{}:{}", pl.col("rule_id"), pl.col("variant")))
        .otherwise(pl.col("rule_id")),
        office=pl.col("country"),
    )
    ov_expiry = Cases.line(pl.col("expiry_event").is_not_null() & (pl.col("expiry_event") != pl.col("term_computed")).fill_null(True)
                           & granted,
                           "override: the 'expiry' legal event of {} replaces the computed date {}", pl.col("expiry_event"),
                           _s(pl.col("term_computed")))
    ov_lapse = Cases.line(early_wins & granted, "override: {} effective {} ends it before its term ({})", pl.col("lapse_effect"),
                          early, _s(pl.col("term_eff")))
    late_lapse = Cases.line(early.is_not_null() & ~early_wins & granted,
                            "FLAG: {} effective {} is on/after the term end {}: not used for the status; the term inputs "
                            "(PTA, continuity) may be wrong", pl.col("lapse_effect"), early, pl.col("term_eff"))
    us_fees = Cases.line(granted & (pl.col("fee_lapse_years").list.len() > 0).fill_null(False) & (pl.col("n_own_events") == 0)
                         & pl.col("term_eff").is_not_null(),
                         "maintenance fees: no legal events for {} in the warehouse; assumed paid (a fee lapse would end it at "
                         "grant + {} years)", pl.col("jurisdiction"),
                         pl.col("fee_lapse_years").cast(pl.List(pl.String)).list.join("/"))
    nat_line = _cases([
        (nat & (pl.col("n_own_events") > 0),
         pl.format("jurisdiction {}: national part of the EP bundle; EP-wide events and {} event(s) for {} apply",
                   pl.col("jurisdiction"), pl.col("n_own_events"), pl.col("jurisdiction"))),
        (nat & pl.col("designated").list.contains(pl.col("jurisdiction")).fill_null(False),
         pl.format("jurisdiction {}: designated in the EP grant, but no legal events for {} in the warehouse, so whether "
                   "the patent was validated and kept there is unknown", pl.col("jurisdiction"), pl.col("jurisdiction"))),
        (nat, pl.format("jurisdiction {}: no legal events for {} in the warehouse, so whether the EP patent took effect "
                        "and was kept there is unknown", pl.col("jurisdiction"), pl.col("jurisdiction"))),
        ((pl.col("country") == "EP") & granted,
         pl.lit("jurisdiction EP: the bundle as a whole (EP-wide events); national lapses are in the national rows")),
    ], _NULL_S)
    office_row = ~nat & (pl.col("country") == "EP")
    designated_line = Cases.line(office_row & pl.col("designated").is_not_null(),
                                 "designated states (EP grant, INID 84, as the record prints them): {}",
                                 pl.col("designated").list.join(" "))
    undesignated_line = Cases.line(office_row & (pl.col("undesignated").list.len() > 0).fill_null(False),
                                   "markets not designated: {}: no national row, an EP patent has no effect there "
                                   "(EPC Art. 2(2), 64(1), 79(1))", pl.col("undesignated").list.join(" "))
    # the log: the publication's lines, then these, each built on its own rows (_line_lists)
    r = r.with_columns(flags=pl.col("pub_flags"))
    texts = [_text_column(r, x, "_t") for x in (nat_line, designated_line, undesignated_line)]
    more = [_text_column(r, x, "_t") for x in (ov_expiry, ov_lapse, late_lapse, us_fees)]
    prefixed = [r.select(pl.col(c).list.eval(pl.format(f"{label}: {{}}", pl.element()))).to_series()
                for c, label in (("pub_warnings", "WARNING"), ("pub_flags", "FLAG"), ("missing", "MISSING"))]
    return r.with_columns(_line_lists([r["pub_log"], *texts, r["event_lines"], r["unmatched_lines"], *more, *prefixed],
                                      r.height).alias("st_term_log"))


def _in_lapse_at(at: dt.date) -> pl.Expr:
    """Whether ``at`` falls in one of the row's reinstated lapses."""
    a = _date_lit(at)
    return pl.col("lapse_periods").list.eval(
        (pl.element().struct.field("start") <= a) & (pl.element().struct.field("end") > a)).list.any().fill_null(False)


def _with_in_lapse(frame: pl.DataFrame, at_col: str) -> pl.DataFrame:
    """Adds boolean column st_in_lapse: ``at_col`` falls in a reinstated lapse (per row)."""
    f = frame.with_row_index("_row")
    hits = (
        f.select("_row", at_col, "lapse_periods").explode("lapse_periods").drop_nulls("lapse_periods")
        .filter((pl.col("lapse_periods").struct.field("start") <= pl.col(at_col))
                & (pl.col("lapse_periods").struct.field("end") > pl.col(at_col)))
        .select("_row").unique().with_columns(st_in_lapse=pl.lit(True))
    )
    return f.join(hits, on="_row", how="left").with_columns(pl.col("st_in_lapse").fill_null(False)).drop("_row")


def _status_exprs(at: pl.Expr, in_force_on_expiry_date: bool, in_lapse: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(status, status_basis, status_reason) at ``at`` from the st_* columns; one list of cases
    keeps the three in step."""
    end = pl.col("st_end_date")
    ended = (at > end) if in_force_on_expiry_date else (at >= end)
    sure = pl.col("st_sure_until")
    sure_ended = (at > sure) if in_force_on_expiry_date else (at >= sure)
    doc = pl.col("document_type")
    missing = pl.col("missing").list.join("; ")
    potential = pl.col("st_potential_end")
    cases: list[tuple[pl.Expr, str, str, pl.Expr]] = [
        (pl.col("st_hard"), "unknown", "bad_input", pl.format("bad input: {}", pl.col("flags").list.join("; "))),
        ((at >= pl.col("st_conflict_from")).fill_null(False), "unknown", "status_conflict",
         pl.format("the record's own status contradicts the computed end {}: {}", pl.col("st_conflict_from"),
                   pl.col("status_conflict"))),
        ((at < pl.col("st_exists_from")).fill_null(False), "not yet filed", "before_filing",
         pl.format("before the filing date {}", pl.col("st_exists_from"))),
        (ended.fill_null(False) & (pl.col("end_reason") == "no_exam_request").fill_null(False), "lapsed", "no_exam_request",
         pl.format("deemed withdrawn (no examination request on record): {}", pl.col("st_exam_note"))),
        (ended.fill_null(False) & (pl.col("end_reason") == "status_evidence").fill_null(False), "", "ended",
         pl.format("{} by {} at the latest: the record's own status shows it ended (see 'evidence')",
                   pl.col("st_end_status"), end)),
        (ended.fill_null(False), "", "ended", pl.format("{} on {} ({})", pl.col("st_end_status"), end,
                                                           pl.coalesce(pl.col("end_reason"), pl.lit("term")))),
        (in_lapse, "lapsed", "reinstated_lapse", pl.lit("in a lapse later undone by a reinstatement")),
        (doc == "international_application", "unknown", "pct_international",
         pl.lit("a PCT international application is never in force itself; see its national/regional phases")),
        ((doc == "application") & (at >= pl.col("st_exam_after")).fill_null(False)
         & ~pl.col("st_exam_requested").fill_null(False) & (at < potential).fill_null(True), "unknown", "exam_request_unknown",
         pl.format("the examination-request period has run out ({}) and the record shows no request and no grant: pending "
                   "if one was filed in time, deemed withdrawn if not", pl.col("st_exam_note"))),
        ((doc == "application") & (at < potential).fill_null(False), "pending", "application",
         pl.format("an application with no grant and no end event in the warehouse; a patent on it could run until {}",
                   potential)),
        ((doc == "application") & potential.is_not_null(), "unknown", "application_past_term",
         pl.format("no grant in the warehouse; any patent granted on it would have ended by {}", potential)),
        (doc == "application", "unknown", "missing_input", pl.format("application; missing: {}", missing)),
        (~pl.col("st_granted"), "unknown", "type_unknown", pl.lit("document type unknown")),
        (pl.col("in_force_from").is_null(), "unknown", "missing_input", pl.format("missing: {}", missing)),
        ((at < pl.col("in_force_from")) & pl.col("st_in_force_from_exact") & pl.col("st_exists_from").is_not_null(),
         "pending", "before_grant", pl.format("filed, granted only on {}", pl.col("in_force_from"))),
        ((at < pl.col("in_force_from")) & pl.col("st_in_force_from_exact"), "unknown", "missing_input",
         pl.format("before the grant of {}; not filed yet or pending: the filing date is missing", pl.col("in_force_from"))),
        (at < pl.col("in_force_from"), "unknown", "grant_date_bounded",
         pl.format("grant date not shown: granted on or before {}, pending or in force before that", pl.col("in_force_from"))),
        (end.is_null(), "unknown", "missing_input",
         pl.format("granted, but the expiry cannot be computed; missing: {}", missing)),
        (pl.col("st_sure_until").is_null() | sure_ended.fill_null(True), "unknown", "term_range",
         pl.format("granted; ends on {} at the latest but may have ended earlier: {}", end,
                   pl.coalesce(pl.col("st_bound_reason"), pl.lit("see the log")))),
        (~pl.col("st_validation_known") & (pl.col("jurisdiction") == "EP"), "unknown", "ep_bundle_unknown",
         pl.lit("granted EP bundle with no validation, renewal or national legal event in the warehouse: whether it "
                "took effect and is kept in any state is unknown (EPC Art. 65, 141)")),
        (~pl.col("st_validation_known"), "unknown", "national_unknown",
         pl.format("no legal events for {}: whether the EP patent is in force there is unknown", pl.col("jurisdiction"))),
    ]
    status = _chain([(c, pl.col("st_end_status") if st == "" else pl.lit(st)) for c, st, _, _ in cases], pl.lit("in force"))
    basis = _chain([(c, pl.lit(b)) for c, _, b, _ in cases], pl.lit("in_force"))
    reason = _chain([(c, r) for c, _, _, r in cases], pl.format("granted {}, ends {}", pl.col("in_force_from"), end))
    return status, basis, reason


def status_at(expiry: pl.DataFrame, at: dt.date, rules: TermRules | None = None) -> pl.DataFrame:
    """Re-evaluate status, status_date, status_reason and calculation_log at ``at``.

    ``expiry`` is the full result of :func:`compute_expiry` (it keeps the ``st_*`` inputs)."""
    rules = rules or load_rules()
    missing_cols = [c for c in _STATUS_INPUTS if c not in expiry.columns]
    if missing_cols:
        raise InputError(f"status_at needs the full frame of compute_expiry (missing {', '.join(missing_cols)})")
    at_e = _date_lit(at)
    status, basis, reason = _status_exprs(at_e, rules.in_force_on_expiry_date, _in_lapse_at(at))
    out = expiry.with_columns(status=status, status_basis=basis, status_reason=reason, status_date=at_e)
    fee = (pl.col("status") == "in force") & (pl.col("st_fee_assumed_from") <= at_e).fill_null(False)
    out = out.with_columns(
        rests_on_fee_assumption=fee,
        status_reason=pl.when(fee).then(pl.format("in force (fees not verified): {}; no maintenance-fee record after the "
                                                  "fee window that closed {}", pl.col("status_reason"),
                                                  pl.col("st_fee_assumed_from")))
        .otherwise(pl.col("status_reason")),
    )
    return out.with_columns(
        calculation_log=pl.concat_list([
            pl.col("st_term_log"),
            pl.concat_list([pl.format("status at {}: {} -- {}", at_e, pl.col("status"), pl.col("status_reason"))]),
        ]),
    )
