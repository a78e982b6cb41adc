"""Stage 4: jurisdictions and legal events (one row per publication and jurisdiction)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from .common import _chain, _s
from .rules import TermRules, add_years


def _asked(markets: Sequence[str]) -> list[str]:
    return sorted({m.strip().upper() for m in markets if m and m.strip().upper() != "EP"})


def _designations(p: pl.DataFrame, designations: pl.DataFrame | None, markets: Sequence[str]) -> pl.DataFrame:
    """Per publication: ``designated`` (the states an EP grant designates, null when not shown) and
    ``undesignated`` (the asked markets it does not designate: no national row for them)."""
    schema = pl.Schema({"pub_key": pl.String(), "designated": pl.List(pl.String)})
    d = pl.DataFrame(schema=schema) if designations is None else designations.select(list(schema)).cast(schema)
    d = d.filter(pl.col("designated").list.len() > 0).unique("pub_key")
    asked = pl.lit(_asked(markets), dtype=pl.List(pl.String))
    return p.join(d, on="pub_key", how="left").with_columns(
        designated=pl.when(pl.col("country") == "EP").then(pl.col("designated")),
    ).with_columns(
        undesignated=pl.when(pl.col("designated").is_not_null()).then(asked.list.set_difference(pl.col("designated"))),
    )


def _targets(p: pl.DataFrame, ev: pl.DataFrame, markets: Sequence[str]) -> pl.DataFrame:
    """The office row of every publication, plus national rows of granted EP bundles: where legal
    events name a state, and for each asked market the bundle designates (every market when the
    designations are not shown)."""
    office_rows = p.select("pub_key", pl.col("country").alias("jurisdiction"), pl.lit(False).alias("national"))
    bundles = p.filter(pl.col("national_members").fill_null(False) & (pl.col("document_type") == "invention")).select(
        "pub_key", "designated")
    if bundles.height == 0:  # no EP bundle: the office rows only (one per pub_key)
        return office_rows
    from_events = (ev.join(bundles, on="pub_key", how="semi").filter(pl.col("jurisdiction") != "EP")
                   .select("pub_key", "jurisdiction").unique())
    asked = _asked(markets)
    from_markets = bundles.join(pl.DataFrame({"jurisdiction": asked}, schema={"jurisdiction": pl.String}), how="cross") \
        .filter(pl.col("designated").is_null() | pl.col("designated").list.contains(pl.col("jurisdiction")).fill_null(False))
    national = pl.concat([from_events, from_markets.select("pub_key", "jurisdiction")]).unique().with_columns(
        national=pl.lit(True))
    return pl.concat([office_rows, national]).unique(["pub_key", "jurisdiction"])


def _apply_events(p: pl.DataFrame, ev: pl.DataFrame, t: pl.DataFrame, rules: TermRules) -> pl.DataFrame:
    """Per (pub_key, jurisdiction): the legal-event end, lapse periods and log lines."""
    if ev.height == 0:  # no legal events at all: the columns the full path gives, without its fixed cost
        return t.with_columns(
            event_lines=pl.lit([], dtype=pl.List(pl.String)), lapse_end=pl.lit(None, dtype=pl.Date),
            lapse_effect=pl.lit(None, dtype=pl.String), expiry_event=pl.lit(None, dtype=pl.Date),
            lapse_periods=pl.lit([], dtype=pl.List(pl.Struct({"start": pl.Date, "end": pl.Date}))),
            n_own_events=pl.lit(0, dtype=pl.UInt32), n_fee_paid=pl.lit(0, dtype=pl.UInt32),
            unmatched_lines=pl.lit([], dtype=pl.List(pl.String)),
        )
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
