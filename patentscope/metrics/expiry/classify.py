"""Stage 2: document type, dates, continuity candidates and flags (one row per publication)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from .common import _APP_TYPE_TO_DOC, _NOT_CONTINUITY, _NULL_S, GRANTED_TYPES, _chain, _date_lit, _line, _lines, _s
from .rules import TermRules, add_years


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
