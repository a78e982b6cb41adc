"""Expiry engine: expected expiry, status at any date and a calculation log per publication.

Pure polars: frames in, frames out; every rule parameter comes from the term-rules file
(``patentscope/data/term_rules.toml``, see :mod:`.expiry_rules` and docs/expiry.md).

Inputs (columns as in the warehouse tables, docs/schema.md; missing optional columns are nulls):

* ``publications``: pub_key, pub_number, country, doc_number, kind, kinds_seen, priority_date,
  filing_date, publication_date, grant_date, family_id
* ``term_inputs``: pub_key, source, application_type, earliest_us_filing_date,
  international_filing_date, pta_days, pte_days, terminal_disclaimer, disclaimer_expiry_date
* ``legal_events``: pub_key, jurisdiction, event_date, event_code, effect, source

Output of :func:`compute_expiry`: one row per publication and jurisdiction (the office; for a
granted EP patent also one row per national jurisdiction that legal events name, or that the
caller asks for with ``markets``), see ``EXPIRY_COLUMNS``. Dates are calendar dates; a patent
is in force on the days before its ``expiry_date`` (term_rules.toml ``[conventions]``).

Statuses: ``not yet filed`` (the date asked is before the filing), ``pending`` (an application,
or a patent before its grant date), ``in force``, ``expired by term``, ``lapsed`` (ended early
by a legal event: fee lapse, revocation, withdrawal), ``unknown`` (bad or missing input, said
in the log; never a guess).

The in-force stock and the holders' cliffs (:func:`in_force_stock`, :func:`holder_cliffs`)
count FAMILIES (``family_id``), never documents. :func:`refresh` recomputes everything and
stores it in the warehouse in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from ..errors import InputError, WarehouseError
from .expiry_evidence import ENDED_STATES, evidence_frame
from .expiry_inputs import derive_term_inputs
from .expiry_rules import TermRules, add_years, load_rules

STATUSES = ("not yet filed", "pending", "in force", "expired by term", "lapsed", "unknown")
GRANTED_TYPES = ("invention", "utility_model", "design", "plant", "reissue")
NO_HOLDER = "(no holder shown)"
ALL_JURISDICTIONS = "ALL"

PUB_SCHEMA: dict[str, Any] = {
    "pub_key": pl.String, "pub_number": pl.String, "country": pl.String, "doc_number": pl.String,
    "kind": pl.String, "kinds_seen": pl.List(pl.String), "priority_date": pl.Date, "filing_date": pl.Date,
    "publication_date": pl.Date, "grant_date": pl.Date, "family_id": pl.String,
}
TERM_INPUT_SCHEMA: dict[str, Any] = {
    "pub_key": pl.String, "source": pl.String, "application_type": pl.String,
    "earliest_us_filing_date": pl.Date, "international_filing_date": pl.Date, "pta_days": pl.Int64,
    "pte_days": pl.Int64, "terminal_disclaimer": pl.Boolean, "disclaimer_expiry_date": pl.Date, "note": pl.String,
}
EVENT_SCHEMA: dict[str, Any] = {
    "pub_key": pl.String, "jurisdiction": pl.String, "event_date": pl.Date, "event_code": pl.String,
    "effect": pl.String, "source": pl.String,
}
PRIORITY_SCHEMA: dict[str, Any] = {
    "pub_key": pl.String, "seq": pl.Int64, "claim_as_written": pl.String, "priority_country": pl.String,
    "priority_date": pl.Date, "claim_type": pl.String,
}
HOLDER_SCHEMA: dict[str, Any] = {"pub_key": pl.String, "holder_group": pl.String}
# priority claims that can never move a US term (35 USC 119(a) foreign priority, 119(e) provisionals)
_NOT_CONTINUITY = ("foreign", "provisional")

_TI_FIELDS = ("application_type", "earliest_us_filing_date", "international_filing_date", "pta_days", "pte_days",
              "terminal_disclaimer", "disclaimer_expiry_date")
_APP_TYPE_TO_DOC = {"utility": "invention", "design": "design", "plant": "plant", "utility_model": "utility_model",
                    "reissue": "reissue"}

# The columns of compute_expiry's result (the warehouse table expiry_results stores these).
EXPIRY_COLUMNS = (
    "pub_key", "pub_number", "jurisdiction", "office", "family_id", "document_type", "rule", "rule_source",
    "base_date", "base_basis", "in_force_from", "in_force_from_basis", "term_expiry", "expiry_date",
    "expiry_earliest", "expiry_latest", "headline_rule",
    "expiry_is_upper_bound", "end_reason", "lapse_periods", "status", "status_date", "status_basis", "status_reason",
    "rests_on_fee_assumption", "status_as_shown", "status_evidence", "status_conflict",
    "flags", "warnings", "missing", "calculation_log",
)
# How the headline expiry_date is chosen inside [expiry_earliest, expiry_latest] (docs/expiry.md).
HEADLINE_RULES = {
    "exact": "the interval is one day: the headline is that day",
    "event": "a recorded legal event fixes the end",
    "latest_admissible_e": "US: the term if the printed filing date were the first US filing, moved to the latest "
                           "first US filing the bounds admit (= the latest end)",
    "upper_bound": "only the latest end is known (earliest unknown): the headline is that latest end",
}
# Status inputs kept on the frame so that status_at() can re-evaluate any date.
_STATUS_INPUTS = ("st_hard", "st_exists_from", "st_end_date", "st_end_status", "st_granted", "st_in_force_from_exact",
                  "st_sure_until", "st_bound_reason", "st_validation_known", "st_potential_end", "st_term_log",
                  "st_fee_assumed_from", "st_conflict_from")


# ----------------------------------------------------------------------------------------------
# small helpers


def _conform(df: pl.DataFrame | None, schema: dict[str, Any], name: str) -> pl.DataFrame:
    """Select the schema's columns (nulls for absent ones) with the schema's types."""
    if df is None:
        return pl.DataFrame(schema=schema)
    if "pub_key" not in df.columns:
        raise InputError(f"the {name} frame needs a pub_key column (has: {', '.join(df.columns) or 'none'})")
    cols = []
    for c, t in schema.items():
        if c not in df.columns:
            cols.append(pl.lit(None, dtype=t).alias(c))
        elif t == pl.Date and df.schema[c] == pl.String:
            cols.append(pl.col(c).str.to_date("%Y-%m-%d").alias(c))
        elif df.schema[c] != t:
            cols.append(pl.col(c).cast(t).alias(c))
        else:
            cols.append(pl.col(c))
    try:
        return df.select(cols)
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError) as e:
        raise InputError(f"the {name} frame has a value of the wrong type ({str(e).splitlines()[0]})") from None


def _s(e: pl.Expr) -> pl.Expr:
    """A value for the log: its text, or 'not shown'."""
    return pl.coalesce(e.cast(pl.String), pl.lit("not shown"))


def _line(cond: pl.Expr, template: str, *args: pl.Expr) -> pl.Expr:
    """A log line when ``cond`` holds (null otherwise)."""
    text = pl.format(template, *args) if args else pl.lit(template)
    return pl.when(cond).then(text).otherwise(pl.lit(None, dtype=pl.String))


def _lines(*exprs: pl.Expr) -> pl.Expr:
    """The non-null lines of ``exprs`` as a list."""
    return pl.concat_list(list(exprs)).list.drop_nulls()


def _chain(cases: Sequence[tuple[pl.Expr, pl.Expr]], otherwise: pl.Expr) -> pl.Expr:
    if not cases:
        return otherwise
    out: Any = pl.when(cases[0][0]).then(cases[0][1])
    for c, v in cases[1:]:
        out = out.when(c).then(v)
    return out.otherwise(otherwise)


def _date_lit(d: dt.date | None) -> pl.Expr:
    return pl.lit(d, dtype=pl.Date)


_NULL_S = pl.lit(None, dtype=pl.String)


# ----------------------------------------------------------------------------------------------
# stage 1: inputs


def _merge_term_inputs(ti: pl.DataFrame) -> pl.DataFrame:
    """One row per pub_key; a field two sources give differently is null plus a conflict note."""
    if ti.height == 0:
        return pl.DataFrame(schema={"pub_key": pl.String, "ti_sources": pl.String, "ti_notes": pl.String,
                                    "ti_conflicts": pl.List(pl.String), **{f: TERM_INPUT_SCHEMA[f] for f in _TI_FIELDS}})
    agg = ti.sort("source").group_by("pub_key").agg(
        pl.col("source").drop_nulls().unique().sort().str.join(", ").alias("ti_sources"),
        pl.format("{}: {}", pl.col("source"), pl.col("note")).drop_nulls().str.join("; ").alias("ti_notes"),
        *[pl.col(f).drop_nulls().unique().sort().alias(f"{f}__vals") for f in _TI_FIELDS],
    )
    conflicts = [
        _line(pl.col(f"{f}__vals").list.len() > 1, f"term_inputs sources disagree on {f}: {{}}",
              pl.col(f"{f}__vals").cast(pl.List(pl.String)).list.join(" / "))
        for f in _TI_FIELDS
    ]
    return agg.select(
        "pub_key", "ti_sources", pl.when(pl.col("ti_notes") != "").then(pl.col("ti_notes")).alias("ti_notes"),
        _lines(*conflicts).alias("ti_conflicts"),
        *[pl.when(pl.col(f"{f}__vals").list.len() == 1).then(pl.col(f"{f}__vals").list.first()).alias(f) for f in _TI_FIELDS],
    )


def _prepare_events(ev: pl.DataFrame, today: dt.date) -> pl.DataFrame:
    return ev.with_columns(
        pl.col("effect").str.strip_chars().str.to_lowercase(),
        pl.col("jurisdiction").str.strip_chars().str.to_uppercase(),
    ).with_row_index("ev_id").with_columns(ev_future=pl.col("event_date") > _date_lit(today))


# ----------------------------------------------------------------------------------------------
# stage 2: document type, dates, flags (one row per publication)


def _continuity(pubs: pl.DataFrame, pc: pl.DataFrame, rules: TermRules) -> pl.DataFrame:
    """What may be US continuity (35 USC 120/121/365(c)) for US publications: priority claims not
    typed foreign or provisional that name the US, WO or no country (the printed priority date
    itself bounds the first US filing in _terms, [us_continuity])."""
    us = pubs.filter(pl.col("country").str.to_uppercase() == "US")
    cand = pc.join(us.select("pub_key"), on="pub_key", how="semi").filter(
        ~pl.col("claim_type").str.to_lowercase().is_in(list(_NOT_CONTINUITY)).fill_null(False)
        & (pl.col("priority_country").is_null() | pl.col("priority_country").str.to_uppercase().is_in(["US", "WO"]))
    ).select("pub_key", "seq",
             pl.format("'{}' ({}, {})", pl.col("claim_as_written"), _s(pl.col("claim_type")), _s(pl.col("priority_date")))
             .alias("text"), "priority_date")
    return cand.sort("pub_key", "seq").group_by("pub_key").agg(
        pl.col("text").str.join("; ").alias("cont_claims"),
        pl.col("priority_date").min().alias("cont_min_date"),
        pl.col("priority_date").null_count().alias("cont_undated"),
    )


def _classify(pubs: pl.DataFrame, ti: pl.DataFrame, ev: pl.DataFrame, pc: pl.DataFrame, rules: TermRules,
              today: dt.date) -> pl.DataFrame:
    kinds = rules.kinds_frame().rename({"office": "country"})
    grant_ev = ev.filter(pl.col("effect") == "grant").group_by("pub_key").agg(pl.col("event_date").min().alias("grant_event_date"))
    td_ev = ev.filter(pl.col("effect") == "terminal_disclaimer").group_by("pub_key").agg(
        pl.col("event_date").min().alias("td_event_date"))
    future_ev = ev.filter(pl.col("ev_future")).group_by("pub_key").agg(
        pl.format("legal event {} ({}) is dated {}, after today ({})", pl.col("event_code"), _s(pl.col("effect")),
                  pl.col("event_date"), pl.lit(today.isoformat())).sort().alias("future_event_flags"))
    seen = (
        pubs.select("pub_key", "country", "kinds_seen").explode("kinds_seen").drop_nulls("kinds_seen")
        .join(kinds.rename({"kind": "kinds_seen", "kind_type": "seen_type"}), on=["country", "kinds_seen"], how="left")
        .group_by("pub_key").agg(pl.col("seen_type").is_in(list(GRANTED_TYPES)).fill_null(False).all().alias("all_kinds_grant"))
    )
    p = (
        pubs.with_columns(pl.col("country").str.to_uppercase(), pl.col("kind").str.strip_chars().str.to_uppercase(),
                          pl.coalesce(pl.col("family_id"), pl.lit("PUB:") + pl.col("pub_key")).alias("family_id"),
                          pl.coalesce(pl.col("pub_number"), pl.col("pub_key")).alias("pub_number"))
        .join(ti, on="pub_key", how="left")
        .join(kinds, on=["country", "kind"], how="left")
        .join(grant_ev, on="pub_key", how="left")
        .join(td_ev, on="pub_key", how="left")
        .join(future_ev, on="pub_key", how="left")
        .join(seen, on="pub_key", how="left")
        .join(_continuity(pubs, pc, rules), on="pub_key", how="left")
        .with_columns(pl.col("all_kinds_grant").fill_null(False))
    )

    # number series (when no kind was shown)
    num_cases: list[tuple[pl.Expr, pl.Expr]] = []
    num_pat: list[tuple[pl.Expr, pl.Expr]] = []
    for office, entries in rules.number_series.items():
        for typ, pat in entries:
            cond = (pl.col("country") == office) & pl.col("doc_number").str.contains(pat)
            num_cases.append((cond, pl.lit(typ)))
            num_pat.append((cond, pl.lit(pat)))
    p = p.with_columns(
        number_type=_chain(num_cases, _NULL_S),
        number_pattern=_chain(num_pat, _NULL_S),
        app_type_doc=pl.col("application_type").replace_strict(_APP_TYPE_TO_DOC, default=None, return_dtype=pl.String),
        grant_known=pl.coalesce(pl.col("grant_date"), pl.col("grant_event_date")),
        granted_default=pl.col("country").replace_strict(rules.granted_type_when_kind_missing, default=None,
                                                         return_dtype=pl.String),
    )
    kind_missing = pl.col("kind").is_null()
    evidence = pl.col("grant_known").is_not_null()
    number_granted = pl.when(pl.col("number_type") != "application").then(pl.col("number_type"))
    granted_type = pl.coalesce(pl.col("app_type_doc"), number_granted, pl.col("granted_default"))
    p = p.with_columns(
        document_type=_chain([
            (~kind_missing, pl.col("kind_type")),
            (evidence & (pl.col("number_type") == "application").fill_null(False), _NULL_S),
            (evidence, granted_type),
        ], pl.col("number_type")),
        doc_how=_chain([
            (~kind_missing & pl.col("kind_type").is_not_null(),
             pl.format("kind {} ([kinds.{}]) -> {}", pl.col("kind"), pl.col("country"), pl.col("kind_type"))),
            (kind_missing & evidence & pl.col("app_type_doc").is_not_null(),
             pl.format("no kind shown; a grant date is shown, so granted; type {} from term_inputs.application_type '{}'",
                       pl.col("app_type_doc"), pl.col("application_type"))),
            (kind_missing & evidence & number_granted.is_not_null(),
             pl.format("no kind shown; a grant date is shown, so granted; number {} is in the {} series ([number_series] {})",
                       pl.col("doc_number"), pl.col("number_type"), pl.col("number_pattern"))),
            (kind_missing & evidence & pl.col("granted_default").is_not_null(),
             pl.format("no kind shown; a grant date is shown, so granted; {} grants only {} ([granted_type_when_kind_missing])",
                       pl.col("country"), pl.col("granted_default"))),
            (kind_missing & pl.col("number_type").is_not_null(),
             pl.format("no kind shown; number {} is in the {} series ([number_series] {})",
                       pl.col("doc_number"), pl.col("number_type"), pl.col("number_pattern"))),
        ], _NULL_S),
    )
    # the rule: an application is measured by its office's invention rule (what a patent on it would get)
    rules_f = rules.rules_frame().rename({"office": "country", "document_type": "rule_document"})
    p = p.with_columns(rule_document=pl.when(pl.col("document_type") == "application").then(pl.lit("invention"))
                       .otherwise(pl.col("document_type"))).join(rules_f, on=["country", "rule_document"], how="left")
    # US maintenance fees (35 USC 41(b)) are due only on patents whose application was filed on/after
    # 1980-12-12 (Pub. L. 96-517 s. 8): older patents have no fee windows (and cannot lapse for non-payment)
    fee_key = pl.coalesce("international_filing_date", "filing_date")
    p = p.with_columns(
        fee_lapse_years=pl.when(pl.col("fee_filed_from").is_not_null() & (fee_key < pl.col("fee_filed_from")).fill_null(False))
        .then(pl.lit([], dtype=pl.List(pl.Int32))).otherwise(pl.col("fee_lapse_years")),
        fee_not_due=pl.col("fee_filed_from").is_not_null() & (fee_key < pl.col("fee_filed_from")).fill_null(False),
    )
    p = p.with_columns(
        fee_first_lapse=pl.when(pl.col("fee_lapse_years").list.len() > 0)
        .then(add_years(pl.col("grant_date"), pl.col("fee_lapse_years").list.min(), rules.leap_day)),
    )

    # flags: bad input -> status unknown
    floor = _date_lit(rules.earliest_plausible_date)
    now = _date_lit(today)
    office_known = pl.col("country").is_in(sorted(rules.offices))
    date_cols = ("priority_date", "filing_date", "publication_date", "grant_date", "earliest_us_filing_date",
                 "international_filing_date")
    flags = [
        _line(~office_known, "office {} has no term rules in term_rules.toml (known: " + ", ".join(sorted(rules.offices)) + ")",
              pl.col("country")),
        _line(office_known & ~kind_missing & pl.col("kind_type").is_null(),
              "kind {} is not a known {} kind code ([kinds.{}] in term_rules.toml)", pl.col("kind"), pl.col("country"),
              pl.col("country")),
        _line(office_known & kind_missing & evidence & (pl.col("number_type") == "application").fill_null(False),
              "number {} is in the application-publication series but a grant date {} is shown", pl.col("doc_number"),
              pl.col("grant_known")),
        _line(office_known & kind_missing & evidence & granted_type.is_null()
              & ~(pl.col("number_type") == "application").fill_null(False),
              "no kind shown: a grant date is shown but nothing tells the type of patent (no term_inputs.application_type, "
              "no number series, no [granted_type_when_kind_missing] for {})", pl.col("country")),
        _line(office_known & kind_missing & ~evidence & pl.col("number_type").is_null(),
              "no kind shown and no grant date: cannot tell an application from a patent (no number series for {})",
              pl.col("country")),
        _line(pl.col("application_type").is_not_null() & pl.col("app_type_doc").is_null(),
              "term_inputs.application_type {} is not one of " + ", ".join(_APP_TYPE_TO_DOC), pl.col("application_type")),
        _line(pl.col("kind_type").is_in(list(GRANTED_TYPES)).fill_null(False) & pl.col("app_type_doc").is_not_null()
              & (pl.col("app_type_doc") != pl.col("kind_type")).fill_null(False),
              "kind {} says {} but term_inputs.application_type says {}", pl.col("kind"), pl.col("kind_type"),
              pl.col("application_type")),
        _line(pl.col("kind_type").is_in(["application", "international_application"]).fill_null(False) & evidence,
              "kind {} is an application publication but a grant date {} is shown", pl.col("kind"), pl.col("grant_known")),
        _line(office_known & pl.col("document_type").is_not_null() & pl.col("rule_id").is_null(),
              "no term rule for {} {} in term_rules.toml", pl.col("country"), pl.col("document_type")),
        *[_line((pl.col(c) > now).fill_null(False), f"{c} {{}} is after today ({today.isoformat()})", pl.col(c))
          for c in date_cols],
        *[_line((pl.col(c) < floor).fill_null(False), f"{c} {{}} is before {rules.earliest_plausible_date} (impossible)",
                pl.col(c)) for c in (*date_cols, "disclaimer_expiry_date")],
        _line((pl.col("grant_known") < pl.col("filing_date")).fill_null(False), "grant date {} is before the filing date {}",
              pl.col("grant_known"), pl.col("filing_date")),
        _line((pl.col("filing_date") > pl.col("publication_date")).fill_null(False),
              "filing date {} is after the publication date {}", pl.col("filing_date"), pl.col("publication_date")),
        _line((pl.col("earliest_us_filing_date") > pl.col("filing_date")).fill_null(False),
              "term_inputs.earliest_us_filing_date {} is after the filing date {}", pl.col("earliest_us_filing_date"),
              pl.col("filing_date")),
        _line((pl.col("international_filing_date") > pl.col("filing_date")).fill_null(False),
              "term_inputs.international_filing_date {} is after the filing date {}", pl.col("international_filing_date"),
              pl.col("filing_date")),
        _line((pl.col("grant_known") < pl.col("international_filing_date")).fill_null(False),
              "grant date {} is before the international filing date {}", pl.col("grant_known"),
              pl.col("international_filing_date")),
        _line((pl.col("pta_days") < 0).fill_null(False), "term_inputs.pta_days {} is negative", pl.col("pta_days")),
        _line((pl.col("pte_days") < 0).fill_null(False), "term_inputs.pte_days {} is negative", pl.col("pte_days")),
        _line((pl.col("disclaimer_expiry_date") < pl.col("filing_date")).fill_null(False),
              "term_inputs.disclaimer_expiry_date {} is before the filing date {}", pl.col("disclaimer_expiry_date"),
              pl.col("filing_date")),
        _line((pl.col("grant_date") != pl.col("grant_event_date")).fill_null(False),
              "grant date {} differs from the 'grant' legal event {}", pl.col("grant_date"), pl.col("grant_event_date")),
    ]
    warnings = [
        # 35 USC 154(a)(3): priority under 119/365(a)/365(b)/386 is not taken into account in the term; no EP, JP,
        # CN or KR term counts from it either, so a typo there does not stop the computation
        _line((pl.col("priority_date") > pl.col("filing_date")).fill_null(False),
              "priority date {} is after the filing date {}: ignored (no term counts from a priority date, "
              "35 USC 154(a)(3), EPC Art. 63(1))", pl.col("priority_date"), pl.col("filing_date")),
    ]
    return p.with_columns(
        pub_warnings=_lines(*warnings),
        pub_flags=pl.concat_list([
            _lines(*flags),
            pl.col("ti_conflicts").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col("future_event_flags").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        ]),
    )


# ----------------------------------------------------------------------------------------------
# stage 3: the term (one row per publication)


def _terms(p: pl.DataFrame, rules: TermRules) -> pl.DataFrame:
    leap = rules.leap_day
    jp = rules.jp_pre_1995
    m = pl.col("method")
    doc = pl.col("document_type")
    is_app = doc == "application"
    granted = doc.is_in(list(GRANTED_TYPES)).fill_null(False)

    # --- base date
    e_us = pl.min_horizontal("earliest_us_filing_date", "international_filing_date", "filing_date")
    p = p.with_columns(
        base_date=_chain([
            (m == "us_utility", e_us),
            (m.is_in(["years_from_filing", "none"]), pl.coalesce("international_filing_date", "filing_date")),
            (m == "years_from_grant", pl.col("grant_known")),
        ], pl.lit(None, dtype=pl.Date)),
    )
    base = pl.col("base_date")
    # US: the first US filing E the term counts from, bounded (docs/expiry.md "US continuity, bounded").
    # A printed priority date P (not after the filing date) gives P <= E <= P + 12 months (14 for filings
    # on/after the PLT restoration date); E is never after the printed filing (or international) date.
    uc = rules.us_continuity
    us_row = m == "us_utility"
    exact_e = pl.col("earliest_us_filing_date").is_not_null()
    p_ok = pl.when((pl.col("priority_date") <= base).fill_null(False)).then(pl.col("priority_date"))
    window = pl.when((pl.col("filing_date") >= _date_lit(uc["restoration_from"])).fill_null(False)) \
        .then(pl.lit(f"{uc['restored_months']}mo")).otherwise(pl.lit(f"{uc['paris_months']}mo"))
    cont_low = pl.when(pl.col("cont_undated").fill_null(0) == 0).then(pl.col("cont_min_date"))
    p = p.with_columns(
        e_prio=pl.when(us_row & ~exact_e).then(p_ok),
        e_high=pl.when(us_row & ~exact_e & p_ok.is_not_null())
        .then(pl.min_horizontal(base, p_ok.dt.offset_by(window))).otherwise(pl.when(us_row).then(base)),
        e_low=_chain([
            (~us_row, pl.lit(None, dtype=pl.Date)),
            (exact_e, base),
            ((pl.col("cont_undated").fill_null(0) > 0) & p_ok.is_null(), pl.lit(None, dtype=pl.Date)),
        ], pl.min_horizontal(base, p_ok, cont_low)),
        e_window=pl.when(us_row).then(window),
    )
    p = p.with_columns(
        base_basis=_chain([
            (base.is_null(), _NULL_S),
            ((m == "us_utility") & (base == pl.col("earliest_us_filing_date")).fill_null(False),
             pl.lit("earliest US non-provisional or PCT filing claimed (term_inputs.earliest_us_filing_date)")),
            ((m == "us_utility") & (base == pl.col("international_filing_date")).fill_null(False),
             pl.lit("PCT international filing date (term_inputs.international_filing_date): national stage")),
            (m == "us_utility",
             pl.lit("filing date (publications.filing_date); earliest US filing not given in term_inputs, so continuity "
                    "is unknown: a continuation or divisional would count from an earlier date and end earlier")),
            (pl.col("international_filing_date").is_not_null(),
             pl.lit("PCT international filing date (term_inputs.international_filing_date): national/regional phase")),
            (m == "years_from_grant", pl.lit("grant date")),
        ], pl.lit("filing date (publications.filing_date)")),
        # US: filed on/after the change date? (the application's own filing date decides)
        us_after=_chain([
            (m != "us_utility", pl.lit(None, dtype=pl.Boolean)),
            # a national stage (35 USC 363, 371) counts as filed on its international filing date
            (pl.col("international_filing_date").is_not_null(), pl.col("international_filing_date") >= pl.col("change_date")),
            (pl.col("filing_date").is_not_null(), pl.col("filing_date") >= pl.col("change_date")),
            ((base >= pl.col("change_date")).fill_null(False), pl.lit(True)),
        ], pl.lit(None, dtype=pl.Boolean)),
        # years of the filing/grant rules (years_alt when filed on/after alt_from)
        years_used=_chain([
            (pl.col("alt_from").is_null(), pl.col("years")),
            ((m == "years_from_grant") & pl.col("filing_date").is_not_null(),
             pl.when(pl.col("filing_date") >= pl.col("alt_from")).then(pl.col("years_alt")).otherwise(pl.col("years"))),
            ((m == "years_from_grant") & (pl.col("grant_known") < pl.col("alt_from")).fill_null(False), pl.col("years")),
            (m == "years_from_grant", pl.lit(None, dtype=pl.Int32)),
            (base.is_not_null(), pl.when(base >= pl.col("alt_from")).then(pl.col("years_alt")).otherwise(pl.col("years"))),
        ], pl.lit(None, dtype=pl.Int32)),
    )
    after = pl.col("us_after")
    no_revival = (pl.col("grant_known") <= pl.col("no_revival_date")).fill_null(False)
    p = p.with_columns(
        variant=_chain([
            (m == "us_utility",
             _chain([
                 (after.fill_null(False), pl.lit("20y_from_earliest_filing")),
                 ((after == False) & pl.col("grant_known").is_null(), _NULL_S),  # noqa: E712
                 ((after == False) & no_revival, pl.lit("17y_from_grant_no_revival")),  # noqa: E712
                 (after == False, pl.lit("transition_greater_of_17_and_20")),  # noqa: E712
             ], _NULL_S)),
            (m == "years_from_grant", pl.when(pl.col("years_used") == pl.col("years_alt")).then(pl.lit("from_grant_alt"))
             .otherwise(pl.lit("from_grant"))),
            ((m == "years_from_filing") & (pl.col("country") == "JP") & (doc == "invention")
             & (base < _date_lit(jp["filed_before"])).fill_null(False),
             pl.lit("jp_pre_1995" if jp["enabled"] else "jp_pre_1995_disabled")),
            (m == "years_from_filing", pl.when(pl.col("years_used") == pl.col("years_alt")).then(pl.lit("from_filing_alt"))
             .otherwise(pl.lit("from_filing"))),
            (m == "none", pl.lit("none")),
        ], _NULL_S),
        t20=add_years(pl.when(us_row).then(pl.col("e_high")).otherwise(base), pl.col("years"), leap),
        t20_low=add_years(pl.col("e_low"), pl.col("years"), leap),
        t17=add_years(pl.col("grant_known"), pl.col("years_from_grant"), leap),
        t_years=add_years(base, pl.col("years_used"), leap),
        exam_pub=pl.when(pl.col("all_kinds_grant")).then(pl.col("publication_date")),
    )
    v = pl.col("variant")
    jp_exam_end = add_years(pl.col("exam_pub"), jp["years_from_examined_publication"], leap)
    jp_cap_end = add_years(base, jp["cap_years_from_filing"], leap)
    p = p.with_columns(
        term_base=_chain([
            (v == "20y_from_earliest_filing", pl.col("t20")),
            (v == "17y_from_grant_no_revival", pl.col("t17")),
            (v == "transition_greater_of_17_and_20", pl.max_horizontal("t17", "t20")),
            (v.is_in(["from_grant", "from_grant_alt", "from_filing", "from_filing_alt"]), pl.col("t_years")),
            (v == "jp_pre_1995", pl.when(pl.col("exam_pub").is_not_null()).then(pl.min_horizontal(jp_exam_end, jp_cap_end))),
            (v == "jp_pre_1995_disabled", jp_cap_end),
        ], pl.lit(None, dtype=pl.Date)),
        potential_end=_chain([
            (is_app & (m == "us_utility") & after.fill_null(False), pl.col("t20")),
            (is_app & (m == "years_from_filing"), pl.col("t_years")),
        ], pl.lit(None, dtype=pl.Date)),
        # PTA eligibility keys on the application's filing date; a national stage's is its international filing date
        adjust_ok=pl.col("adjust_days").fill_null(False)
        & (pl.col("adjust_from").is_null()
           | pl.when(pl.col("adjust_on_grant").fill_null(False)).then(pl.col("grant_known") >= pl.col("adjust_from"))
           .otherwise(pl.coalesce("international_filing_date", "filing_date", "base_date") >= pl.col("adjust_from"))
           .fill_null(False)),
    )
    # --- adjustments (days) and the terminal disclaimer
    pta_in = pl.col("pta_days").is_not_null() & (pl.col("pta_days") > 0)
    pte_in = pl.col("pte_days").is_not_null() & (pl.col("pte_days") > 0)
    us = m == "us_utility"
    p = p.with_columns(
        pta_applied=pl.when(granted & pl.col("adjust_ok")).then(pl.col("pta_days")),
        pte_applied=pl.when(granted & ((us & pl.col("adjust_days")) | (~us & pl.col("adjust_ok")))).then(pl.col("pte_days")),
    )
    days = pl.coalesce(pl.col("pta_applied"), pl.lit(0)) + pl.coalesce(pl.col("pte_applied"), pl.lit(0))
    p = p.with_columns(term_adj=pl.col("term_base") + pl.duration(days=days))
    td = (pl.col("terminal_disclaimer").fill_null(False) | pl.col("td_event_date").is_not_null()) & granted & us
    td_date = pl.col("disclaimer_expiry_date")
    # continuity not resolved by an ingestor, but priority claims that may be continuity are listed:
    # the term counts from the earliest of them at the earliest -> a lower bound
    cont = us & (pl.col("e_low").is_null() | (pl.col("e_low") != pl.col("e_high"))).fill_null(True)
    lower_raw = _chain([
        (~cont, pl.col("term_base")),
        (v == "20y_from_earliest_filing", pl.col("t20_low")),
        (v == "transition_greater_of_17_and_20", pl.max_horizontal(pl.col("t17"), pl.col("t20_low"))),
    ], pl.col("term_base"))
    lower_adj = lower_raw + pl.duration(days=days)
    p = p.with_columns(
        td=td,
        cont=cont,
        term_computed=pl.when(td & td_date.is_not_null()).then(pl.min_horizontal("term_adj", td_date))
        .otherwise(pl.col("term_adj")),
        td_capped=td & (td_date < pl.col("term_adj")).fill_null(False),
        term_lower=_chain([
            (td & td_date.is_null(), pl.lit(None, dtype=pl.Date)),
            (v == "jp_pre_1995_disabled", pl.lit(None, dtype=pl.Date)),
            (td, pl.min_horizontal(lower_adj, td_date)),
        ], lower_adj),
    )
    p = p.with_columns(
        bound_reason=_chain([
            (td & td_date.is_null(), pl.lit("a terminal disclaimer was filed and its date is not given")),
            (v == "jp_pre_1995_disabled", pl.lit("the [unconfirmed] JP pre-1995 rule is off, so 20 years from filing is only an upper bound")),
            (cont & (pl.col("term_lower") != pl.col("term_computed")).fill_null(True),
             pl.lit("the term may count from an earlier US or PCT filing (see the 'first US filing E' line) and "
                    "term_inputs.earliest_us_filing_date is not given")),
        ], _NULL_S),
        in_force_from=pl.when(granted).then(
            pl.coalesce(pl.col("grant_known"), pl.when(pl.col("all_kinds_grant")).then(pl.col("publication_date")))),
        in_force_from_basis=pl.when(~granted).then(_NULL_S)
        .when(pl.col("grant_date").is_not_null()).then(pl.lit("grant date"))
        .when(pl.col("grant_event_date").is_not_null()).then(pl.lit("'grant' legal event"))
        .when(pl.col("all_kinds_grant") & pl.col("publication_date").is_not_null())
        .then(pl.lit("on or before the publication date of its grant documents (no grant date shown)")),
    )

    # --- missing inputs (status unknown while they are missing; never a guess)
    missing = [
        _line(granted & (pl.col("variant").is_null()) & (m == "us_utility") & base.is_null(),
              "filing date (publications.filing_date): every US utility term counts from it"),
        _line(granted & (m == "us_utility") & (after == False) & pl.col("grant_known").is_null(),  # noqa: E712
              "grant date: filed before {} (so the term may be 17 years from grant)", pl.col("change_date")),
        _line(granted & (m == "us_utility") & after.is_null() & base.is_not_null(),
              "filing date (publications.filing_date): needed to tell a filing before {} from one after",
              pl.col("change_date")),
        _line(granted & (m == "years_from_grant") & pl.col("grant_known").is_null(), "grant date: the term counts from it"),
        _line(granted & (m == "years_from_grant") & pl.col("grant_known").is_not_null() & pl.col("years_used").is_null(),
              "filing date: {} or {} years depends on filing before or on/after {}", pl.col("years"), pl.col("years_alt"),
              pl.col("alt_from")),
        _line(granted & (m == "years_from_filing") & base.is_null(), "filing date (publications.filing_date): the term counts from it"),
        _line((v == "jp_pre_1995") & pl.col("exam_pub").is_null(),
              "examined-publication date (jp_pre_1995 rule enabled): no record whose kinds are all grant kinds shows a publication date"),
        _line(is_app & m.is_in(["us_utility", "years_from_filing"]) & base.is_null(),
              "filing date (publications.filing_date): needed to place the application in time"),
        _line(granted & pl.col("in_force_from").is_null(),
              "grant date: needed to tell when it came into force (no grant date, no 'grant' legal event, no dated grant document)"),
        _line(td & td_date.is_null(),
              "term_inputs.disclaimer_expiry_date: a terminal disclaimer was filed, so the patent may end before the computed date"),
    ]

    # --- the log lines that do not depend on the jurisdiction or the date
    rule_line = _chain([
        (v == "20y_from_earliest_filing",
         pl.format("rule {} (filed {} on/after {}): {} years from {} = {}", pl.col("rule_id"), _s(pl.col("filing_date")),
                   pl.col("change_date"), pl.col("years"), pl.col("e_high"), pl.col("t20"))),
        (v == "17y_from_grant_no_revival",
         pl.format("rule {} (granted {} on/before {}): {} years from grant = {}; that term had run out before {} and the "
                   "1994 change revived nothing", pl.col("rule_id"), pl.col("grant_known"), pl.col("no_revival_date"),
                   pl.col("years_from_grant"), pl.col("t17"), pl.col("change_date"))),
        (v == "transition_greater_of_17_and_20",
         pl.format("rule {} (filed {} before {}; granted {}, so in force on {} or granted later): greater of {} years from "
                   "grant = {} and {} years from {} = {} -> {}", pl.col("rule_id"), pl.col("filing_date"), pl.col("change_date"),
                   pl.col("grant_known"), pl.col("change_date"), pl.col("years_from_grant"), pl.col("t17"), pl.col("years"),
                   pl.col("e_high"), pl.col("t20"), pl.max_horizontal("t17", "t20"))),
        (v.is_in(["from_grant", "from_filing"]) & pl.col("alt_from").is_not_null(),
         pl.format("rule {} (filed {} before {}): {} years from {} = {}", pl.col("rule_id"),
                   _s(pl.coalesce(pl.col("filing_date"), base)), pl.col("alt_from"), pl.col("years_used"),
                   pl.when(m == "years_from_grant").then(pl.format("grant {}", base)).otherwise(base.cast(pl.String)),
                   pl.col("t_years"))),
        (v.is_in(["from_grant_alt", "from_filing_alt"]),
         pl.format("rule {} (filed {} on/after {}): {} years from {} = {}", pl.col("rule_id"),
                   _s(pl.coalesce(pl.col("filing_date"), base)), pl.col("alt_from"), pl.col("years_used"),
                   pl.when(m == "years_from_grant").then(pl.format("grant {}", base)).otherwise(base.cast(pl.String)),
                   pl.col("t_years"))),
        (v.is_in(["from_grant", "from_filing"]),
         pl.format("rule {}: {} years from {} = {}", pl.col("rule_id"), pl.col("years_used"),
                   pl.when(m == "years_from_grant").then(pl.format("grant {}", base)).otherwise(base.cast(pl.String)),
                   pl.col("t_years"))),
        (v == "jp_pre_1995",
         pl.format("rule jp_pre_1995 [unconfirmed, enabled in term_rules.toml] (filed {} before {}): the earlier of {} years "
                   "from the examined publication {} and {} years from filing = {} [{}]", base, _date_lit(jp["filed_before"]),
                   pl.lit(jp["years_from_examined_publication"]), _s(pl.col("exam_pub")), pl.lit(jp["cap_years_from_filing"]),
                   _s(pl.col("term_base")), pl.lit(jp["source"]))),
        (v == "jp_pre_1995_disabled",
         pl.format("rule {} (filed {} before {}): {} years from filing = {} is only an UPPER BOUND: the old rule (15 years "
                   "from the examined publication, capped at 20 from filing) is [unconfirmed] and off in term_rules.toml "
                   "[jp_pre_1995], so the patent may have ended earlier", pl.col("rule_id"), base,
                   _date_lit(jp["filed_before"]), pl.lit(jp["cap_years_from_filing"]), jp_cap_end)),
        (v == "none",
         pl.format("rule {}: no term of its own; a national/regional phase would run to {} at the latest (20 years from "
                   "the international filing date {})", pl.col("rule_id"), _s(add_years(base, 20, leap)), _s(base))),
    ], _NULL_S)
    app_line = _chain([
        (is_app & pl.col("potential_end").is_not_null(),
         pl.format("application: not a patent; a patent granted on it would end {} ({} years from {}, before any "
                   "adjustment) under rule {}", pl.col("potential_end"), pl.col("years_used").fill_null(pl.col("years")),
                   base, pl.col("rule_id"))),
        (is_app & (m == "us_utility") & (after == False),  # noqa: E712
         pl.format("application: not a patent; filed before {}, a patent on it would run at least 17 years from its "
                   "unknown grant date", pl.col("change_date"))),
    ], _NULL_S)
    adj_line = _chain([
        (~granted | pl.col("term_base").is_null() | ~pl.col("adjust_days").fill_null(False), _NULL_S),
        (~pl.col("adjust_ok") & ~us & ~pta_in & ~pte_in,
         pl.format("adjustment: none (rule {} adds days only for filings on/after {})", pl.col("rule_id"),
                   pl.col("adjust_from"))),
        (~pl.col("adjust_ok") & ~us, _NULL_S),
        ((pl.col("pta_applied").fill_null(0) + pl.col("pte_applied").fill_null(0)) > 0,
         pl.format("adjustment: +{} days PTA/compensation, +{} days PTE/extension (term_inputs) -> {}",
                   pl.col("pta_applied").fill_null(0), pl.col("pte_applied").fill_null(0), pl.col("term_adj"))),
        (pl.col("ti_sources").is_null(),
         pl.lit("adjustment: PTA/PTE days not known (no term_inputs row): none added; known days would make it later")),
        (pl.col("pta_days").is_null() & pl.col("pte_days").is_null(),
         pl.lit("adjustment: term_inputs gives no PTA/PTE days: none added")),
    ], pl.lit("adjustment: 0 days"))
    not_applied = _line(granted & pta_in & pl.col("pta_applied").is_null(),
                        "adjustment: term_inputs.pta_days {} not applied: the rule adds them only for filings on/after {}",
                        pl.col("pta_days"), _s(pl.col("adjust_from")))
    pte_not_applied = _line(granted & pte_in & pl.col("pte_applied").is_null(),
                            "adjustment: term_inputs.pte_days {} not applied (rule {} adds none for this filing)",
                            pl.col("pte_days"), _s(pl.col("rule_id")))
    adj_note = _line(granted & pl.col("adjust_note").is_not_null() & pl.col("pta_applied").is_not_null(), "note: {}",
                     pl.col("adjust_note"))
    td_line = _chain([
        (~granted | ~us, _NULL_S),
        (td & td_date.is_not_null() & (td_date < pl.col("term_adj")).fill_null(False),
         pl.format("override: terminal disclaimer -> expires with the reference patent on {} (computed {})", td_date,
                   _s(pl.col("term_adj")))),
        (td & td_date.is_not_null(),
         pl.format("terminal disclaimer: disclaimed date {} is not before the computed {}: no effect", td_date,
                   _s(pl.col("term_adj")))),
        (td, pl.lit("terminal disclaimer filed, disclaimed date not given: the computed date is an upper bound")),
        (pl.col("terminal_disclaimer") == False, pl.lit("terminal disclaimer: none (term_inputs)")),  # noqa: E712
    ], pl.lit("terminal disclaimer: not known (none recorded)"))
    non_us_td = _line(~us & (pl.col("terminal_disclaimer").fill_null(False) | pl.col("disclaimer_expiry_date").is_not_null()),
                      "terminal disclaimer given for a {} publication: not read (a US concept)", pl.col("country"))
    grant_line = _chain([
        (granted & pl.col("grant_date").is_null() & pl.col("grant_event_date").is_not_null(),
         pl.format("grant: no grant date shown; the 'grant' legal event gives {}", pl.col("grant_event_date"))),
        (granted & pl.col("grant_known").is_null() & pl.col("in_force_from").is_not_null(),
         pl.format("grant: no grant date shown; granted on or before {} (publication date of a record whose kinds are all "
                   "grant kinds)", pl.col("in_force_from"))),
    ], _NULL_S)
    cont_line = _chain([
        (pl.col("cont_claims").is_null() | (m != "us_utility").fill_null(True), _NULL_S),
        (pl.col("earliest_us_filing_date").is_not_null(),
         pl.format("continuity: {} -- covered by term_inputs.earliest_us_filing_date", pl.col("cont_claims"))),
        (pl.col("cont_undated") > 0,
         pl.format("continuity: {} -- if a claim is a US continuation/divisional or a PCT application (35 USC "
                   "120/121/365(c)) the term counts from it; an undated one leaves E without a lower bound unless a "
                   "priority date bounds it", pl.col("cont_claims"))),
        ((pl.col("cont_min_date") < base).fill_null(False),
         pl.format("continuity: {} -- if it is a US continuation/divisional or a PCT application (35 USC 120/121/365(c)) "
                   "the term counts from {} [{}]", pl.col("cont_claims"), pl.col("cont_min_date"),
                   pl.lit(rules.us_continuity_source))),
    ], pl.format("continuity: {} -- none earlier than the base date", pl.col("cont_claims")))
    e_line = _chain([
        ((m != "us_utility").fill_null(True) | pl.col("earliest_us_filing_date").is_not_null() | base.is_null(), _NULL_S),
        (pl.col("e_prio").is_not_null() & (pl.col("e_low") == pl.col("e_high")).fill_null(False),
         pl.format("first US filing E = {} (the printed priority date equals the filing date)", pl.col("e_high"))),
        (pl.col("e_prio").is_not_null(),
         pl.format("first US filing E: not given; the printed priority date {} bounds it: {} <= E <= min(filing {}, "
                   "priority + {}) = {} [{}]", pl.col("e_prio"), _s(pl.col("e_low")), base, pl.col("e_window"),
                   pl.col("e_high"), pl.lit(rules.us_continuity_source))),
        (pl.col("e_low").is_null(),
         pl.format("first US filing E: not given; E <= {} (the filing date) with no lower bound", base)),
        (pl.col("e_low") != pl.col("e_high"),
         pl.format("first US filing E: not given; {} <= E <= {}", pl.col("e_low"), pl.col("e_high"))),
    ], pl.format("first US filing E: not given and nothing printed shows an earlier one: E = the filing date {}", base))
    interval_line = _chain([
        (~granted | (m != "us_utility").fill_null(True) | pl.col("term_computed").is_null(), _NULL_S),
        (pl.col("term_lower").is_null(),
         pl.format("interval: at the latest {}; headline {} (E taken as late as the bounds admit)", pl.col("term_computed"),
                   pl.col("term_computed"))),
        (pl.col("term_lower") != pl.col("term_computed"),
         pl.format("interval: {} .. {}; headline {} = the term if the printed filing date were the first US filing, "
                   "moved to the latest E the bounds admit", pl.col("term_lower"), pl.col("term_computed"),
                   pl.col("term_computed"))),
        ((pl.col("e_low") != pl.col("e_high")).fill_null(False),
         pl.format("interval: exactly {}: every admissible E gives the same end (grant + {} years is at least 20 years "
                   "from the latest possible E)", pl.col("term_computed"), pl.col("years_from_grant"))),
    ], _NULL_S)
    pct_line = _line(pl.col("international_filing_date").is_not_null() & (m == "years_from_filing"),
                     "pct: term from the international filing date [" + rules.pct_source + "]")
    ti_parts = _lines(
        _line(pl.col("application_type").is_not_null(), "application type {}", pl.col("application_type")),
        _line(pl.col("earliest_us_filing_date").is_not_null(), "earliest US filing {}", pl.col("earliest_us_filing_date")),
        _line(pl.col("international_filing_date").is_not_null(), "international filing {}", pl.col("international_filing_date")),
        _line(pl.col("pta_days").is_not_null(), "PTA {} days", pl.col("pta_days")),
        _line(pl.col("pte_days").is_not_null(), "PTE {} days", pl.col("pte_days")),
        _line(pl.col("terminal_disclaimer").is_not_null(), "terminal disclaimer {}", pl.col("terminal_disclaimer")),
        _line(pl.col("disclaimer_expiry_date").is_not_null(), "disclaimer expiry {}", pl.col("disclaimer_expiry_date")),
    )
    ti_line = pl.when(pl.col("ti_sources").is_null()).then(pl.lit("term_inputs: none for this publication")).otherwise(
        pl.format("term_inputs ({}): {}{}", pl.col("ti_sources"),
                  pl.when(ti_parts.list.len() > 0).then(ti_parts.list.join(", ")).otherwise(pl.lit("no values")),
                  pl.when(pl.col("ti_notes").is_not_null()).then(pl.format(" (how: {})", pl.col("ti_notes")))
                  .otherwise(pl.lit(""))))
    p = p.with_columns(
        missing=_lines(*missing),
        pub_log=_lines(
            pl.format("document: {}: {}", pl.col("pub_number"), pl.coalesce(pl.col("doc_how"), pl.lit("type unknown"))),
            pl.format("dates: filed {}, granted {}, published {}, priority {}", _s(pl.col("filing_date")),
                      _s(pl.col("grant_date")), _s(pl.col("publication_date")), _s(pl.col("priority_date"))),
            ti_line,
            grant_line,
            pl.when(base.is_not_null() & pl.col("base_basis").is_not_null())
            .then(pl.format("base: {} = {}", base, pl.col("base_basis"))),
            pct_line,
            e_line,
            rule_line,
            cont_line,
            interval_line,
            pl.when(pl.col("rule_source").is_not_null()).then(pl.format("source: {}", pl.col("rule_source"))),
            app_line,
            adj_line,
            not_applied,
            pte_not_applied,
            adj_note,
            td_line,
            non_us_td,
        ),
    )
    return p


# ----------------------------------------------------------------------------------------------
# stage 4: jurisdictions and legal events (one row per publication and jurisdiction)


def _targets(p: pl.DataFrame, ev: pl.DataFrame, markets: Sequence[str]) -> pl.DataFrame:
    """The office row of every publication, plus national rows of granted EP bundles."""
    office_rows = p.select("pub_key", pl.col("country").alias("jurisdiction"), pl.lit(False).alias("national"))
    bundles = p.filter(pl.col("national_members").fill_null(False) & (pl.col("document_type") == "invention")).select("pub_key")
    from_events = (ev.join(bundles, on="pub_key", how="semi").filter(pl.col("jurisdiction") != "EP")
                   .select("pub_key", "jurisdiction").unique())
    asked = [m.strip().upper() for m in markets if m and m.strip().upper() != "EP"]
    from_markets = bundles.join(pl.DataFrame({"jurisdiction": asked}, schema={"jurisdiction": pl.String}), how="cross")
    national = pl.concat([from_events, from_markets.select("pub_key", "jurisdiction")]).unique().with_columns(
        national=pl.lit(True))
    return pl.concat([office_rows, national]).unique(["pub_key", "jurisdiction"])


def _apply_events(p: pl.DataFrame, ev: pl.DataFrame, t: pl.DataFrame, rules: TermRules) -> pl.DataFrame:
    """Per (pub_key, jurisdiction): the legal-event end, lapse periods and log lines."""
    leap = rules.leap_day
    office = p.select("pub_key", pl.col("country").alias("office"), "grant_known", "fee_lapse_years", "term_computed",
                      "document_type")
    # which events apply to which row: the row's own jurisdiction; EP-wide events apply to every EP row
    tj = t.join(office, on="pub_key", how="left")
    usable = ev.filter(~pl.col("ev_future"))
    matched = (
        tj.join(usable, on="pub_key", how="inner", suffix="_ev")
        .filter((pl.col("jurisdiction_ev") == pl.col("jurisdiction"))
                | ((pl.col("office") == "EP") & (pl.col("jurisdiction_ev") == "EP")))
    )
    # events that apply to no row at all
    unmatched = (
        usable.join(matched.select("ev_id").unique(), on="ev_id", how="anti")
        .join(office.select("pub_key", "office"), on="pub_key", how="inner")
        .group_by("pub_key").agg(
            pl.format("event {} [{}] {} ({}): ignored, it applies to no jurisdiction of this {} publication",
                      pl.col("event_date"), pl.col("jurisdiction"), pl.col("event_code"), _s(pl.col("effect")),
                      pl.col("office")).sort().alias("unmatched_lines"))
    )
    # effective date: US maintenance-fee lapses end the patent at grant + 4/8/12 years
    lapse_set = set(rules.ends_lapsed)
    fee = (
        matched.filter((pl.col("effect") == "lapse") & pl.col("grant_known").is_not_null()
                       & (pl.col("fee_lapse_years").list.len() > 0))
        .select("pub_key", "jurisdiction", "ev_id", "event_date", "grant_known", "fee_lapse_years")
        .explode("fee_lapse_years")
        .with_columns(cand=add_years(pl.col("grant_known"), pl.col("fee_lapse_years"), leap))
        .filter(pl.col("cand") <= pl.col("event_date"))
        .group_by("pub_key", "jurisdiction", "ev_id")
        .agg(pl.col("cand").max().alias("fee_effective"),
             pl.col("fee_lapse_years").sort_by("cand").last().alias("fee_years"))
    )
    matched = matched.join(fee, on=["pub_key", "jurisdiction", "ev_id"], how="left").with_columns(
        effective=pl.coalesce("fee_effective", "event_date"),
        fee_rule=(pl.col("effect") == "lapse") & (pl.col("fee_lapse_years").list.len() > 0).fill_null(False),
    )
    # reinstatements undo every earlier lapse (by recorded date)
    undo = rules.undoes_lapse
    reinst = matched.filter(pl.col("effect").is_in(list(undo))).select("pub_key", "jurisdiction",
                                                                      pl.col("event_date").alias("reinst_date"))
    lapses = matched.filter(pl.col("effect") == "lapse")
    paired = (
        lapses.select("pub_key", "jurisdiction", "ev_id", "event_date")
        .join(reinst, on=["pub_key", "jurisdiction"], how="inner")
        .filter(pl.col("reinst_date") >= pl.col("event_date"))
        .group_by("ev_id").agg(pl.col("reinst_date").min())
    )
    matched = matched.join(paired, on="ev_id", how="left")
    final_lapsed = pl.col("effect").is_in(sorted(lapse_set)) & ((pl.col("effect") != "lapse") | pl.col("reinst_date").is_null())
    by_term = pl.col("effect").is_in(list(rules.ends_by_term))
    read = {*rules.ends_lapsed, *rules.ends_by_term, *rules.undoes_lapse, "fee_paid", "terminal_disclaimer", "grant"}
    what = _chain([
        ((pl.col("effect") == "lapse") & pl.col("fee_rule") & pl.col("fee_effective").is_not_null(),
         pl.format("lapse effective {} (grant {} + {} years: fee not paid)", pl.col("effective"), pl.col("grant_known"),
                   pl.col("fee_years"))),
        ((pl.col("effect") == "lapse") & pl.col("fee_rule") & pl.col("grant_known").is_null(),
         pl.lit("lapse effective on the event date (grant date unknown, so the fee anniversary cannot be placed)")),
        ((pl.col("effect") == "lapse") & pl.col("fee_rule"),
         pl.lit("FLAG: lapse recorded before the first fee anniversary; effective on the event date")),
        (pl.col("effect") == "lapse", pl.lit("lapse effective on the event date")),
        (pl.col("effect").is_in(list(undo)), pl.lit("reinstatement: undoes the earlier lapse(s)")),
        (pl.col("effect").is_in(sorted(lapse_set)), pl.format("{}: ends it on the event date", pl.col("effect"))),
        (by_term, pl.lit("expiry: ends it by term on the event date")),
        (pl.col("effect") == "fee_paid", pl.lit("fee paid")),
        (pl.col("effect") == "terminal_disclaimer", pl.lit("terminal disclaimer recorded")),
        (pl.col("effect") == "grant", pl.lit("grant")),
        (pl.col("effect").is_null(), pl.lit("no effect given: not read")),
    ], pl.format("effect {} is not read by the engine", pl.col("effect")))
    undone = pl.when((pl.col("effect") == "lapse") & pl.col("reinst_date").is_not_null()).then(
        pl.format(" -- undone by the reinstatement of {}", pl.col("reinst_date"))).otherwise(pl.lit(""))
    matched = matched.with_columns(
        ev_line=pl.format("event {} [{}] {} ({}): {}{}", pl.col("event_date"), pl.col("jurisdiction_ev"), pl.col("event_code"),
                          _s(pl.col("effect")), what, undone),
        ev_read=pl.col("effect").is_in(sorted(read)).fill_null(False),
    )
    agg = matched.sort("event_date", "ev_id").group_by("pub_key", "jurisdiction").agg(
        pl.col("ev_line").alias("event_lines"),
        pl.col("effective").filter(final_lapsed).min().alias("lapse_end"),
        pl.col("effect").filter(final_lapsed).sort_by(pl.col("effective").filter(final_lapsed)).first().alias("lapse_effect"),
        pl.col("event_date").filter(by_term).min().alias("expiry_event"),
        pl.struct(pl.col("effective").alias("start"), pl.col("reinst_date").alias("end"))
        .filter((pl.col("effect") == "lapse") & pl.col("reinst_date").is_not_null()).alias("lapse_periods"),
        (pl.col("jurisdiction_ev") == pl.col("jurisdiction")).sum().alias("n_own_events"),
        pl.col("effect").filter(pl.col("effect") == "fee_paid").len().alias("n_fee_paid"),
    )
    out = t.join(agg, on=["pub_key", "jurisdiction"], how="left").join(unmatched, on="pub_key", how="left")
    return out.with_columns(
        pl.col("event_lines").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        pl.col("unmatched_lines").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        pl.col("lapse_periods").fill_null(pl.lit([], dtype=pl.List(pl.Struct({"start": pl.Date, "end": pl.Date})))),
        pl.col("n_own_events").fill_null(0),
        pl.col("n_fee_paid").fill_null(0),
    )


# ----------------------------------------------------------------------------------------------
# stage 5: combine, and the status at a date


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
    ov_expiry = _line(pl.col("expiry_event").is_not_null() & (pl.col("expiry_event") != pl.col("term_computed")).fill_null(True)
                      & granted,
                      "override: the 'expiry' legal event of {} replaces the computed date {}", pl.col("expiry_event"),
                      _s(pl.col("term_computed")))
    ov_lapse = _line(early_wins & granted, "override: {} effective {} ends it before its term ({})", pl.col("lapse_effect"),
                     early, _s(pl.col("term_eff")))
    late_lapse = _line(early.is_not_null() & ~early_wins & granted,
                       "FLAG: {} effective {} is on/after the term end {}: not used for the status; the term inputs "
                       "(PTA, continuity) may be wrong", pl.col("lapse_effect"), early, pl.col("term_eff"))
    us_fees = _line(granted & (pl.col("fee_lapse_years").list.len() > 0).fill_null(False) & (pl.col("n_own_events") == 0)
                    & pl.col("term_eff").is_not_null(),
                    "maintenance fees: no legal events for {} in the warehouse; assumed paid (a fee lapse would end it at "
                    "grant + {} years)", pl.col("jurisdiction"),
                    pl.col("fee_lapse_years").cast(pl.List(pl.String)).list.join("/"))
    nat_line = _chain([
        (nat & (pl.col("n_own_events") > 0),
         pl.format("jurisdiction {}: national part of the EP bundle; EP-wide events and {} event(s) for {} apply",
                   pl.col("jurisdiction"), pl.col("n_own_events"), pl.col("jurisdiction"))),
        (nat, pl.format("jurisdiction {}: no legal events for {} in the warehouse, so whether the EP patent took effect "
                        "and was kept there is unknown", pl.col("jurisdiction"), pl.col("jurisdiction"))),
        ((pl.col("country") == "EP") & granted,
         pl.lit("jurisdiction EP: the bundle as a whole (EP-wide events); national lapses are in the national rows")),
    ], _NULL_S)
    empty = pl.lit([], dtype=pl.List(pl.String))
    r = r.with_columns(
        flags=pl.col("pub_flags"),
        st_term_log=pl.concat_list([
            pl.col("pub_log"),
            _lines(nat_line),
            pl.col("event_lines").fill_null(empty),
            pl.col("unmatched_lines").fill_null(empty),
            _lines(ov_expiry, ov_lapse, late_lapse, us_fees),
            pl.col("pub_warnings").list.eval(pl.format("WARNING: {}", pl.element())),
            pl.col("pub_flags").list.eval(pl.format("FLAG: {}", pl.element())),
            pl.col("missing").list.eval(pl.format("MISSING: {}", pl.element())),
        ]),
    )
    return r


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
        (ended.fill_null(False) & (pl.col("end_reason") == "status_evidence").fill_null(False), "", "ended",
         pl.format("{} by {} at the latest: the record's own status shows it ended (see 'evidence')",
                   pl.col("st_end_status"), end)),
        (ended.fill_null(False), "", "ended", pl.format("{} on {} ({})", pl.col("st_end_status"), end,
                                                           pl.coalesce(pl.col("end_reason"), pl.lit("term")))),
        (in_lapse, "lapsed", "reinstated_lapse", pl.lit("in a lapse later undone by a reinstatement")),
        (doc == "international_application", "unknown", "pct_international",
         pl.lit("a PCT international application is never in force itself; see its national/regional phases")),
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
) -> pl.DataFrame:
    """Expected expiry, status at ``at`` and calculation log per publication and jurisdiction.

    ``status_evidence``: the record's own status (:func:`.expiry_evidence.evidence_frame` of the
    field_values status_as_shown / expiry_as_shown rows); it is weighed against the computed
    term, and a contradiction is resolved towards the evidence or flagged (docs/expiry.md).

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
    p = _terms(_classify(pubs, ti, ev, pc, rules, today), rules)
    t = _targets(p, ev, list(markets))
    rows = _apply_events(p, ev, t, rules)
    r = _finish(p, rows)
    r = _apply_evidence(r, status_evidence, rules, today)
    r = status_at(r, at, rules)
    keep = [*EXPIRY_COLUMNS, *_STATUS_INPUTS]
    return r.select(keep).sort(["pub_key", pl.col("jurisdiction") != pl.col("office"), "jurisdiction"])


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
    from .expiry_evidence import EVIDENCE_SCHEMA
    return dict(EVIDENCE_SCHEMA)


def public_columns(expiry: pl.DataFrame) -> pl.DataFrame:
    """The documented columns only (drops the st_* status inputs)."""
    return expiry.select([c for c in EXPIRY_COLUMNS if c in expiry.columns])


# ----------------------------------------------------------------------------------------------
# in-force stock and cliffs (families, by holder group)


def _holders(holders: pl.DataFrame | None) -> pl.DataFrame:
    """The holder mapping as (pub_key, holder_group, valid_from, valid_to); the interval columns
    are optional (NULL = open), so a lineage that changes over time can be passed as it is."""
    schema = {**HOLDER_SCHEMA, "valid_from": pl.Date, "valid_to": pl.Date}
    if holders is None:
        return pl.DataFrame(schema=schema)
    missing = [c for c in HOLDER_SCHEMA if c not in holders.columns]
    if missing:
        raise InputError(f"the holder mapping needs columns pub_key, holder_group (missing {', '.join(missing)})")
    extra = [c for c in holders.columns if c not in schema]
    base = _conform(holders.select([c for c in holders.columns if c in schema]), schema, "holder mapping")
    if extra:
        base = pl.concat([base, holders.select(extra)], how="horizontal")
    return base.drop_nulls(["pub_key", "holder_group"]).unique()


def _assign_holders(live: pl.DataFrame, holders: pl.DataFrame | None, day: pl.Expr) -> pl.DataFrame:
    """Each row of ``live`` once per holder group valid on ``day`` (a column or a literal date);
    rows with none get '(no holder shown)'."""
    h = _holders(holders)
    f = live.with_row_index("_live")
    valid = (pl.col("valid_from").is_null() | (pl.col("valid_from") <= day)) & (pl.col("valid_to").is_null()
                                                                               | (day < pl.col("valid_to")))
    matched = f.join(h, on="pub_key", how="inner").filter(valid).drop("valid_from", "valid_to")
    rest = f.join(matched.select("_live").unique(), on="_live", how="anti").with_columns(holder_group=pl.lit(NO_HOLDER))
    extra = [c for c in matched.columns if c not in rest.columns]
    rest = rest.with_columns([pl.lit(None, dtype=matched.schema[c]).alias(c) for c in extra])
    return pl.concat([matched, rest.select(matched.columns)]).drop("_live")


def live_families(expiry: pl.DataFrame, holders: pl.DataFrame | None, years: Iterable[int], *,
                  rules: TermRules | None = None) -> pl.DataFrame:
    """Every (publication, jurisdiction) in force on the reference day of each year, once per
    holder group valid that day.

    Input as :func:`in_force_stock` (``holders`` may carry extra columns, e.g. a country; they
    are kept). Output: the holder columns, jurisdiction, year, reference_date, family_id,
    pub_key."""
    rules = rules or load_rules()
    month, day = rules.stock_reference_day
    ys = sorted(set(years))
    dates = pl.DataFrame({"year": ys, "reference_date": [dt.date(y, month, day) for y in ys]},
                         schema={"year": pl.Int32, "reference_date": pl.Date})
    status, _, _ = _status_exprs(pl.col("reference_date"), rules.in_force_on_expiry_date, pl.col("st_in_lapse"))
    grid = expiry.select("pub_key", "jurisdiction", "family_id", *[c for c in expiry.columns if c.startswith("st_")],
                         "document_type", "in_force_from", "lapse_periods", "flags", "missing", "end_reason",
                         "status_conflict").join(dates, how="cross")
    live = _with_in_lapse(grid, "reference_date").filter(status == "in force").select(
        "pub_key", "jurisdiction", "family_id", "year", "reference_date")
    return _assign_holders(live, holders, pl.col("reference_date"))


def in_force_stock(
    expiry: pl.DataFrame,
    holders: pl.DataFrame | None,
    years: Iterable[int],
    *,
    today: dt.date | None = None,
    rules: TermRules | None = None,
    all_jurisdictions: bool = True,
) -> pl.DataFrame:
    """Families in force per holder group x jurisdiction x year, past and projected.

    ``expiry``: the full frame of :func:`compute_expiry`. ``holders``: (pub_key, holder_group
    [, valid_from, valid_to]), e.g. the holder groups of the holders work (a group is used on the
    reference days inside its interval, so lineage changes show), or
    ``publication_overview.holder_as_written`` renamed; a publication may belong to several
    groups (counted in each); publications without one count under '(no holder shown)'.
    Status is taken on the rules' reference day of each year (default 31 December). A year
    whose reference day is after ``today`` is ``projected``: it assumes no lapse beyond those
    already recorded and no new grant (pending applications never count).
    Output: holder_group, jurisdiction ('ALL' = in force in at least one jurisdiction),
    year, reference_date, families_in_force (distinct family_id), publications_in_force,
    projected. Only non-zero cells are listed.
    """
    rules = rules or load_rules()
    today = today or dt.date.today()
    ys = sorted(set(years))
    schema = {"holder_group": pl.String, "jurisdiction": pl.String, "year": pl.Int32, "reference_date": pl.Date,
              "families_in_force": pl.UInt32, "publications_in_force": pl.UInt32, "projected": pl.Boolean}
    if not ys or expiry.height == 0:
        return pl.DataFrame(schema=schema)
    live = live_families(expiry, holders, ys, rules=rules)
    frames = [live.select("holder_group", "jurisdiction", "year", "reference_date", "family_id", "pub_key")]
    if all_jurisdictions:
        frames.append(live.select("holder_group", pl.lit(ALL_JURISDICTIONS).alias("jurisdiction"), "year", "reference_date",
                                  "family_id", "pub_key"))
    out = (
        pl.concat(frames).group_by("holder_group", "jurisdiction", "year", "reference_date")
        .agg(pl.col("family_id").n_unique().cast(pl.UInt32).alias("families_in_force"),
             pl.col("pub_key").n_unique().cast(pl.UInt32).alias("publications_in_force"))
        .with_columns(projected=pl.col("reference_date") > _date_lit(today))
        .sort("holder_group", "jurisdiction", "year")
    )
    return out.select(list(schema))


def holder_cliffs(
    expiry: pl.DataFrame,
    holders: pl.DataFrame | None,
    *,
    at: dt.date,
    rules: TermRules | None = None,
    by_jurisdiction: bool = False,
) -> pl.DataFrame:
    """Each holder group's "cliff": the year by which half of its families in force at ``at``
    will have expired (on their expected expiry dates, assuming no further lapses).

    ``holders`` as in :func:`in_force_stock` (groups valid on ``at``).

    A family's end is the latest expiry date of its in-force members (in the jurisdiction, or
    anywhere when ``by_jurisdiction`` is False). With n families, the cliff is the
    ceil(n/2)-th earliest family end. Output: holder_group, [jurisdiction,] status_date,
    families_in_force, cliff_date, cliff_year, last_expiry (latest family end).
    """
    rules = rules or load_rules()
    status, _, _ = _status_exprs(_date_lit(at), rules.in_force_on_expiry_date, _in_lapse_at(at))
    keys = ["holder_group", "jurisdiction"] if by_jurisdiction else ["holder_group"]
    live = (
        _assign_holders(expiry.filter(status == "in force"), holders, _date_lit(at))
        .group_by(*keys, "family_id").agg(pl.col("expiry_date").max().alias("family_end"))
    )
    out = (
        live.group_by(*keys).agg(
            pl.len().cast(pl.UInt32).alias("families_in_force"),
            pl.col("family_end").sort().get(((pl.len() + 1) // 2) - 1).alias("cliff_date"),
            pl.col("family_end").max().alias("last_expiry"),
        )
        .with_columns(status_date=_date_lit(at), cliff_year=pl.col("cliff_date").dt.year().cast(pl.Int32))
        .sort(keys)
    )
    return out.select(*keys, "status_date", "families_in_force", "cliff_date", "cliff_year", "last_expiry")


# ----------------------------------------------------------------------------------------------
# the warehouse: read the inputs, write the derived tables


def load_inputs(con: duckdb.DuckDBPyConnection, pub_keys: Sequence[str] | None = None, *,
                derive_from_field_values: bool = True) -> dict[str, pl.DataFrame]:
    """The engine's input frames from a warehouse connection (read-only is fine): publications,
    term_inputs, legal_events, priority_claims and holders (publication_overview.holder_as_written
    as holder_group); only ``pub_keys`` when given.

    ``derive_from_field_values``: add term_inputs rows read from printed PTA and PCT data for
    publications with none (see :mod:`.expiry_inputs`; source 'field_values')."""
    where = "" if pub_keys is None else " WHERE pub_key IN (SELECT unnest($keys))"
    params = None if pub_keys is None else {"keys": list(pub_keys)}

    def q(sql: str) -> pl.DataFrame:
        return con.sql(sql + where, params=params).pl()

    try:
        out = {
            "publications": q(f"SELECT {', '.join(PUB_SCHEMA)} FROM publications"),
            "term_inputs": q(f"SELECT {', '.join(TERM_INPUT_SCHEMA)} FROM term_inputs"),
            "legal_events": q(f"SELECT {', '.join(EVENT_SCHEMA)} FROM legal_events"),
            "priority_claims": q(f"SELECT {', '.join(PRIORITY_SCHEMA)} FROM priority_claims"),
            "holders": q("SELECT pub_key, holder_as_written AS holder_group FROM publication_overview"),
        }
        shown = q("SELECT pub_key, field, value, source FROM field_values")
        out["status_evidence"] = evidence_frame(shown.filter(pl.col("field").is_in(["status_as_shown", "expiry_as_shown"])))
        if derive_from_field_values:
            fv = q("SELECT pub_key, field, value, chosen FROM field_values")
            derived = derive_term_inputs(fv, out["term_inputs"])
            if derived.height:
                out["term_inputs"] = pl.concat([out["term_inputs"], _conform(derived, TERM_INPUT_SCHEMA, "derived")],
                                               how="vertical_relaxed")
    except duckdb.CatalogException as e:
        raise WarehouseError(f"the warehouse lacks a table the expiry engine reads ({str(e).splitlines()[0]}); "
                             "run `patentscope migrate`") from None
    return out


@dataclass(frozen=True)
class ExpiryStats:
    status_date: dt.date
    rows: int
    publications: int
    by_status: dict[str, int]
    stock_rows: int
    cliff_rows: int
    holder_basis: str
    rules_version: str
    rules_sha256: str
    unknown_reasons: dict[str, int] = field(default_factory=dict)
    frame: pl.DataFrame | None = field(default=None, repr=False, compare=False)  # full compute_expiry result


_TABLES = ("expiry_results", "in_force_stock", "holder_cliffs")


def refresh(
    con: duckdb.DuckDBPyConnection,
    at: dt.date | None = None,
    *,
    today: dt.date | None = None,
    rules: TermRules | None = None,
    holders: pl.DataFrame | None = None,
    holder_basis: str | None = None,
    years: Iterable[int] | None = None,
    stock_pub_keys: Iterable[str] | None = None,
) -> ExpiryStats:
    """Recompute expiry, in-force stock and cliffs and store them in one transaction.

    ``con`` is a writable connection to a migrated warehouse (migration 0005_expiry). Tables
    ``expiry_results``, ``in_force_stock`` and ``holder_cliffs`` are replaced as a whole, so a
    re-run gives the same rows and a failure leaves the previous ones. ``holders``: a
    (pub_key, holder_group) frame (default: publication_overview.holder_as_written, recorded
    as holder_basis 'as_written'). ``years``: the stock years (default: from the earliest grant
    year to 25 years after ``at``).
    """
    rules = rules or load_rules()
    today = today or dt.date.today()
    at = at or today
    present = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    lacking = [t for t in _TABLES if t not in present]
    if lacking:
        raise WarehouseError(f"the warehouse has no {', '.join(lacking)} table(s); run `patentscope migrate` "
                             "(migration 0005_expiry) first")
    inp = load_inputs(con)
    if holders is None:
        holders, basis = inp["holders"], holder_basis or "as_written"
    else:
        basis = holder_basis or "holder_group"
    ex = compute_expiry(inp["publications"], inp["term_inputs"], inp["legal_events"], inp["priority_claims"], at=at,
                        today=today, rules=rules, status_evidence=inp.get("status_evidence"))
    if years is None:
        first = ex["in_force_from"].drop_nulls().min()
        y0 = first.year if isinstance(first, dt.date) else at.year
        years = range(min(y0, at.year), at.year + 26)
    # the stock and cliffs count only ``stock_pub_keys`` when given (e.g. the landscape, leaving
    # out citation neighbours); expiry_results covers every publication
    ex_stock = ex if stock_pub_keys is None else ex.filter(pl.col("pub_key").is_in(list(stock_pub_keys)))
    stock = in_force_stock(ex_stock, holders, years, today=today, rules=rules).with_columns(holder_basis=pl.lit(basis))
    cliffs = holder_cliffs(ex_stock, holders, at=at, rules=rules).with_columns(holder_basis=pl.lit(basis))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    table = public_columns(ex).with_columns(rules_version=pl.lit(rules.version), rules_sha256=pl.lit(rules.sha256),
                                            computed_at=pl.lit(now))
    from ..warehouse.toolkit import replace_tables

    replace_tables(con, {"expiry_results": table, "in_force_stock": stock, "holder_cliffs": cliffs},
                   what="storing the expiry results")
    office_rows = ex.filter(pl.col("jurisdiction") == pl.col("office"))
    counts = office_rows.group_by("status").len()
    unknown = office_rows.filter(pl.col("status") == "unknown").group_by("status_basis").len().sort("status_basis")
    return ExpiryStats(
        status_date=at, rows=ex.height, publications=office_rows.height,
        by_status=dict(zip(counts["status"].to_list(), counts["len"].to_list(), strict=True)),
        stock_rows=stock.height, cliff_rows=cliffs.height, holder_basis=basis, rules_version=rules.version,
        rules_sha256=rules.sha256,
        unknown_reasons=dict(zip(unknown["status_basis"].to_list(), unknown["len"].to_list(), strict=True)),
        frame=ex,
    )
