"""Examination-request periods (term_rules.toml ``[[exam_request]]``): an application whose office
examines only on request is deemed withdrawn when no request is filed by the period's last day
(JP Patent Act Art. 48-3, CN Patent Law Art. 35, KR Patent Act Art. 59, EPC Art. 94 / Rule 70).

Office rows of applications only. After the last day:

* a request on record (a listed legal-event code, or the record's own status showing the
  application examined or granted): nothing changes;
* the record shows no request (status evidence ``no_exam_request``) dated after the last day:
  deemed withdrawn, status ``lapsed`` (basis ``no_exam_request``) from the day after;
* otherwise the record cannot tell: status ``unknown`` (basis ``exam_request_unknown``) with the
  reason, never a guessed ``pending`` or ``withdrawn``.

Where the last day itself is only bounded (an EP application whose search report date is not on
record: an A2, an A3 listed with an A2, a Euro-PCT application) the earliest possible last day starts the unknown stretch and no withdrawal is dated."""

from __future__ import annotations

import datetime as dt

import polars as pl

from .common import _NULL_S, _date_lit, _line, _lines
from .rules import TermRules

# status evidence that shows an application was examined (or granted) in its office
_EXAMINED_STATES = ("granted", "in_force", "expired_term", "lapsed_fee", "fee_paid")
EXAM_COLUMNS = ("st_exam_after", "st_exam_deadline", "st_exam_requested", "st_exam_note")


def _months_after(d: pl.Expr, months: pl.Expr) -> pl.Expr:
    return d.dt.offset_by(pl.format("{}mo", months))


def _exam_requests(r: pl.DataFrame, ev: pl.DataFrame, evidence: pl.DataFrame | None, rules: TermRules,
                   today: dt.date) -> pl.DataFrame:
    empty = {"st_exam_after": pl.lit(None, dtype=pl.Date), "st_exam_deadline": pl.lit(None, dtype=pl.Date),
             "st_exam_requested": pl.lit(None, dtype=pl.Boolean), "st_exam_note": _NULL_S}
    exf = rules.exam_frame()
    own_app = ((pl.col("jurisdiction") == pl.col("office")) & (pl.col("document_type") == "application")
               & pl.col("office").is_in(exf["office"].implode())).fill_null(False)
    apps, rest = r.filter(own_app), r.filter(~own_app)
    if apps.height == 0:
        return r.with_columns(**empty)
    # rechunk: polars 2.1 evaluates a later list.eval wrongly on the two-chunk frame (a ShapeError);
    # tests/test_expiry_fast_paths.py computes rows together and one by one
    return pl.concat([_exam_rows(apps, ev, evidence, exf, today), rest.with_columns(**empty)], how="vertical",
                     rechunk=True)


def _exam_rows(r: pl.DataFrame, ev: pl.DataFrame, evidence: pl.DataFrame | None, exf: pl.DataFrame,
               today: dt.date) -> pl.DataFrame:
    """The office rows of applications in offices with a rule (the others get nulls)."""
    # a request on record: a legal event with one of the office's codes, or a status showing examination
    codes = exf.select("office", pl.col("ex_codes").alias("code")).explode("code").drop_nulls()
    req_ev = (
        ev.with_columns(code=pl.col("event_code").str.strip_chars().str.to_uppercase())
        .join(r.select("pub_key", "office").unique(), on="pub_key")
        .join(codes, on=["office", "code"])
        .group_by("pub_key").agg(pl.format("legal event {} {}", pl.col("event_code").str.strip_chars(),
                                           pl.col("event_date")).sort().first().alias("_req_event"))
    )
    shown = (evidence.select("pub_key", pl.col("shown_state").alias("_state"), pl.col("shown_text").alias("_text"),
                             pl.col("shown_date").alias("_sdate"))
             if evidence is not None and evidence.height else
             pl.DataFrame(schema={"pub_key": pl.String, "_state": pl.String, "_text": pl.String, "_sdate": pl.Date}))
    j = r.join(exf, on="office", how="left").join(req_ev, on="pub_key", how="left").join(shown, on="pub_key", how="left")
    applies = pl.col("ex_months").is_not_null()
    filing = pl.coalesce("international_filing_date", "filing_date")
    prio_ok = pl.when((pl.col("priority_date") <= filing).fill_null(False)).then(pl.col("priority_date"))
    pct = pl.col("international_filing_date").is_not_null()
    # the publication date is the search report's for an A1, and for an A3 when no A2 was seen (it may be the A2's)
    with_report = (pl.col("kind") == "A1") | ((pl.col("kind") == "A3")
                                             & ~pl.col("kinds_seen").list.contains("A2").fill_null(False))
    base = pl.when(pl.col("ex_base") == "filing").then(filing) \
        .when(pl.col("ex_base") == "priority_or_filing").then(pl.coalesce(prio_ok, filing)) \
        .when((pl.col("ex_base") == "search_report") & ~pct & with_report.fill_null(False)) \
        .then(pl.col("publication_date"))
    months = pl.when(pl.col("ex_change_from").is_not_null() & (filing < pl.col("ex_change_from")).fill_null(False)) \
        .then(pl.col("ex_months_before")).otherwise(pl.col("ex_months"))
    exact = _months_after(base, months)
    # bounds only: EP A2 (the search report comes later), Euro-PCT (not before pct_min_months from priority)
    low = pl.when((pl.col("ex_base") == "search_report") & ~pct & pl.col("kind").is_in(["A2", "A3"]).fill_null(False)) \
        .then(_months_after(pl.col("publication_date"), pl.col("ex_months"))) \
        .when((pl.col("ex_base") == "search_report") & pct) \
        .then(_months_after(pl.coalesce(prio_ok, pl.col("international_filing_date")), pl.col("ex_pct_min_months")))
    j = j.with_columns(_dl=pl.when(applies).then(exact), _dl_low=pl.when(applies).then(pl.coalesce(exact, low)),
                       _base=base, _months=months)
    requested = pl.col("_req_event").is_not_null() | pl.col("_state").is_in(list(_EXAMINED_STATES)).fill_null(False)
    none_shown = (pl.col("_state") == "no_exam_request").fill_null(False)
    none_date = pl.coalesce(pl.col("_sdate"), _date_lit(today))
    withdrawn = applies & ~requested & none_shown & pl.col("_dl").is_not_null() & (none_date > pl.col("_dl")).fill_null(False)
    which = pl.when(pl.col("ex_base") == "priority_or_filing").then(
        pl.when(prio_ok.is_not_null()).then(pl.lit("the priority date")).otherwise(pl.lit("the filing date"))) \
        .when(pl.col("ex_base") == "filing").then(
            pl.when(pct).then(pl.lit("the international filing date")).otherwise(pl.lit("the filing date"))) \
        .otherwise(pl.lit("the search report publication"))
    note: pl.Expr = pl.when(pl.col("_dl").is_not_null()).then(
        pl.format("last day to request examination {} ({} months from {} {}; {})", pl.col("_dl"), pl.col("_months"), which,
                  pl.col("_base"), pl.col("ex_cite"))) \
        .when(pl.col("_dl_low").is_not_null()).then(
            pl.format("last day to request examination not before {} (the search report date is not on record; {})",
                      pl.col("_dl_low"), pl.col("ex_cite")))
    note = pl.when(none_shown & ~withdrawn).then(
        pl.format("{}; the record showed no request on {}, before that day", note, none_date)).otherwise(note)
    one_day = pl.duration(days=1)
    end_new = pl.col("_dl") + one_day
    j = j.with_columns(
        st_exam_after=pl.when(applies).then(pl.col("_dl_low") + one_day),
        st_exam_deadline=pl.when(applies).then(pl.col("_dl")),
        st_exam_requested=pl.when(applies).then(requested),
        st_exam_note=pl.when(applies).then(note),
    )
    earlier = withdrawn & (pl.col("st_end_date").is_null() | (end_new < pl.col("st_end_date")).fill_null(False))
    j = j.with_columns(
        st_end_date=pl.when(earlier).then(end_new).otherwise(pl.col("st_end_date")),
        st_end_status=pl.when(earlier).then(pl.lit("lapsed")).otherwise(pl.col("st_end_status")),
        end_reason=pl.when(earlier).then(pl.lit("no_exam_request")).otherwise(pl.col("end_reason")),
        st_term_log=pl.concat_list([pl.col("st_term_log"), _lines(
            _line(applies & requested, "examination request: on record ({}); {}",
                  pl.coalesce(pl.col("_req_event"), pl.format("status shown '{}'", pl.col("_text"))),
                  pl.coalesce(pl.col("st_exam_note"), pl.lit("last day not placed"))),
            _line(withdrawn, "examination request: none on record by {} ('{}'), after the last day {}: deemed withdrawn "
                  "from {} ({})", none_date, pl.col("_text"), pl.col("_dl"), end_new, pl.col("ex_source")),
            _line(applies & ~requested & ~withdrawn & pl.col("st_exam_note").is_not_null(),
                  "examination request: {}; without a request on record the application is pending only if one was filed "
                  "in time, else deemed withdrawn", pl.col("st_exam_note")),
            _line(applies & pl.col("_dl_low").is_null(),
                  "examination request: the last day cannot be placed (no {} date on record; {})",
                  pl.when(pl.col("ex_base") == "search_report").then(pl.lit("search report publication"))
                  .otherwise(pl.lit("filing")), pl.col("ex_source")),
        )]),
    )
    return j.drop("ex_months", "ex_months_before", "ex_change_from", "ex_base", "ex_pct_min_months", "ex_codes",
                  "ex_source", "ex_cite", "_req_event", "_state", "_text", "_sdate", "_dl", "_dl_low", "_base", "_months")
