"""In-force stock and cliffs (families, by holder group)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from ...errors import InputError
from .common import ALL_JURISDICTIONS, HOLDER_SCHEMA, NO_HOLDER, _conform, _date_lit
from .rules import TermRules, load_rules
from .status import _in_lapse_at, _status_exprs, _with_in_lapse


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
    # A row can be 'in force' only on days from in_force_from to st_end_date (before it the status is
    # pending/unknown/not yet filed, from it on ended; without either it is unknown): the grid holds
    # each row's years in that span only, not every row x every year, and only the columns the
    # status (not its wording) reads.
    if not ys:
        return _assign_holders(pl.DataFrame(schema={"pub_key": pl.String, "jurisdiction": pl.String,
                                                    "family_id": pl.String, "year": pl.Int32,
                                                    "reference_date": pl.Date}), holders, pl.col("reference_date"))
    # rows a date-independent case of the status keeps from ever being 'in force' (bad input, an
    # application, no grant, no end, no sure end, an EP part without evidence) are left out first;
    # a null flag is no case there (a when/then condition that is null does not fire), nor here
    can_be_in_force = (
        ~pl.col("st_hard").fill_null(False) & ~pl.col("document_type").is_in(["application", "international_application"])
        .fill_null(False) & pl.col("st_granted").fill_null(True) & pl.col("in_force_from").is_not_null()
        & pl.col("st_end_date").is_not_null() & pl.col("st_sure_until").is_not_null()
        & pl.col("st_validation_known").fill_null(True)
    )
    last = pl.min_horizontal("st_end_date", "st_sure_until")
    years_in_span = pl.int_ranges(pl.max_horizontal(pl.col("in_force_from").dt.year(), pl.lit(ys[0])),
                                  pl.min_horizontal(last.dt.year(), pl.lit(ys[-1])) + 1, dtype=pl.Int32)
    base = expiry.select(GRID_COLUMNS).filter(can_be_in_force)
    # the grid (every status input once per year) GRID_CHUNK rows at a time, keeping only the
    # in-force rows' five columns: the peak is one chunk's grid, not the whole one (at 1M
    # SYNTHETIC publications ~20M grid rows of 20 columns, 5.7 GB)
    parts = []
    for start in range(0, max(base.height, 1), GRID_CHUNK):
        grid = (base.slice(start, GRID_CHUNK).with_columns(year=years_in_span).explode("year")
                .join(dates, on="year", how="inner"))
        parts.append(_with_in_lapse(grid, "reference_date").filter(status == "in force").select(
            "pub_key", "jurisdiction", "family_id", "year", "reference_date"))
        del grid
    return _assign_holders(pl.concat(parts), holders, pl.col("reference_date"))


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
    counts = [pl.col("family_id").n_unique().cast(pl.UInt32).alias("families_in_force"),
              pl.col("pub_key").n_unique().cast(pl.UInt32).alias("publications_in_force")]
    cell = ["holder_group", "jurisdiction", "year", "reference_date"]
    cells = []
    # the rows in parts that never split a family (by a hash of family_id; rows without one all
    # in one part), so each part's distinct families and publications per cell add up to the
    # whole's: the in-force rows of one part at a time, not of all (at 1M SYNTHETIC ~17M rows)
    n_parts = max(1, -(-expiry.height // STOCK_PART_ROWS))
    parts = [expiry] if n_parts == 1 else expiry.with_columns(_part=pl.col("family_id").hash(seed=0) % n_parts) \
        .partition_by("_part", include_key=False, maintain_order=True)
    h = _holders(holders)  # normalised once; each part joins only its own publications' rows
    for part in parts:
        live = live_families(part, h if n_parts == 1 else h.join(part.select("pub_key"), on="pub_key", how="semi"),
                             ys, rules=rules)
        cells.append(live.group_by(cell).agg(counts).select(*cell, "families_in_force", "publications_in_force"))
        if all_jurisdictions:  # the same counts over every jurisdiction at once (no second copy of the rows)
            cells.append(live.group_by("holder_group", "year", "reference_date").agg(counts)
                         .select("holder_group", jurisdiction=pl.lit(ALL_JURISDICTIONS), year="year",
                                 reference_date="reference_date", families_in_force="families_in_force",
                                 publications_in_force="publications_in_force"))
        del live
    out = (
        pl.concat(cells).group_by(cell)
        .agg(pl.col("families_in_force").sum().cast(pl.UInt32), pl.col("publications_in_force").sum().cast(pl.UInt32))
        .with_columns(projected=pl.col("reference_date") > _date_lit(today))
        .sort("holder_group", "jurisdiction", "year")
    )
    return out.select(list(schema))


# publication x jurisdiction rows per part of in_force_stock (parts never split a family)
STOCK_PART_ROWS = 200_000


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
