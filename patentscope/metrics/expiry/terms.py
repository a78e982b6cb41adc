"""Stage 3: the term (one row per publication): base date, US continuity bounds, the rule variant,
adjustments, terminal disclaimer, the interval and the log lines that do not depend on the date."""

from __future__ import annotations

import polars as pl

from .common import _NULL_S, GRANTED_TYPES, Cases, _cases, _chain, _date_lit, _line, _s, _with_texts
from .rules import TermRules, add_years


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
            (m.is_in(["years_from_filing", "none", "grant_then_filing"]),
             pl.coalesce("international_filing_date", "filing_date")),
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
            (m == "with_original", pl.lit("the original patent's term (a reissue ends with it)")),
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
             & (base < _date_lit(jp["new_law_from"])).fill_null(False),
             pl.lit("jp_pre_1995")),
            (m == "years_from_filing", pl.when(pl.col("years_used") == pl.col("years_alt")).then(pl.lit("from_filing_alt"))
             .otherwise(pl.lit("from_filing"))),
            # CA-style: filed on/after change_date -> years from filing; before -> years_from_grant from issue,
            # the later of the two where that term had not run out before longer_if_unexpired_on
            (m == "grant_then_filing",
             _chain([
                 ((base >= pl.col("change_date")).fill_null(False), pl.lit("filed_on_after_change")),
                 (base.is_null() | pl.col("grant_known").is_null(), _NULL_S),
                 ((add_years(pl.col("grant_known"), pl.col("years_from_grant"), leap) >= pl.col("unexpired_on")).fill_null(False),
                  pl.lit("later_of_issue_and_filing")),
             ], pl.lit("issue_before_change"))),
            (m == "with_original", pl.lit("with_original")),
            (m == "none", pl.lit("none")),
        ], _NULL_S),
        t20=add_years(pl.when(us_row).then(pl.col("e_high")).otherwise(base), pl.col("years"), leap),
        t20_low=add_years(pl.col("e_low"), pl.col("years"), leap),
        t17=add_years(pl.col("grant_known"), pl.col("years_from_grant"), leap),
        t_years=add_years(base, pl.col("years_used"), leap),
        exam_pub=pl.when(pl.col("all_kinds_grant")).then(pl.col("publication_date")),
    )
    v = pl.col("variant")
    # JP filed before 1995-07-01 (docs/expiry.md "JP before 1995"): the old Art. 67(1) term (the earlier of 15 years
    # from the examined publication and 20 from filing) stands only where it ended before the 1994 amendment came
    # into force; every patent still in force then got 20 years from filing. Without an examined-publication date,
    # the old term cannot have ended before 15 years from the filing date (the publication follows the filing).
    jp_from = _date_lit(jp["new_law_from"])
    jp_exam_end = add_years(pl.col("exam_pub"), jp["years_from_examined_publication"], leap)
    jp_cap_end = add_years(base, jp["cap_years_from_filing"], leap)
    jp_old = pl.when(pl.col("exam_pub").is_not_null()).then(pl.min_horizontal(jp_exam_end, jp_cap_end))
    jp_old_low = add_years(base, jp["years_from_examined_publication"], leap)
    jp_old_stands = (jp_old < jp_from).fill_null(False)
    jp_exact = pl.col("exam_pub").is_not_null() | (jp_old_low >= jp_from).fill_null(False)
    p = p.with_columns(
        term_base=_chain([
            (v == "20y_from_earliest_filing", pl.col("t20")),
            (v == "17y_from_grant_no_revival", pl.col("t17")),
            (v == "transition_greater_of_17_and_20", pl.max_horizontal("t17", "t20")),
            (v.is_in(["from_grant", "from_grant_alt", "from_filing", "from_filing_alt"]), pl.col("t_years")),
            (v == "jp_pre_1995", pl.when(jp_old_stands).then(jp_old).otherwise(jp_cap_end)),
            (v == "filed_on_after_change", pl.col("t20")),
            (v == "issue_before_change", pl.col("t17")),
            (v == "later_of_issue_and_filing", pl.max_horizontal("t17", "t20")),
        ], pl.lit(None, dtype=pl.Date)),
        potential_end=_chain([
            (is_app & (m == "us_utility") & after.fill_null(False), pl.col("t20")),
            (is_app & (m == "grant_then_filing") & (base >= pl.col("change_date")).fill_null(False), pl.col("t20")),
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
            ((v == "jp_pre_1995") & ~jp_exact, jp_old_low),
            (td, pl.min_horizontal(lower_adj, td_date)),
        ], lower_adj),
    )
    p = p.with_columns(
        bound_reason=_chain([
            (td & td_date.is_null(), pl.lit("a terminal disclaimer was filed and its date is not given")),
            ((v == "jp_pre_1995") & ~jp_exact,
             pl.format("filed before {} and no examined-publication (kokoku) date is shown: the old term (15 years from that "
                       "publication) may have ended before {}, when 20 years from filing replaced it", jp_from, jp_from)),
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
        Cases.line(granted & (pl.col("variant").is_null()) & (m == "us_utility") & base.is_null(),
                   "filing date (publications.filing_date): every US utility term counts from it"),
        Cases.line(granted & (m == "us_utility") & (after == False) & pl.col("grant_known").is_null(),  # noqa: E712
                   "grant date: filed before {} (so the term may be 17 years from grant)", pl.col("change_date")),
        Cases.line(granted & (m == "us_utility") & after.is_null() & base.is_not_null(),
                   "filing date (publications.filing_date): needed to tell a filing before {} from one after",
                   pl.col("change_date")),
        Cases.line(granted & (m == "years_from_grant") & pl.col("grant_known").is_null(), "grant date: the term counts from it"),
        Cases.line(granted & (m == "years_from_grant") & pl.col("grant_known").is_not_null() & pl.col("years_used").is_null(),
                   "filing date: {} or {} years depends on filing before or on/after {}", pl.col("years"), pl.col("years_alt"),
                   pl.col("alt_from")),
        Cases.line(granted & (m == "years_from_filing") & base.is_null(), "filing date (publications.filing_date): the term counts from it"),
        Cases.line(granted & (m == "grant_then_filing") & base.is_null(),
                   "filing date (publications.filing_date): filed before {} the term is {} years from issue, on/after it {} "
                   "years from filing", pl.col("change_date"), pl.col("years_from_grant"), pl.col("years")),
        Cases.line(granted & (m == "grant_then_filing") & (base < pl.col("change_date")).fill_null(False)
                   & pl.col("grant_known").is_null(),
                   "grant (issue) date: filed before {}, the term counts {} years from issue", pl.col("change_date"),
                   pl.col("years_from_grant")),
        Cases.line(is_app & m.is_in(["us_utility", "years_from_filing", "grant_then_filing"]) & base.is_null(),
                   "filing date (publications.filing_date): needed to place the application in time"),
        Cases.line(granted & pl.col("in_force_from").is_null(),
                   "grant date: needed to tell when it came into force (no grant date, no 'grant' legal event, no dated grant document)"),
        Cases.line(td & td_date.is_null(),
                   "term_inputs.disclaimer_expiry_date: a terminal disclaimer was filed, so the patent may end before the computed date"),
    ]

    # --- the log lines that do not depend on the jurisdiction or the date
    rule_line = _cases([
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
        ((v == "jp_pre_1995") & jp_old_stands,
         pl.format("rule {} (filed {} before {}): the earlier of {} years from the examined publication {} and {} years from "
                   "filing = {}; that term ended before {}, so the 1994 amendment did not reach it [{}]", pl.col("rule_id"),
                   base, jp_from, pl.lit(jp["years_from_examined_publication"]), pl.col("exam_pub"),
                   pl.lit(jp["cap_years_from_filing"]), jp_old, jp_from, pl.lit(jp["source"]))),
        ((v == "jp_pre_1995") & pl.col("exam_pub").is_not_null(),
         pl.format("rule {} (filed {} before {}): {} years from filing = {}: the old term (the earlier of {} years from the "
                   "examined publication {} and {} years from filing = {}) had not ended on {}, so the 1994 amendment's term "
                   "applies [{}]", pl.col("rule_id"), base, jp_from, pl.lit(jp["cap_years_from_filing"]), jp_cap_end,
                   pl.lit(jp["years_from_examined_publication"]), pl.col("exam_pub"), pl.lit(jp["cap_years_from_filing"]),
                   jp_old, jp_from, pl.lit(jp["source"]))),
        ((v == "jp_pre_1995") & jp_exact,
         pl.format("rule {} (filed {} before {}): {} years from filing = {}: no examined-publication date is shown, but an old "
                   "term ({} years from a publication on or after the filing date) could not end before {} > {}, so the "
                   "1994 amendment's term applies [{}]", pl.col("rule_id"), base, jp_from, pl.lit(jp["cap_years_from_filing"]),
                   jp_cap_end, pl.lit(jp["years_from_examined_publication"]), jp_old_low, jp_from, pl.lit(jp["source"]))),
        (v == "jp_pre_1995",
         pl.format("rule {} (filed {} before {}): {} years from filing = {} AT THE LATEST: no examined-publication (kokoku) "
                   "date is shown, and the old term ({} years from it, so not before {}) may have ended before {} [{}]",
                   pl.col("rule_id"), base, jp_from, pl.lit(jp["cap_years_from_filing"]), jp_cap_end,
                   pl.lit(jp["years_from_examined_publication"]), jp_old_low, jp_from, pl.lit(jp["source"]))),
        (v == "filed_on_after_change",
         pl.format("rule {} (filed {} on/after {}): {} years from filing = {}", pl.col("rule_id"), base, pl.col("change_date"),
                   pl.col("years"), pl.col("t20"))),
        (v == "issue_before_change",
         pl.format("rule {} (filed {} before {}): {} years from issue {} = {}; that term ended before {}, so the later-of "
                   "rule does not reach it", pl.col("rule_id"), base, pl.col("change_date"), pl.col("years_from_grant"),
                   pl.col("grant_known"), pl.col("t17"), _s(pl.col("unexpired_on")))),
        (v == "later_of_issue_and_filing",
         pl.format("rule {} (filed {} before {}; {} years from issue = {} had not ended before {}): the later of that and {} "
                   "years from filing = {} -> {}", pl.col("rule_id"), base, pl.col("change_date"), pl.col("years_from_grant"),
                   pl.col("t17"), pl.col("unexpired_on"), pl.col("years"), pl.col("t20"), pl.max_horizontal("t17", "t20"))),
        (v == "none",
         pl.format("rule {}: no term of its own; a national/regional phase would run to {} at the latest (20 years from "
                   "the international filing date {})", pl.col("rule_id"), _s(add_years(base, 20, leap)), _s(base))),
    ], _NULL_S)
    app_line = _cases([
        (is_app & pl.col("potential_end").is_not_null(),
         pl.format("application: not a patent; a patent granted on it would end {} ({} years from {}, before any "
                   "adjustment) under rule {}", pl.col("potential_end"), pl.col("years_used").fill_null(pl.col("years")),
                   base, pl.col("rule_id"))),
        (is_app & (m == "us_utility") & (after == False),  # noqa: E712
         pl.format("application: not a patent; filed before {}, a patent on it would run at least 17 years from its "
                   "unknown grant date", pl.col("change_date"))),
    ], _NULL_S)
    adj_line = _cases([
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
    not_applied = Cases.line(granted & pta_in & pl.col("pta_applied").is_null(),
                             "adjustment: term_inputs.pta_days {} not applied: the rule adds them only for filings on/after {}",
                             pl.col("pta_days"), _s(pl.col("adjust_from")))
    pte_not_applied = Cases.line(granted & pte_in & pl.col("pte_applied").is_null(),
                                 "adjustment: term_inputs.pte_days {} not applied (rule {} adds none for this filing)",
                                 pl.col("pte_days"), _s(pl.col("rule_id")))
    adj_note = Cases.line(granted & pl.col("adjust_note").is_not_null() & pl.col("pta_applied").is_not_null(), "note: {}",
                          pl.col("adjust_note"))
    td_line = _cases([
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
    non_us_td = Cases.line(~us & (pl.col("terminal_disclaimer").fill_null(False) | pl.col("disclaimer_expiry_date").is_not_null()),
                           "terminal disclaimer given for a {} publication: not read (a US concept)", pl.col("country"))
    grant_line = _cases([
        (granted & pl.col("grant_date").is_null() & pl.col("grant_event_date").is_not_null(),
         pl.format("grant: no grant date shown; the 'grant' legal event gives {}", pl.col("grant_event_date"))),
        (granted & pl.col("grant_known").is_null() & pl.col("in_force_from").is_not_null(),
         pl.format("grant: no grant date shown; granted on or before {} (publication date of a record whose kinds are all "
                   "grant kinds)", pl.col("in_force_from"))),
    ], _NULL_S)
    cont_line = _cases([
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
    e_line = _cases([
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
    interval_line = _cases([
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
    pct_line = Cases.line(pl.col("international_filing_date").is_not_null() & (m == "years_from_filing"),
                          "pct: term from the international filing date [" + rules.pct_source + "]")
    ti_parts = pl.concat_str([
        _line(pl.col("application_type").is_not_null(), "application type {}", pl.col("application_type")),
        _line(pl.col("earliest_us_filing_date").is_not_null(), "earliest US filing {}", pl.col("earliest_us_filing_date")),
        _line(pl.col("international_filing_date").is_not_null(), "international filing {}", pl.col("international_filing_date")),
        _line(pl.col("pta_days").is_not_null(), "PTA {} days", pl.col("pta_days")),
        _line(pl.col("pte_days").is_not_null(), "PTE {} days", pl.col("pte_days")),
        _line(pl.col("terminal_disclaimer").is_not_null(), "terminal disclaimer {}", pl.col("terminal_disclaimer")),
        _line(pl.col("disclaimer_expiry_date").is_not_null(), "disclaimer expiry {}", pl.col("disclaimer_expiry_date")),
    ], separator=", ", ignore_nulls=True)  # the given values, "" when none
    ti_line = _cases([(pl.col("ti_sources").is_null(), pl.lit("term_inputs: none for this publication"))],
        pl.format("term_inputs ({}): {}{}", pl.col("ti_sources"),
                  pl.when(ti_parts != "").then(ti_parts).otherwise(pl.lit("no values")),
                  pl.when(pl.col("ti_notes").is_not_null()).then(pl.format(" (how: {})", pl.col("ti_notes")))
                  .otherwise(pl.lit(""))))
    # each log line built only on the rows it applies to (Cases; _with_texts)
    p = _with_texts(
        p,
        missing=missing,
        pub_log=[
            pl.format("document: {}: {}", pl.col("pub_number"), pl.coalesce(pl.col("doc_how"), pl.lit("type unknown"))),
            pl.format("dates: filed {}, granted {}, published {}, priority {}", _s(pl.col("filing_date")),
                      _s(pl.col("grant_date")), _s(pl.col("publication_date")), _s(pl.col("priority_date"))),
            ti_line,
            grant_line,
            Cases.line(base.is_not_null() & pl.col("base_basis").is_not_null(), "base: {} = {}", base, pl.col("base_basis")),
            pct_line,
            e_line,
            rule_line,
            cont_line,
            interval_line,
            Cases.line(pl.col("rule_source").is_not_null(), "source: {}", pl.col("rule_source")),
            app_line,
            adj_line,
            not_applied,
            pte_not_applied,
            adj_note,
            td_line,
            non_us_td,
        ],
    )
    return p
