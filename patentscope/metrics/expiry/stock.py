"""In-force stock and cliffs (families, by holder group)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from ...errors import InputError
from .common import ALL_JURISDICTIONS, HOLDER_SCHEMA, NO_HOLDER, _conform, _date_lit
from .rules import TermRules, load_rules
from .status import _in_lapse_at, _status_exprs


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


# what the status on a given day reads (see _status_exprs): the columns live_families needs from
# compute_expiry's frame, without the wording and the calculation log
GRID_COLUMNS = ("pub_key", "jurisdiction", "family_id", "document_type", "in_force_from", "expiry_date", "lapse_periods",
                "end_reason",
                "st_hard", "st_exists_from", "st_end_date", "st_end_status", "st_granted", "st_in_force_from_exact",
                "st_sure_until", "st_validation_known", "st_potential_end", "st_conflict_from", "st_exam_after",
                "st_exam_requested")


def status_grid(expiry: pl.DataFrame) -> pl.DataFrame:
    """The columns of a compute_expiry frame that :func:`live_families` and :func:`holder_cliffs`
    (and so the stock, the cliffs and concentration's grid) read: much smaller than the frame with
    its logs."""
    return expiry.select(GRID_COLUMNS)


def live_spans(expiry: pl.DataFrame, holders: pl.DataFrame | None, years: Iterable[int], *,
               rules: TermRules | None = None) -> pl.DataFrame:
    """Every (publication, jurisdiction) in force on the reference day of each year, once per
    holder group valid that day, as spans of consecutive years: what :func:`live_families`
    lists year by year, in about a sixteenth of the rows (issue 18: at 1M SYNTHETIC
    publications ~17M year rows, ~1.1M spans).

    Input as :func:`live_families`. Output: pub_key, jurisdiction, family_id, the holder columns
    (holder_group, then any extra ones), ``year_from`` and ``year_to`` (Int32): the row is in
    force and held so on the reference day of every year of ``years`` from year_from to
    year_to, both included, and on no year of ``years`` next to the span. A span runs over
    consecutive elements of ``years`` (a list with gaps, e.g. [2000, 2005, 2010], makes one
    span of 2000 to 2010 when all three are in force). Rows with no group valid on a day hold
    '(no holder shown)' there."""
    ys = sorted(set(years))
    spans = _span_indices(expiry, holders, ys, rules or load_rules())
    year_of = pl.lit(pl.Series("year", ys, dtype=pl.Int32))
    return spans.select(pl.exclude("_a", "_z"), year_from=year_of.gather(pl.col("_a")), year_to=year_of.gather(pl.col("_z")))


def _span_indices(expiry: pl.DataFrame, holders: pl.DataFrame | None, ys: list[int], rules: TermRules) -> pl.DataFrame:
    """:func:`live_spans` with each span as indices into the sorted distinct years ``ys`` (_a, _z:
    first and last, Int64), the form the stock and the year rows count with."""
    month, day = rules.stock_reference_day
    h = _holders(holders)
    extra = [c for c in h.columns if c not in ("pub_key", "holder_group", "valid_from", "valid_to")]
    out_schema: dict[str, pl.DataType] = {"pub_key": pl.String(), "jurisdiction": pl.String(), "family_id": pl.String(),
                                          "holder_group": pl.String(), **{c: h.schema[c] for c in extra},
                                          "_a": pl.Int64(), "_z": pl.Int64()}
    if not ys or expiry.height == 0:
        return pl.DataFrame(schema=out_schema)
    dates = pl.Series("reference_date", [dt.date(y, month, day) for y in ys], dtype=pl.Date)
    status, _, _ = _status_exprs(pl.col("reference_date"), rules.in_force_on_expiry_date, pl.col("st_in_lapse"))
    # A row can be 'in force' only on days from in_force_from to st_end_date (before it the status is
    # pending/unknown/not yet filed, from it on ended; without either it is unknown): the grid holds
    # each row's years in that span only (as indices into ``ys``), not every row x every year, and
    # only the columns the status (not its wording) reads.
    # Rows a date-independent case of the status keeps from ever being 'in force' (bad input, an
    # application, no grant, no end, no sure end, an EP part without evidence) are left out first;
    # a null flag is no case there (a when/then condition that is null does not fire), nor here.
    can_be_in_force = (
        ~pl.col("st_hard").fill_null(False) & ~pl.col("document_type").is_in(["application", "international_application"])
        .fill_null(False) & pl.col("st_granted").fill_null(True) & pl.col("in_force_from").is_not_null()
        & pl.col("st_end_date").is_not_null() & pl.col("st_sure_until").is_not_null()
        & pl.col("st_validation_known").fill_null(True)
    )
    last = pl.min_horizontal("st_end_date", "st_sure_until")
    years_lit = pl.lit(pl.Series(ys, dtype=pl.Int32))
    first_i = years_lit.search_sorted(pl.col("in_force_from").dt.year().cast(pl.Int32), side="left")
    end_i = years_lit.search_sorted(last.dt.year().cast(pl.Int32), side="right")
    base = expiry.select(GRID_COLUMNS).filter(can_be_in_force).with_row_index("_b")
    # the grid carries only what the status reads, its texts as categoricals (a year row copies a
    # few bytes, not the strings), and reinstated lapses apart: (row, start, end), joined to the
    # grid rows of the publications that have any
    reads = [c for c in dict.fromkeys(status.meta.root_names()) if c not in ("reference_date", "st_in_lapse")]
    narrow = base.select("_b", *[pl.col(c).cast(pl.Categorical) if base.schema[c] == pl.String else pl.col(c) for c in reads],
                         _first=first_i, _end=end_i)
    lapses = base.select("_b", "lapse_periods").explode("lapse_periods").drop_nulls("lapse_periods").select(
        "_b", _ls=pl.col("lapse_periods").struct.field("start"), _le=pl.col("lapse_periods").struct.field("end"))
    # the grid (every status input once per year) GRID_CHUNK rows at a time, keeping only the
    # in-force rows' span bounds: the peak is one chunk's grid, not the whole one. Sorted by
    # (row, year index), a span starts where the row changes or a year index is skipped: no hashing.
    parts = []
    for start in range(0, max(base.height, 1), GRID_CHUNK):
        grid = (narrow.slice(start, GRID_CHUNK).with_columns(_i=pl.int_ranges("_first", "_end", dtype=pl.Int32))
                .drop("_first", "_end").explode("_i").drop_nulls("_i")
                .with_columns(reference_date=pl.lit(dates).gather(pl.col("_i"))))
        if lapses.height:
            hits = (grid.select("_b", "_i", "reference_date").join(lapses, on="_b", how="inner")
                    .filter((pl.col("_ls") <= pl.col("reference_date")) & (pl.col("_le") > pl.col("reference_date")))
                    .select("_b", "_i").unique().with_columns(st_in_lapse=pl.lit(True)))
            grid = grid.join(hits, on=["_b", "_i"], how="left").with_columns(pl.col("st_in_lapse").fill_null(False))
        else:
            grid = grid.with_columns(st_in_lapse=pl.lit(False))
        live = grid.filter(status == "in force").select("_b", "_i").sort("_b", "_i")
        del grid
        starts = (pl.col("_b") != pl.col("_b").shift(1)) | (pl.col("_i") != pl.col("_i").shift(1) + 1)
        live = live.with_columns(_start=starts.fill_null(True))
        live = live.with_columns(_end=pl.col("_start").shift(-1).fill_null(True))
        parts.append(pl.concat([live.filter("_start").select("_b", _a="_i"), live.filter("_end").select(_z="_i")],
                               how="horizontal"))
        del live
    spans = pl.concat(parts).join(base.select("_b", "pub_key", "jurisdiction", "family_id"), on="_b", how="inner") \
        .drop("_b").with_row_index("_s")
    # holder groups: each one's validity as indices into ``ys`` (lo: first reference day on or after
    # valid_from; hi: last one before valid_to), cut to the span
    dates_lit = pl.lit(dates)
    hv = h.with_columns(
        _lo=pl.when(pl.col("valid_from").is_null()).then(pl.lit(0, dtype=pl.Int64))
        .otherwise(dates_lit.search_sorted(pl.col("valid_from"), side="left").cast(pl.Int64)),
        _hi=pl.when(pl.col("valid_to").is_null()).then(pl.lit(len(ys) - 1, dtype=pl.Int64))
        .otherwise(dates_lit.search_sorted(pl.col("valid_to"), side="left").cast(pl.Int64) - 1),
    ).drop("valid_from", "valid_to")
    matched = spans.join(hv, on="pub_key", how="inner").with_columns(
        _a=pl.max_horizontal(pl.col("_a").cast(pl.Int64), "_lo"), _z=pl.min_horizontal(pl.col("_z").cast(pl.Int64), "_hi"),
        _a0="_a", _z0="_z").filter(pl.col("_a") <= pl.col("_z"))
    # the days of a span no group is valid on: between the matched pieces (sorted by span, then
    # start; a running end per span), before the first and after the last, and whole spans no
    # group touches
    n = len(ys) + 2
    m = matched.select("_s", "_a", "_z", "_a0", "_z0").sort("_s", "_a").with_columns(
        _run=(pl.col("_s").cast(pl.Int64) * n + pl.col("_z") + 1).cum_max() - pl.col("_s").cast(pl.Int64) * n - 1)
    first = pl.col("_s") != pl.col("_s").shift(1)
    m = m.with_columns(_prev=pl.when(first.fill_null(True)).then(pl.col("_a0").cast(pl.Int64) - 1)
                       .otherwise(pl.col("_run").shift(1)),
                       _last=(pl.col("_s") != pl.col("_s").shift(-1)).fill_null(True))
    gaps = pl.concat([
        m.filter(pl.col("_a") > pl.col("_prev") + 1).select("_s", _a=pl.col("_prev") + 1, _z=pl.col("_a") - 1),
        m.filter(pl.col("_last") & (pl.col("_run") < pl.col("_z0").cast(pl.Int64)))
        .select("_s", _a=pl.col("_run") + 1, _z=pl.col("_z0").cast(pl.Int64)),
    ])
    untouched = spans.join(matched.select("_s").unique(), on="_s", how="anti").select(
        "_s", pl.col("_a").cast(pl.Int64), pl.col("_z").cast(pl.Int64))
    rest = pl.concat([gaps, untouched]).join(spans.select("_s", "pub_key", "jurisdiction", "family_id"), on="_s", how="inner") \
        .with_columns(pl.lit(NO_HOLDER).alias("holder_group"), *[pl.lit(None, dtype=h.schema[c]).alias(c) for c in extra])
    cols = ["pub_key", "jurisdiction", "family_id", "holder_group", *extra]
    # one group valid through several rows of the mapping (e.g. two names of one group): its
    # overlapping or adjacent pieces of a span merge into one (sorted by span, group, start; a new
    # piece where the start is past the running end + 1)
    pieces = _merge_spans(matched, ["_s", "holder_group", *extra], len(ys))
    held = pieces.join(spans.select("_s", "pub_key", "jurisdiction", "family_id"), on="_s", how="inner")
    return pl.concat([held.select(*cols, "_a", "_z"), rest.select(*cols, "_a", "_z")])


def live_families(expiry: pl.DataFrame, holders: pl.DataFrame | None, years: Iterable[int], *,
                  rules: TermRules | None = None) -> pl.DataFrame:
    """Every (publication, jurisdiction) in force on the reference day of each year, once per
    holder group valid that day: :func:`live_spans` a row per year.

    Input as :func:`in_force_stock` (``holders`` may carry extra columns, e.g. a country; they
    are kept). Output: pub_key, jurisdiction, family_id, year, reference_date, the holder
    columns."""
    rules = rules or load_rules()
    month, day = rules.stock_reference_day
    ys = sorted(set(years))
    spans = _span_indices(expiry, holders, ys, rules)
    years_lit = pl.lit(pl.Series(ys, dtype=pl.Int32))
    dates = pl.lit(pl.Series([dt.date(y, month, day) for y in ys], dtype=pl.Date))
    hold = [c for c in spans.columns if c not in ("pub_key", "jurisdiction", "family_id", "_a", "_z")]
    return (spans.with_columns(_i=pl.int_ranges("_a", pl.col("_z") + 1, dtype=pl.Int32)).explode("_i")
            .select("pub_key", "jurisdiction", "family_id", years_lit.gather(pl.col("_i")).alias("year"),
                    dates.gather(pl.col("_i")).alias("reference_date"), *hold))


# base rows (publication x jurisdiction) per chunk of the in-force grid in live_families
GRID_CHUNK = 100_000


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
    cell = ["holder_group", "jurisdiction", "year", "reference_date"]
    cells = []
    # the rows in parts that never split a family (by a hash of family_id; rows without one all
    # in one part), so each part's distinct families and publications per cell add up to the
    # whole's: the in-force spans of one part at a time
    n_parts = max(1, -(-expiry.height // STOCK_PART_ROWS))
    parts = [expiry] if n_parts == 1 else expiry.with_columns(_part=pl.col("family_id").hash(seed=0) % n_parts) \
        .partition_by("_part", include_key=False, maintain_order=True)
    h = _holders(holders)  # normalised once; each part joins only its own publications' rows
    years_lit = pl.lit(pl.Series(ys, dtype=pl.Int32))
    month, day = rules.stock_reference_day
    for part in parts:
        spans = _span_indices(part, h if n_parts == 1 else h.join(part.select("pub_key"), on="pub_key", how="semi"),
                              ys, rules).select("holder_group", "jurisdiction", "family_id", "pub_key", "_a", "_z")
        views = [spans]
        if all_jurisdictions:  # the same counts over every jurisdiction at once
            views.append(spans.with_columns(jurisdiction=pl.lit(ALL_JURISDICTIONS)))
        for v in views:
            fams = _distinct_per_year(v, ["holder_group", "jurisdiction"], "family_id", len(ys))
            pubs = _distinct_per_year(v, ["holder_group", "jurisdiction"], "pub_key", len(ys))
            cells.append(fams.join(pubs, on=["holder_group", "jurisdiction", "_i"], how="full", coalesce=True)
                         .select("holder_group", "jurisdiction", year=years_lit.gather(pl.col("_i")),
                                 reference_date=pl.date(years_lit.gather(pl.col("_i")), month, day),
                                 families_in_force=pl.col("family_id").fill_null(0),
                                 publications_in_force=pl.col("pub_key").fill_null(0)))
        del spans, views
    if not cells:
        return pl.DataFrame(schema=schema)
    out = (
        pl.concat(cells).group_by(cell)
        .agg(pl.col("families_in_force").sum().cast(pl.UInt32), pl.col("publications_in_force").sum().cast(pl.UInt32))
        .with_columns(projected=pl.col("reference_date") > _date_lit(today))
        .sort("holder_group", "jurisdiction", "year")
    )
    return out.select(list(schema))


# publication x jurisdiction rows per part of in_force_stock (parts never split a family)
STOCK_PART_ROWS = 200_000


def _merge_spans(spans: pl.DataFrame, keys: list[str], n_years: int) -> pl.DataFrame:
    """``spans`` (``keys``, _a, _z: first and last year index, 0 to n_years - 1) with the spans of
    one key merged where they overlap or touch. Sorted by key and start, a running end per key
    (a global running maximum of key number * width + end), and a new span where the start is
    past the previous running end + 1: no hashing of intervals. Output: ``keys``, _a, _z."""
    wide = n_years + 2
    s = spans.select(*keys, "_a", "_z").sort(*keys, "_a", nulls_last=True)
    new_key = pl.any_horizontal([pl.col(c).ne_missing(pl.col(c).shift(1)) for c in keys]).fill_null(True)
    s = s.with_columns(_g=new_key.cum_sum().cast(pl.Int64))
    s = s.with_columns(_run=(pl.col("_g") * wide + pl.col("_z") + 1).cum_max() - pl.col("_g") * wide - 1)
    new_piece = (pl.col("_g") != pl.col("_g").shift(1)).fill_null(True) | (pl.col("_a") > pl.col("_run").shift(1) + 1)
    return s.with_columns(_p=new_piece.cum_sum()).group_by("_p").agg(
        *[pl.col(c).first() for c in keys], pl.col("_a").min(), pl.col("_z").max()).drop("_p")


def _distinct_per_year(spans: pl.DataFrame, cell: list[str], key: str, n_years: int) -> pl.DataFrame:
    """Per cell and year index, how many distinct ``key`` values (a null one counts as one value)
    have a span there: ``spans`` (cell columns, ``key``, _a, _z: first and last year index). The
    spans of one (cell, key) merge where they overlap or touch (:func:`_merge_spans`), then +1 at
    each start and -1 after each end, summed in year order per cell: the count holds until the
    next change. Output: the cell columns, _i, ``key`` (the count, UInt32); only
    non-zero counts."""
    merged = _merge_spans(spans, [*cell, key], n_years)
    changes = pl.concat([merged.select(*cell, _i="_a", _d=pl.lit(1, dtype=pl.Int64)),
                         merged.select(*cell, _i=pl.col("_z") + 1, _d=pl.lit(-1, dtype=pl.Int64))]) \
        .group_by(*cell, "_i").agg(pl.col("_d").sum()).sort(*cell, "_i", nulls_last=True)
    runs = changes.with_columns(_n=pl.col("_d").cum_sum().over(cell), _next=pl.col("_i").shift(-1).over(cell)) \
        .filter(pl.col("_n") > 0)
    return runs.with_columns(_i=pl.int_ranges("_i", "_next")).explode("_i").select(
        *cell, pl.col("_i").cast(pl.Int64), pl.col("_n").cast(pl.UInt32).alias(key))


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
