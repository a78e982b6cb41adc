"""Royalty model: engine (see the package docstring and docs/royalty.md)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from ...errors import ConfigError
from .dists import Dist
from .scenario import Compulsory, Exporter, Rate, Scenario

_EPOCH = dt.date(1970, 1, 1)


def _day(d: dt.date) -> int:
    return (d - _EPOCH).days


def _date_of(day: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=day)


def _sales_value(ex: Exporter, market: str, year: int, price: float | None) -> tuple[float, float | None, bool]:
    val, ton = ex.sales[(market, year)]
    if val is None:
        if price is None:
            raise ConfigError(f"exporter {ex.id}: sales for {market} {year} are in tonnes only; set scenario.price_per_kg")
        return (ton or 0.0) * 1000 * price, ton, True
    return val, ton, False


def _union_fraction(intervals: list[tuple[dt.date, dt.date]], year: int) -> float:
    """Fraction of ``year`` covered by the union of [a, b) intervals."""
    ys, ye = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    days = [(_day(a), _day(b)) for a, b in intervals]
    return _covered(_merge(days), _day(ys), _day(ye)) / (ye - ys).days


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of [a, b) day intervals as sorted disjoint intervals."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _covered(merged: list[tuple[int, int]], p: int, q: int) -> int:
    """Days of [p, q) inside the disjoint intervals ``merged``."""
    return sum(max(0, min(b, q) - max(a, p)) for a, b in merged if b > p and a < q)


def _day_status(sc: Scenario, ex: Exporter, group: str, market: str, segs: list[str], day: dt.date,
                comp: list[tuple[int, Compulsory]], refusal: int | None) -> tuple[str, tuple[str, Any]]:
    """The group's status towards the exporter on ``day``: licensed (the exporter's licences from
    the group cover every blocking segment on that day), else compulsory (a compulsory licence
    in the market in effect that day), else refused, else unlicensed."""
    lic_for_seg = []
    for seg in segs:
        lic = next((sc.licences[lid] for lid in ex.licences
                    if sc.licences[lid].licensor_group == group and sc.licences[lid].applies(market, seg)
                    and sc.licences[lid].active_on(day)), None)
        if lic is None:
            break
        lic_for_seg.append(lic)
    else:
        if lic_for_seg:
            return "licensed", ("licensed", lic_for_seg[0].id)
    for i, c in comp:
        if c.start <= day and (c.end is None or day <= c.end):
            return "compulsory", ("compulsory", i)
    if refusal is not None:
        return "refused", ("refused", refusal)
    return "unlicensed", ("unlicensed", group)

STATUSES = ("licensed", "unlicensed", "refused", "compulsory")
_LICENSED, _UNLICENSED, _REFUSED, _COMPULSORY = range(4)
_SEP = "\x1f"
_CHUNK = 1_000_000  # floats per (pieces x samples) block: ~8 MB, whatever the portfolio's size


@dataclass(frozen=True)
class Blocking:
    """The blocking structure of a scenario against a portfolio, as columns.

    Rows (exporter x market x year; exporters in scenario order, then (market, year)):
    ``exporter``, ``market``, ``year``, ``value`` (sales value at the median price), ``tonnes``
    (NaN = not given), ``from_price`` (value = tonnes x price, drawn per sample), ``n_groups``
    (blocking groups) and ``counts`` (rows x 4: pieces per status, in the order of STATUSES).

    Pieces (part of a blocking group's year under one status; sorted by row, group, then the
    first day of the status): ``row``, ``group``, ``coverage`` (days on which the group has a
    blocking family in force AND this status holds, over the days of the year), ``weight`` (sum
    over its distinct families in force during the year of the family's largest weight),
    ``share`` (the group's part of the row's blocking weight, used by rate_scaling =
    'portfolio_share'), ``status`` (index into STATUSES) and ``payload`` (index into
    ``payloads``). A payload names where the rate comes from, resolved against the scenario at
    simulation time (so rate variants and the sensitivity share one structure):
    ('licensed', licence id) | ('compulsory', index) | ('refused', index, market) |
    ('unlicensed', group). Payloads are numbered in the order of the first piece using them,
    the order in which the Monte Carlo draws their quantities."""

    exporter: list[str]
    market: list[str]
    year: np.ndarray
    value: np.ndarray
    tonnes: np.ndarray
    from_price: np.ndarray
    n_groups: np.ndarray
    counts: np.ndarray
    row: np.ndarray
    group: list[str]
    coverage: np.ndarray
    weight: np.ndarray
    share: np.ndarray
    status: np.ndarray
    payload: np.ndarray
    payloads: list[tuple[Any, ...]]

    @property
    def n_rows(self) -> int:
        return len(self.exporter)


def _exporter_frames(ex: Exporter, portfolio: pl.DataFrame, years: tuple[int, int]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """For one exporter: the merged in-force day intervals [a, b) per (jurisdiction,
    holder_group) over the exporter's segments, and per (jurisdiction, year, holder_group) the
    blocking group's weight ``w`` (sum over distinct families in force at some time in the
    year of the family's largest weight), its blocking segments, the days of the year on which
    one of its families is in force and ``nd`` the days of the year. Other groups' and other
    segments' rows dropped; all in polars."""
    y0, y1 = years
    markets = sorted({m for m, _y in ex.sales})
    p = portfolio.filter(pl.col("segment").is_in(list(ex.segments)) & pl.col("jurisdiction").is_in(markets))
    if ex.holder_group is not None:
        p = p.filter(pl.col("holder_group") != ex.holder_group)
    p = p.select(
        pl.col("jurisdiction"), pl.col("holder_group"), pl.col("family_id"), pl.col("segment"),
        pl.col("in_force_from").fill_null(dt.date(y0, 1, 1)).cast(pl.Date).cast(pl.Int64).alias("a"),
        pl.col("in_force_to").fill_null(dt.date(y1 + 1, 1, 1)).cast(pl.Date).cast(pl.Int64).alias("b"),
        pl.col("weight").fill_null(1.0).cast(pl.Float64).alias("w"),
    ).filter((pl.col("a") < pl.col("b")) & (pl.col("b") > _day(dt.date(y0, 1, 1))) & (pl.col("a") < _day(dt.date(y1 + 1, 1, 1))))
    blocks = (p.select("jurisdiction", "holder_group", "a", "b").unique()
              .sort("jurisdiction", "holder_group", "a", "b")
              .with_columns(pl.col("b").cum_max().shift(1).over(["jurisdiction", "holder_group"]).alias("prev"))
              .with_columns((pl.col("prev").is_null() | (pl.col("a") > pl.col("prev"))).cast(pl.Int64)
                            .cum_sum().over(["jurisdiction", "holder_group"]).alias("blk"))
              .group_by("jurisdiction", "holder_group", "blk").agg(pl.col("a").min(), pl.col("b").max())
              .sort("jurisdiction", "holder_group", "a").select("jurisdiction", "holder_group", "a", "b"))
    yrs = pl.DataFrame({"year": list(range(y0, y1 + 1)),
                        "ys": [_day(dt.date(y, 1, 1)) for y in range(y0, y1 + 1)],
                        "ye": [_day(dt.date(y + 1, 1, 1)) for y in range(y0, y1 + 1)]})
    key = ["jurisdiction", "year", "holder_group"]
    inyear = p.join(yrs, how="cross").filter((pl.col("a") < pl.col("ye")) & (pl.col("b") > pl.col("ys")))
    fam = inyear.group_by("jurisdiction", "year", "holder_group", "family_id").agg(pl.col("w").max())
    w = fam.group_by(key).agg(pl.col("w").sum())
    segs = inyear.group_by(key).agg(pl.col("segment").unique().sort())
    days = (blocks.join(yrs, how="cross").filter((pl.col("a") < pl.col("ye")) & (pl.col("b") > pl.col("ys")))
            .group_by(key).agg((pl.min_horizontal("b", "ye") - pl.max_horizontal("a", "ys")).sum().alias("days"),
                               (pl.col("ye") - pl.col("ys")).first().alias("nd")))
    return blocks, w.join(segs, on=key).join(days, on=key).sort(key)


def _pair_pieces(sc: Scenario, ex: Exporter, grp: str, m: str, y: int, segs: list[str], merged: list[tuple[int, int]],
                 lic_dates: list[int]) -> list[tuple[str, int, tuple[Any, ...]]]:
    """A blocking group's year split by status, day by day (:func:`_day_status`), for a group
    whose status can change within the year (the exporter holds a licence from it, or a
    compulsory licence may apply): (status, days, payload) in the order the statuses first occur."""
    ys, ye = _day(dt.date(y, 1, 1)), _day(dt.date(y + 1, 1, 1))
    ivs = [(max(a, ys), min(b, ye)) for a, b in merged if b > ys and a < ye]
    comp = [(i, c) for i, c in enumerate(sc.compulsory) if c.market == m and c.holder_group in ("*", grp)]
    refusal = next((i for i, r in enumerate(sc.refusals) if r.holder_group == grp and m in r.markets), None)
    bps = {ys, ye, *(d for d in lic_dates if ys < d < ye)}
    for _i, c in comp:
        bps.update(d for d in (_day(c.start), _day(c.end) + 1 if c.end else ye) if ys < d < ye)
    for a, b in ivs:
        bps.update((a, b))
    cuts = sorted(bps)
    by_key: dict[tuple[Any, ...], tuple[str, int]] = {}
    for p_, q_ in zip(cuts, cuts[1:], strict=False):
        days = _covered(ivs, p_, q_)
        if days <= 0:
            continue
        status, key0 = _day_status(sc, ex, grp, m, segs, _date_of(p_), comp, refusal)
        key: tuple[Any, ...] = (*key0, m) if status == "refused" else key0
        prev = by_key.get(key, (status, 0))
        by_key[key] = (status, prev[1] + days)
    return [(status, days, key) for key, (status, days) in by_key.items()]


def _payload_str(key: tuple[Any, ...]) -> str:
    return _SEP.join(str(k) for k in key)


def _payload_tuple(s: str) -> tuple[Any, ...]:
    kind, rest = s.split(_SEP, 1)
    if kind == "refused":
        idx, market = rest.rsplit(_SEP, 1)
        return (kind, int(idx), market)
    if kind == "compulsory":
        return (kind, int(rest))
    return (kind, rest)


def blocking(sc: Scenario, portfolio: pl.DataFrame) -> Blocking:
    """Per exporter x market x year: the blocking groups, split into pieces of the year by status.

    A group's families are taken in the exporter's segments only. Each day of the year on which
    at least one of them is in force (union of intervals, across segments) carries the status of
    that day (:func:`_day_status`): licences and compulsory licences count by day, from their
    start to their end date inclusive, and only on days when a blocking family is in force (a
    compulsory licence starting after the patent ended covers nothing). The group's weight is the
    sum of the weights of its distinct families in force during the year; ``share`` is its part
    of the row's total blocking weight (used by rate_scaling = 'portfolio_share').

    Columnar: a group from which the exporter holds no licence and to which no compulsory
    licence in the market applies during the year has one status all year (refused if it
    refuses to license in the market, else unlicensed), computed for all such groups at once in
    polars; only the other groups are split day by day."""
    y0, y1 = sc.years
    price_mid = sc.price_per_kg.quantile(0.5) if sc.price_per_kg else None
    frames: dict[tuple[Any, ...], tuple[pl.DataFrame, pl.DataFrame]] = {}
    rx: list[str] = []
    rm: list[str] = []
    ry: list[int] = []
    rv: list[float] = []
    rt: list[float] = []
    rf: list[bool] = []
    parts: list[pl.DataFrame] = []
    slow: list[tuple[int, str, int, float, float, str]] = []   # (row, group, sub, coverage, weight, payload)
    refusal_first: dict[tuple[str, str], int] = {}
    for i, r in enumerate(sc.refusals):
        for m in r.markets:
            refusal_first.setdefault((r.holder_group, m), i)
    ref_frame = pl.DataFrame({"holder_group": [g for g, _m in refusal_first], "jurisdiction": [m for _g, m in refusal_first],
                              "refusal": list(refusal_first.values())},
                             schema={"holder_group": pl.Utf8, "jurisdiction": pl.Utf8, "refusal": pl.Int64})
    for ex in sc.exporters:
        fkey = (tuple(sorted(ex.segments)), ex.holder_group, tuple(sorted({m for m, _y in ex.sales})))
        if fkey not in frames:  # exporters with the same segments, group and markets share one structure
            frames[fkey] = _exporter_frames(ex, portfolio, sc.years)
        blocks, pairs = frames[fkey]
        keys = [(m, y) for (m, y) in sorted(ex.sales) if y0 <= y <= y1]
        base = len(rx)
        for m, y in keys:
            value, tonnes, from_price = _sales_value(ex, m, y, price_mid)
            rx.append(ex.id)
            rm.append(m)
            ry.append(y)
            rv.append(value)
            rt.append(math.nan if tonnes is None else tonnes)
            rf.append(from_price)
        if not keys:
            continue
        rws = pl.DataFrame({"row": list(range(base, base + len(keys))), "jurisdiction": [m for m, _y in keys],
                            "year": [y for _m, y in keys]}, schema={"row": pl.Int64, "jurisdiction": pl.Utf8, "year": pl.Int64})
        pr = rws.join(pairs.with_columns(pl.col("year").cast(pl.Int64)), on=["jurisdiction", "year"], how="inner")
        lic_groups = sorted({sc.licences[lid].licensor_group for lid in ex.licences})
        varies = pl.col("holder_group").is_in(lic_groups)
        for c in sc.compulsory:  # in effect on some day of the year, for this group or every group
            cond = (pl.col("jurisdiction") == c.market) & (pl.col("year") >= c.start.year)
            if c.end is not None:
                cond = cond & (pl.col("year") <= c.end.year)
            if c.holder_group != "*":
                cond = cond & (pl.col("holder_group") == c.holder_group)
            varies = varies | cond
        pr = pr.with_columns(varies.alias("varies"))
        fast = pr.filter(~pl.col("varies")).join(ref_frame, on=["holder_group", "jurisdiction"], how="left")
        parts.append(fast.select(
            pl.col("row"), pl.col("holder_group").alias("group"), pl.lit(0, pl.Int64).alias("sub"),
            (pl.col("days").cast(pl.Float64) / pl.col("nd").cast(pl.Float64)).alias("coverage"), pl.col("w").alias("weight"),
            pl.when(pl.col("refusal").is_null())
              .then(pl.concat_str([pl.lit("unlicensed" + _SEP), pl.col("holder_group")]))
              .otherwise(pl.concat_str([pl.lit("refused" + _SEP), pl.col("refusal").cast(pl.Utf8), pl.lit(_SEP),
                                        pl.col("jurisdiction")])).alias("payload")))
        rest = pr.filter(pl.col("varies"))
        if rest.height:
            lic_dates: dict[str, list[int]] = {}
            for lid in ex.licences:
                lic = sc.licences[lid]
                ds = lic_dates.setdefault(lic.licensor_group, [])
                if lic.start:
                    ds.append(_day(lic.start))
                if lic.end:
                    ds.append(_day(lic.end) + 1)
            need = rest.select("jurisdiction", "holder_group").unique()
            merged: dict[tuple[str, str], list[tuple[int, int]]] = {}
            for jur, grp, a, b in blocks.join(need, on=["jurisdiction", "holder_group"]).sort(
                    "jurisdiction", "holder_group", "a").iter_rows():
                merged.setdefault((jur, grp), []).append((a, b))
            for row, m, y, grp, w, segs, _days, nd in rest.select(
                    "row", "jurisdiction", "year", "holder_group", "w", "segment", "days", "nd").iter_rows():
                for sub, (_status, days, key) in enumerate(_pair_pieces(sc, ex, grp, m, y, list(segs), merged[(m, grp)],
                                                                        lic_dates.get(grp, []))):
                    slow.append((row, grp, sub, days / nd, float(w), _payload_str(key)))
    schema = {"row": pl.Int64, "group": pl.Utf8, "sub": pl.Int64, "coverage": pl.Float64, "weight": pl.Float64, "payload": pl.Utf8}
    pieces = pl.concat([*(f.cast(schema) for f in parts),  # type: ignore[arg-type]
                        pl.DataFrame(slow, schema=schema, orient="row")]).sort("row", "group", "sub")
    # the group's share of the row's blocking weight (its weight is the same in each of its pieces)
    grp_w = pieces.unique(["row", "group"], keep="first", maintain_order=True).group_by("row", maintain_order=True).agg(
        pl.col("weight").sum().alias("wsum"), pl.len().alias("ng"))
    pieces = pieces.join(grp_w, on="row", how="left", maintain_order="left").with_columns(
        pl.when(pl.col("wsum") > 0).then(pl.col("weight") / pl.col("wsum")).otherwise(1.0 / pl.col("ng")).alias("share"))
    order = pieces["payload"].unique(maintain_order=True)  # first use = draw order
    payloads = [_payload_tuple(s) for s in order.to_list()]
    code = pieces["payload"].replace_strict(order, pl.Series(range(len(order)), dtype=pl.Int64)).to_numpy()
    kinds = np.array([STATUSES.index(p[0]) for p in payloads], dtype=np.int64)
    status = kinds[code] if len(code) else np.zeros(0, dtype=np.int64)
    nr = len(rx)
    rowi = pieces["row"].to_numpy()
    counts = np.zeros((nr, 4), dtype=np.int64)
    np.add.at(counts, (rowi, status), 1)
    n_groups = np.zeros(nr, dtype=np.int64)
    n_groups[grp_w["row"].to_numpy()] = grp_w["ng"].to_numpy()
    return Blocking(exporter=rx, market=rm, year=np.array(ry, dtype=np.int64), value=np.array(rv, dtype=np.float64),
                    tonnes=np.array(rt, dtype=np.float64), from_price=np.array(rf, dtype=bool), n_groups=n_groups,
                    counts=counts, row=rowi, group=pieces["group"].to_list(), coverage=pieces["coverage"].to_numpy(),
                    weight=pieces["weight"].to_numpy(), share=pieces["share"].to_numpy(), status=status, payload=code,
                    payloads=payloads)


def _resolve(sc: Scenario, key: tuple[Any, ...]) -> Any:
    """The rate (or, for a refusal, the exclusion probability) behind a payload, from ``sc``."""
    kind, ref = key[0], key[1]
    if kind == "licensed":
        return sc.licences[ref].rate or sc.licensed_rate
    if kind == "compulsory":
        return sc.compulsory[ref].rate
    if kind == "refused":
        return sc.refusals[ref].exclusion_probability.get(key[2], Dist("fixed", (0.0,)))
    return sc.unlicensed_by_group.get(ref, sc.unlicensed_rate)


def waterfill(own: np.ndarray, weights: np.ndarray, cap: np.ndarray, starts: np.ndarray | None = None) -> np.ndarray:
    """Split an aggregate cap among licensors, per sample, for one row or many at once.

    ``own`` (pieces x samples): each piece's own charge (fraction of sales); ``weights``
    (pieces): coverage x weight; ``cap`` (samples); ``starts``: the first piece of each row
    (pieces sorted by row; default: all pieces one row). Per row and sample: where the sum of
    own charges is within the cap, each keeps its own charge. Where it exceeds the cap, the cap
    is split in proportion to the weights (all equal if the row's weights sum to 0), but no
    piece gets more than its own charge; what a piece cannot take is split among the others the
    same way (water-filling: x_i = min(own_i, lambda x w_i) with sum x_i = cap). Continuous in
    the inputs; never raises a licensor above its own charge."""
    if own.size == 0:
        return own.copy()
    st = np.zeros(1, dtype=np.int64) if starts is None else np.asarray(starts, dtype=np.int64)
    sizes = np.diff(np.append(st, own.shape[0]))
    seg = np.repeat(np.arange(len(st)), sizes)
    binding = np.add.reduceat(own, st, axis=0) > cap[None, :]
    if not binding.any():
        return own.copy()
    wsum = np.add.reduceat(weights, st)
    w = np.where(wsum[seg] > 0, weights, 1.0)[:, None]
    sat = own <= 0
    if sat.any():
        s_own, w_free = np.add.reduceat(np.where(sat, own, 0.0), st, axis=0), np.add.reduceat(np.where(sat, 0.0, w), st, axis=0)
    else:  # nothing saturated yet: the same sums without a pass over the pieces
        s_own, w_free = np.zeros(binding.shape), np.repeat(np.add.reduceat(w[:, 0], st)[:, None], own.shape[1], axis=1)
    lamw = np.zeros(own.shape)
    for _ in range(int(sizes.max()) + 1):
        lam = np.where(w_free > 0, (cap[None, :] - s_own) / np.where(w_free > 0, w_free, 1.0), 0.0)
        lamw = lam[seg]
        lamw *= w
        new_sat = lamw >= own
        new_sat |= sat
        if np.array_equal(new_sat, sat):
            break
        sat = new_sat
        s_own, w_free = np.add.reduceat(np.where(sat, own, 0.0), st, axis=0), np.add.reduceat(np.where(sat, 0.0, w), st, axis=0)
    out = np.minimum(lamw, own)
    np.copyto(out, own, where=sat)
    if not binding.all():
        np.copyto(out, own, where=~binding[seg])
    return out


def _chunks(rows: np.ndarray, idx: np.ndarray, n: int) -> list[np.ndarray]:
    """Split piece indices ``idx`` (sorted by row) into blocks of whole rows of about _CHUNK
    floats at ``n`` samples (a row larger than that is a block of its own)."""
    if not len(idx):
        return []
    per = max(1, _CHUNK // max(n, 1))
    r = rows[idx]
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    out, a = [], 0
    while a < len(starts):
        b = a + 1
        while b < len(starts) and starts[b] - starts[a] < per:
            b += 1
        lo, hi = starts[a], starts[b] if b < len(starts) else len(idx)
        out.append(idx[lo:hi])
        a = b
    return out


@dataclass
class _Charges:
    value: np.ndarray      # rows x samples: sales value
    agg: np.ndarray        # rows x samples: aggregate royalty rate (fraction of sales)
    keep: np.ndarray       # rows x samples: probability the sales are not excluded
    rate_p50: np.ndarray   # pieces: median charge (fraction of sales; 0 for refusals)


def _charges(sc: Scenario, b: Blocking, n: int, seed: int, fixed: dict[str, float]) -> _Charges:
    """The Monte Carlo over rows x samples. Percent rates (the common case) enter as one
    (rows x quantities) coefficient matrix times the (quantities x samples) draws and their
    medians as coefficient x median of the draws; per-kg and lump-sum rates, and every rate
    under a cap, as (pieces x samples) blocks of whole rows, with the cap water-filled over all
    the block's rows at once; refusals as a product per row of (1 - coverage x p_exclusion)."""
    rng = np.random.default_rng(seed)
    cache: dict[str, np.ndarray] = {}

    def draws(d: Dist) -> np.ndarray:
        if d.name in fixed:
            return np.full(n, fixed[d.name])
        if d.name not in cache:  # one draw per named quantity per sample: shared across rows
            cache[d.name] = d.sample(rng, n)
        return cache[d.name]

    price = draws(sc.price_per_kg) if sc.price_per_kg else None
    cap = draws(sc.cap) if sc.cap else None
    nr, npc = b.n_rows, len(b.row)
    value = np.repeat(b.value[:, None], n, axis=1)
    if price is not None and b.from_price.any():
        fp = b.from_price
        value[fp] = (np.nan_to_num(b.tonnes[fp]) * 1000)[:, None] * price[None, :]
    # payloads -> rates and quantities, drawn in the order of the first piece using them
    resolved = [_resolve(sc, key) for key in b.payloads]
    dists: list[Dist] = [r if key[0] == "refused" else r.value for key, r in zip(b.payloads, resolved, strict=True)]
    col: dict[int, int] = {}
    mats: list[np.ndarray] = []
    pq = np.empty(len(dists), dtype=np.int64)
    for k, d in enumerate(dists):
        arr = draws(d)
        if id(d) not in col:
            col[id(d)] = len(mats)
            mats.append(arr)
        pq[k] = col[id(d)]
    draw_m = np.vstack(mats) if mats else np.zeros((0, n))
    basis = np.array([3 if key[0] == "refused" else ("percent", "per_kg", "lump_sum").index(r.basis)
                      for key, r in zip(b.payloads, resolved, strict=True)], dtype=np.int64)
    q = pq[b.payload] if npc else np.zeros(0, dtype=np.int64)
    pb = basis[b.payload] if npc else np.zeros(0, dtype=np.int64)
    scale = b.coverage * (1.0 if sc.rate_scaling == "flat" else b.share)
    use_cap = sc.apportionment == "cap" and cap is not None
    agg = np.zeros((nr, n))
    keep = np.ones((nr, n))
    rate_p50 = np.zeros(npc)
    ref = np.flatnonzero(pb == 3)
    if len(ref):
        f = 1 - b.coverage[ref][:, None] * draw_m[q[ref]]
        st = np.flatnonzero(np.r_[True, b.row[ref][1:] != b.row[ref][:-1]])
        keep[b.row[ref][st]] = np.multiply.reduceat(f, st, axis=0)
    coef = np.flatnonzero(pb == 0) if not use_cap else np.zeros(0, dtype=np.int64)
    if len(coef):
        kmat = np.zeros((nr, len(mats)))
        np.add.at(kmat, (b.row[coef], q[coef]), scale[coef])
        agg += kmat @ draw_m
        rate_p50[coef] = scale[coef] * np.median(draw_m, axis=1)[q[coef]]
    own_idx = np.flatnonzero((pb != 3) & ((pb != 0) | use_cap))
    lump_share = _lump_shares(sc, b, own_idx[pb[own_idx] == 2])
    if use_cap and len(own_idx):
        assert cap is not None
        own_idx = _cap_one_quantity(b, own_idx, pb, q, scale, draw_m, cap, agg, rate_p50)
    for idx in _chunks(b.row, own_idx, n):
        rws = b.row[idx]
        d = draw_m[q[idx]]
        kg, lump = pb[idx] == 1, pb[idx] == 2
        frac = d
        if kg.any() or lump.any():
            val = value[rws]
            safe = np.where(val > 0, val, 1.0)
            frac = d.copy()
        if kg.any():
            t = b.tonnes[rws[kg]]
            no_t = np.isnan(t)
            if no_t.any() and price is None:
                i = int(rws[kg][no_t][0])
                raise ConfigError(f"a per-kg rate needs tonnes or scenario.price_per_kg ({b.exporter[i]} {b.market[i]} {b.year[i]})")
            by_t = np.where(val[kg] > 0, d[kg] * np.nan_to_num(t)[:, None] * 1000 / safe[kg], 0.0)
            if no_t.any():
                assert price is not None
                by_t[no_t] = np.where(val[kg][no_t] > 0, d[kg][no_t] / price[None, :], 0.0)  # (currency/kg) / (currency/kg)
            frac[kg] = by_t
        if lump.any():  # lump sum per year, allocated to this row by its share of the exporter's sales in the territory
            frac[lump] = np.where(val[lump] > 0, d[lump] * np.array([lump_share[int(i)] for i in idx[lump]])[:, None] / safe[lump], 0.0)
        own = scale[idx][:, None] * frac
        st = np.flatnonzero(np.r_[True, rws[1:] != rws[:-1]])
        if use_cap:
            assert cap is not None
            own = waterfill(own, b.coverage[idx] * b.weight[idx], cap, st)
            agg[rws[st]] = np.add.reduceat(own, st, axis=0)
        else:
            agg[rws[st]] += np.add.reduceat(own, st, axis=0)
        rate_p50[idx] = np.median(own, axis=1, overwrite_input=True)  # own is not used after this
    return _Charges(value, agg, keep, rate_p50)


def _cap_one_quantity(b: Blocking, idx: np.ndarray, pb: np.ndarray, q: np.ndarray, scale: np.ndarray,
                      draw_m: np.ndarray, cap: np.ndarray, agg: np.ndarray, rate_p50: np.ndarray) -> np.ndarray:
    """The cap for rows whose charging pieces all carry one percent quantity (the common case:
    every group at the unlicensed rate), in closed form: own_i = a_i x d per sample, so a piece
    is saturated at lambda iff a_i / w_i <= lambda / d, the same order in every sample. With the
    pieces sorted by a_i / w_i, G(mu) = sum of a_i over saturated pieces + mu x the sum of the
    other weights is increasing and piecewise linear with the same breakpoints in all samples;
    lambda = d x mu where G(mu) = cap / d, found by one search per sample. The same solution as
    :func:`waterfill` (x_i = min(own_i, lambda x w_i), sum x_i = cap), without its iterations.
    Fills ``agg`` and ``rate_p50`` for those rows; returns the pieces left for the water-fill."""
    rows = b.row[idx]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    ends = np.r_[starts[1:], len(idx)]
    rest = []
    for a0, a1 in zip(starts, ends, strict=True):
        sub = idx[a0:a1]
        if not ((pb[sub] == 0).all() and (q[sub] == q[sub[0]]).all()):
            rest.append(sub)
            continue
        a = scale[sub]
        d = draw_m[q[sub[0]]]
        own = a[:, None] * d[None, :]
        binding = own.sum(axis=0) > cap
        if binding.any():
            cw = b.coverage[sub] * b.weight[sub]
            w = cw if cw.sum() > 0 else np.ones_like(cw)
            with np.errstate(divide="ignore", invalid="ignore"):
                rho = np.where(w > 0, a / np.where(w > 0, w, 1.0), np.inf)
            order = np.argsort(rho, kind="stable")
            rs, a_s, w_s = rho[order], a[order], w[order]
            a_cum = np.r_[0.0, np.cumsum(a_s)]                       # saturated pieces 0..k-1: a_cum[k]
            w_rest = np.r_[np.cumsum(w_s[::-1])[::-1], 0.0]          # unsaturated pieces k..: w_rest[k]
            with np.errstate(divide="ignore", invalid="ignore"):
                g = a_cum[:-1] + np.where(np.isfinite(rs), rs * w_rest[:-1], np.inf)  # G at mu = rs[k]
                t = np.where(binding, cap / np.where(binding, d, 1.0), 0.0)
            k = np.searchsorted(g, t, side="right")                # pieces 0..k-1 saturated
            wk = w_rest[k]
            mu = np.where(wk > 0, (t - a_cum[k]) / np.where(wk > 0, wk, 1.0), np.inf)
            # no cap where it does not bind; every piece with a weight saturated where nothing with a weight is left
            lam = np.where(binding & (wk > 0), mu * d, np.inf)
            with np.errstate(invalid="ignore"):
                cand = w[:, None] * lam[None, :]
            zw = w == 0
            if zw.any():  # a piece without weight gets nothing where the cap binds (lambda x 0)
                cand[zw] = np.where(binding, 0.0, np.inf)[None, :]
            capped = cand < own
            every, none = capped.all(axis=1), ~capped.any(axis=1)
            np.minimum(own, cand, out=own)
            # medians without sorting where a piece is capped in every sample (w x lambda) or in none (a x d)
            med = np.zeros(len(sub))
            if every.any():
                med[every] = np.where(zw[every], 0.0, w[every] * (np.median(lam) if np.isfinite(lam).all() else 0.0))
            med[none] = a[none] * np.median(d)
            mixed = ~(every | none)
            if mixed.any():
                med[mixed] = np.median(own[mixed], axis=1)
        else:
            med = a * np.median(d)
        r = int(rows[a0])
        agg[r] = own.sum(axis=0)
        rate_p50[sub] = med
    return np.concatenate(rest) if rest else np.zeros(0, dtype=np.int64)


def _lump_shares(sc: Scenario, b: Blocking, idx: np.ndarray) -> dict[int, float]:
    """Per lump-sum piece: its row's part of the yearly lump sum (the licence's sum spread
    evenly over its years, and over the exporter's sales in the licence's territory)."""
    territory_sales: dict[tuple[str, int, str], float] = {}
    for i in idx:
        r = int(b.row[i])
        k3 = (b.exporter[r], int(b.year[r]), b.group[i])
        territory_sales[k3] = territory_sales.get(k3, 0.0) + float(b.value[r])
    out = {}
    for i in idx:
        key = b.payloads[int(b.payload[i])]
        if key[0] != "licensed":
            raise ConfigError(f"a lump-sum rate is a licence's term; {key[0]} rates must be percent or per_kg")
        lic = sc.licences[key[1]]
        r = int(b.row[i])
        years_n = ((lic.end.year if lic.end else sc.years[1]) - (lic.start.year if lic.start else sc.years[0]) + 1)
        total = territory_sales.get((b.exporter[r], int(b.year[r]), b.group[i]), float(b.value[r])) or 1.0
        out[int(i)] = float(b.value[r]) / total / max(years_n, 1)
    return out


def _all_markets(b: Blocking, value: np.ndarray, royalties: np.ndarray, at_risk: np.ndarray) -> tuple[
        list[tuple[str, int]], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Market 'ALL': an exporter's markets summed per year. Returns the (exporter, year) keys,
    the reported sales value, and per sample the value, royalties, sales at risk and burden."""
    keys = sorted({(e, int(y)) for e, y in zip(b.exporter, b.year, strict=True)})
    nr = b.n_rows
    idx = {k2: a for a, k2 in enumerate(keys)}
    grp = np.array([idx[(e, int(y))] for e, y in zip(b.exporter, b.year, strict=True)], dtype=np.int64)
    m = np.zeros((len(keys), nr))
    m[grp, np.arange(nr)] = 1.0
    v_all, roy_all, risk_all = m @ value, m @ royalties, m @ at_risk
    b_all = np.where(v_all > 0, roy_all / np.where(v_all > 0, v_all, 1.0), 0.0)
    return keys, m @ b.value, v_all, roy_all, risk_all, b_all


def simulate(sc: Scenario, portfolio: pl.DataFrame | None, *, samples: int | None = None, seed: int | None = None,
             fixed: dict[str, float] | None = None, rows: Blocking | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Run the model. Returns (per-row results with P5/P50/P95, per-group detail at the median).

    ``fixed`` pins named uncertain quantities to a value (used by the sensitivity analysis);
    ``rows`` reuses a structure from :func:`blocking` (rate variants and the sensitivity share it).
    Per-row output columns: exporter, market, year, sales_value (at the median price when
    sales are in tonnes), n_blocking, n_licensed, n_unlicensed, n_refused, n_compulsory,
    royalties_p5/p50/p95 (currency), burden_p5/p50/p95 (fraction of sales, percentiles of the
    per-sample ratio), sales_at_risk_p5/p50/p95 (currency), share_infeasible (fraction of
    samples whose burden exceeds 100% of sales) and infeasible (burden_p95 > 100%: a burden no
    exporter can pay; the rate assumptions, not the exporter, are what such a row shows). Market
    'ALL' rows aggregate an exporter's markets per year (burden on its export sales). Sales given
    in tonnes are valued with the price drawn in each sample.

    Vectorised over rows x samples (:func:`_charges`); the detail is built column-wise."""
    b = rows if rows is not None else blocking(sc, _need(portfolio))
    ch = _charges(sc, b, samples or sc.samples, sc.seed if seed is None else seed, fixed or {})
    royalties = ch.agg * ch.value
    at_risk = (1 - ch.keep) * ch.value
    burden = np.where(ch.value > 0, ch.agg, 0.0)
    extra: list[tuple[int | None, dict[str, int] | None]] = [
        (int(ng), dict(zip(STATUSES, (int(x) for x in c), strict=True))) for ng, c in zip(b.n_groups, b.counts, strict=True)]
    results = _summaries(list(zip(b.exporter, b.market, (int(y) for y in b.year), strict=True)), b.value,
                         royalties, at_risk, burden, extra)
    if b.n_rows:
        keys, v_rep, _v, roy_all, risk_all, b_all = _all_markets(b, ch.value, royalties, at_risk)
        results += _summaries([(e, "ALL", y) for e, y in keys], v_rep, roy_all, risk_all, b_all, [(None, None)] * len(keys))
    r = b.row
    det = pl.DataFrame({
        "exporter": pl.Series(b.exporter, dtype=pl.Utf8).gather(r), "market": pl.Series(b.market, dtype=pl.Utf8).gather(r),
        "year": b.year[r], "holder_group": pl.Series(b.group, dtype=pl.Utf8),
        "status": pl.Series(STATUSES, dtype=pl.Utf8).gather(b.status), "coverage": b.coverage, "weight": b.weight,
        "rate_p50": ch.rate_p50}, schema=DETAIL_SCHEMA)
    res = pl.DataFrame(results, schema=RESULT_SCHEMA).sort("exporter", "market", "year")
    return res, det


def _need(portfolio: pl.DataFrame | None) -> pl.DataFrame:
    if portfolio is None:
        raise ValueError("a portfolio or a blocking structure (rows=) is needed")
    return portfolio


DETAIL_SCHEMA = {"exporter": pl.Utf8, "market": pl.Utf8, "year": pl.Int64, "holder_group": pl.Utf8,
                 "status": pl.Utf8, "coverage": pl.Float64, "weight": pl.Float64, "rate_p50": pl.Float64}


def _summaries(keys: list[tuple[str, str, int]], values: np.ndarray, roy: np.ndarray,
               risk: np.ndarray, burden: np.ndarray, extra: list[tuple[int | None, dict[str, int] | None]]) -> list[dict[str, Any]]:
    """Result rows from (rows x samples) arrays: percentiles taken along the samples at once."""
    if not keys:
        return []
    q = [5, 50, 95]
    rq, kq, bq = (np.percentile(a, q, axis=1) for a in (roy, risk, burden))
    share_inf = (burden > 1.0).mean(axis=1)
    out = []
    for i, (ex, market, year) in enumerate(keys):
        nb, c = extra[i]
        c = c or {}
        out.append({"exporter": ex, "market": market, "year": year, "sales_value": float(values[i]), "n_blocking": nb,
                    "n_licensed": c.get("licensed"), "n_unlicensed": c.get("unlicensed"), "n_refused": c.get("refused"),
                    "n_compulsory": c.get("compulsory"),
                    "royalties_p5": float(rq[0, i]), "royalties_p50": float(rq[1, i]), "royalties_p95": float(rq[2, i]),
                    "burden_p5": float(bq[0, i]), "burden_p50": float(bq[1, i]), "burden_p95": float(bq[2, i]),
                    "sales_at_risk_p5": float(kq[0, i]), "sales_at_risk_p50": float(kq[1, i]),
                    "sales_at_risk_p95": float(kq[2, i]),
                    "share_infeasible": float(share_inf[i]), "infeasible": bool(bq[2, i] > 1.0)})
    return out


RESULT_SCHEMA = {
    "exporter": pl.Utf8, "market": pl.Utf8, "year": pl.Int64, "sales_value": pl.Float64, "n_blocking": pl.Int64,
    "n_licensed": pl.Int64, "n_unlicensed": pl.Int64, "n_refused": pl.Int64, "n_compulsory": pl.Int64,
    "royalties_p5": pl.Float64, "royalties_p50": pl.Float64, "royalties_p95": pl.Float64,
    "burden_p5": pl.Float64, "burden_p50": pl.Float64, "burden_p95": pl.Float64,
    "sales_at_risk_p5": pl.Float64, "sales_at_risk_p50": pl.Float64, "sales_at_risk_p95": pl.Float64,
    "share_infeasible": pl.Float64, "infeasible": pl.Boolean,
}


def uncertain_quantities(sc: Scenario) -> list[Dist]:
    qs: list[Dist] = [sc.unlicensed_rate.value, sc.licensed_rate.value, *(r.value for r in sc.unlicensed_by_group.values())]
    qs += [lic.rate.value for lic in sc.licences.values() if lic.rate]
    qs += [d for r in sc.refusals for d in r.exclusion_probability.values()]
    qs += [c.rate.value for c in sc.compulsory]
    if sc.cap:
        qs.append(sc.cap)
    if sc.price_per_kg:
        qs.append(sc.price_per_kg)
    seen: dict[str, Dist] = {}
    for d in qs:
        if d.uncertain:
            seen.setdefault(d.name, d)
    return list(seen.values())


def sensitivity(sc: Scenario, portfolio: pl.DataFrame | None, exporter: str | None = None,
                rows: Blocking | None = None) -> pl.DataFrame:
    """One-at-a-time sensitivity: each uncertain quantity at its P5 and P95 with every other one
    at its median; the outcome is the exporter's mean burden on export sales (market 'ALL') over
    the scenario years. Output sorted by swing (largest first): quantity, low_value, high_value,
    burden_at_low, burden_at_high, swing. One blocking structure serves every outcome."""
    qs = uncertain_quantities(sc)
    base = {d.name: d.quantile(0.5) for d in qs}
    exporters = [exporter] if exporter else [e.id for e in sc.exporters]
    b = rows if rows is not None else blocking(sc, _need(portfolio))

    def outcome(pins: dict[str, float]) -> dict[str, float]:
        ch = _charges(sc, b, 1, sc.seed, pins)
        keys, _rep, _v, _roy, _risk, b_all = (_all_markets(b, ch.value, ch.agg * ch.value, (1 - ch.keep) * ch.value)
                                              if b.n_rows else ([], None, None, None, None, np.zeros((0, 1))))
        out: dict[str, float] = {}
        for e in exporters:
            vals = [float(b_all[i, 0]) for i, (ex, _y) in enumerate(keys) if ex == e]
            out[e] = float(pl.Series(vals, dtype=pl.Float64).mean()) if vals else 0.0  # type: ignore[arg-type]
        return out

    table = []
    for d in qs:
        lo, hi = d.quantile(0.05), d.quantile(0.95)
        at_lo, at_hi = outcome({**base, d.name: lo}), outcome({**base, d.name: hi})
        for e in exporters:
            table.append({"exporter": e, "quantity": d.name, "low_value": lo, "high_value": hi,
                         "burden_at_low": at_lo[e], "burden_at_high": at_hi[e], "swing": abs(at_hi[e] - at_lo[e])})
    schema = {"exporter": pl.Utf8, "quantity": pl.Utf8, "low_value": pl.Float64, "high_value": pl.Float64,
              "burden_at_low": pl.Float64, "burden_at_high": pl.Float64, "swing": pl.Float64}
    return pl.DataFrame(table, schema=schema).sort(["exporter", "swing"], descending=[False, True])


def threshold_year(results: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """Per exporter: the first year from which the median burden on export sales (market 'ALL')
    stays below ``threshold`` through the end of the horizon (null if it never does)."""
    out = []
    allm = results.filter(pl.col("market") == "ALL").sort("exporter", "year")
    for (ex,), part in allm.group_by(["exporter"], maintain_order=True):
        years = part["year"].to_list()
        below = [b < threshold for b in part["burden_p50"].to_list()]
        first = None
        for i in range(len(years)):
            if all(below[i:]):
                first = years[i]
                break
        out.append({"exporter": ex, "threshold": threshold, "first_year_below": first,
                    "burden_first_year": part["burden_p50"][0], "burden_last_year": part["burden_p50"][-1]})
    return pl.DataFrame(out, schema={"exporter": pl.Utf8, "threshold": pl.Float64, "first_year_below": pl.Int64,
                                     "burden_first_year": pl.Float64, "burden_last_year": pl.Float64})



def inverse(sc: Scenario, portfolio: pl.DataFrame | None, rows: Blocking | None = None) -> pl.DataFrame:
    """What per-licensor rate would produce the target burden (e.g. 30% of export sales)?

    Per exporter and year, with S_m the sales in market m and k_m = sum over the royalty-bearing
    pieces blocking m (licensed, unlicensed or compulsory; refusing groups charge nothing) of
    coverage x scale (scale 1 under rate_scaling 'flat', the group's share of the blocking
    weight under 'portfolio_share'): a uniform per-licensor rate r gives the burden
    B(r) = sum_m S_m x A_m(r) / S, where A_m(r) = r x k_m under 'stack' and
    min(r x k_m, cap) under 'cap' (the cap at its highest value, the most favourable to
    reaching the target). A percent rate cannot exceed 100% of sales, so the largest burden any
    rate can give is ``max_burden`` = B(1). ``reachable`` = max_burden >= target;
    ``required_avg_rate`` = the r with B(r) = target (closed form under 'stack', bisection
    under 'cap'), null when unreachable; ``why`` says why not. ``licensors_at_benchmark`` =
    target / benchmark_rate stacked licensors at the benchmark rate, if they blocked every
    market all year (meaningful under 'stack' only)."""
    b = rows if rows is not None else blocking(sc, _need(portfolio))
    flat = sc.rate_scaling == "flat"
    cap_hi = max(sc.cap.params) if sc.apportionment == "cap" and sc.cap else None
    charging = b.status != _REFUSED
    scale = b.coverage * (1.0 if flat else b.share)
    k_row = np.bincount(b.row[charging], weights=scale[charging], minlength=b.n_rows) if b.n_rows else np.zeros(0)
    acc: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for e, y, v, k in zip(b.exporter, b.year, b.value, k_row, strict=True):
        acc.setdefault((e, int(y)), []).append((float(v), float(k)))

    def burden(parts: list[tuple[float, float]], s: float, rate: float) -> float:
        tot = sum(sm * (min(rate * k, cap_hi) if cap_hi is not None else rate * k) for sm, k in parts)
        return tot / s

    out = []
    for (ex, y), parts in sorted(acc.items()):
        s = sum(sm for sm, _k in parts)
        sk = sum(sm * k for sm, k in parts)
        target = sc.target_burden
        req: float | None = None
        if not s or not sk:
            mx, why = 0.0, "no holder group charges a royalty in any market this year"
        else:
            mx = burden(parts, s, 1.0)
            if mx + 1e-12 < target:
                why = (f"unreachable: under the cap of {cap_hi:.4g} the aggregate rate cannot exceed it in any market, "
                       f"so the burden cannot exceed {mx:.4g}" if cap_hi is not None and mx <= cap_hi + 1e-12 else
                       f"unreachable: even a per-licensor rate of 100% of sales gives a burden of {mx:.4g}")
            elif cap_hi is None:
                req, why = target * s / sk, "reachable"
            else:
                lo, hi = 0.0, 1.0
                for _ in range(100):
                    mid = (lo + hi) / 2
                    lo, hi = (mid, hi) if burden(parts, s, mid) < target else (lo, mid)
                req, why = hi, "reachable"
        out.append({"exporter": ex, "year": y, "target_burden": sc.target_burden,
                    "required_avg_rate": req, "reachable": req is not None, "max_burden": mx, "why": why,
                    "avg_blocking_licensors": sk / s if s else None,
                    "benchmark_rate": sc.benchmark_rate,
                    "licensors_at_benchmark": sc.target_burden / sc.benchmark_rate})
    return pl.DataFrame(out, schema=INVERSE_SCHEMA)


INVERSE_SCHEMA = {"exporter": pl.Utf8, "year": pl.Int64, "target_burden": pl.Float64, "required_avg_rate": pl.Float64,
                  "reachable": pl.Boolean, "max_burden": pl.Float64, "why": pl.Utf8,
                  "avg_blocking_licensors": pl.Float64, "benchmark_rate": pl.Float64, "licensors_at_benchmark": pl.Float64}


def with_rates(sc: Scenario, unlicensed: Rate | None = None, licensed: Rate | None = None) -> Scenario:
    """A copy of the scenario with other rate assumptions (for low/benchmark/demanded variants)."""
    return replace(sc, unlicensed_rate=unlicensed or sc.unlicensed_rate, licensed_rate=licensed or sc.licensed_rate)


def variants(sc: Scenario) -> list[tuple[str, Scenario]]:
    """The base scenario and each declared variant, as (name, scenario) pairs."""
    out = [("base", sc)]
    for v in sc.variants:
        out.append((v.name, with_rates(sc, v.unlicensed, v.licensed)))
    return out


