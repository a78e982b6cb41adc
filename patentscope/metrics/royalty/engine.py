"""Royalty model: engine (see the package docstring and docs/royalty.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
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


@dataclass(frozen=True)
class _Piece:
    """Part of a blocking group's year under one status.

    ``coverage``: days of the year on which the group has a blocking family in force AND this
    status holds, over the days of the year. ``key`` names where the rate comes from, resolved
    against the scenario at simulation time (so rate variants share one structure):
    ('licence', id) | ('compulsory', index) | ('refused', index) | ('unlicensed', group)."""

    group: str
    coverage: float
    weight: float
    status: str
    key: tuple[str, Any]


@dataclass
class _Row:
    exporter: str
    market: str
    year: int
    value: float                 # sales value at the median price (reported)
    tonnes: float | None
    value_from_price: bool       # value = tonnes x price: drawn per sample with the price
    groups: list[_Piece]
    share: dict[str, float] = field(default_factory=dict)  # group -> its share of the blocking weight


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
            return "licensed", ("licence", lic_for_seg[0].id)
    for i, c in comp:
        if c.start <= day and (c.end is None or day <= c.end):
            return "compulsory", ("compulsory", i)
    if refusal is not None:
        return "refused", ("refused", refusal)
    return "unlicensed", ("unlicensed", group)


def _exporter_frames(ex: Exporter, portfolio: pl.DataFrame, years: tuple[int, int]) -> tuple[
        dict[tuple[str, str], list[tuple[int, int]]], dict[tuple[str, int], list[tuple[str, float, list[str]]]]]:
    """For one exporter: the merged in-force day intervals per (market, group) over the
    exporter's segments, and per (market, year) the blocking groups with their weight (sum over
    distinct families in force at some time in the year of the family's largest weight) and
    blocking segments. Vectorised with polars; other groups' and other segments' rows dropped."""
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
    merged: dict[tuple[str, str], list[tuple[int, int]]] = {}
    blocks = (p.select("jurisdiction", "holder_group", "a", "b").unique()
              .sort("jurisdiction", "holder_group", "a", "b")
              .with_columns(pl.col("b").cum_max().shift(1).over(["jurisdiction", "holder_group"]).alias("prev"))
              .with_columns((pl.col("prev").is_null() | (pl.col("a") > pl.col("prev"))).cast(pl.Int64)
                            .cum_sum().over(["jurisdiction", "holder_group"]).alias("blk"))
              .group_by("jurisdiction", "holder_group", "blk").agg(pl.col("a").min(), pl.col("b").max())
              .sort("jurisdiction", "holder_group", "a"))
    for jur, grp, a, b in blocks.select("jurisdiction", "holder_group", "a", "b").iter_rows():
        merged.setdefault((jur, grp), []).append((a, b))
    yrs = pl.DataFrame({"year": list(range(y0, y1 + 1)),
                        "ys": [_day(dt.date(y, 1, 1)) for y in range(y0, y1 + 1)],
                        "ye": [_day(dt.date(y + 1, 1, 1)) for y in range(y0, y1 + 1)]})
    inyear = p.join(yrs, how="cross").filter((pl.col("a") < pl.col("ye")) & (pl.col("b") > pl.col("ys")))
    fam = inyear.group_by("jurisdiction", "year", "holder_group", "family_id").agg(pl.col("w").max())
    w = fam.group_by("jurisdiction", "year", "holder_group").agg(pl.col("w").sum())
    segs = inyear.group_by("jurisdiction", "year", "holder_group").agg(pl.col("segment").unique().sort())
    per: dict[tuple[str, int], list[tuple[str, float, list[str]]]] = {}
    for jur, y, grp, wsum, sg in w.join(segs, on=["jurisdiction", "year", "holder_group"]).sort(
            "jurisdiction", "year", "holder_group").select("jurisdiction", "year", "holder_group", "w", "segment").iter_rows():
        per.setdefault((jur, int(y)), []).append((grp, float(wsum), list(sg)))
    return merged, per


def _rows(sc: Scenario, portfolio: pl.DataFrame) -> list[_Row]:
    """Per exporter x market x year: the blocking groups, split into pieces of the year by status.

    A group's families are taken in the exporter's segments only. Each day of the year on which
    at least one of them is in force (union of intervals, across segments) carries the status of
    that day (:func:`_day_status`): licences and compulsory licences count by day, from their
    start to their end date inclusive, and only on days when a blocking family is in force (a
    compulsory licence starting after the patent ended covers nothing). The group's weight is the
    sum of the weights of its distinct families in force during the year; ``share`` is its part
    of the row's total blocking weight (used by rate_scaling = 'portfolio_share')."""
    rows = []
    y0, y1 = sc.years
    price_mid = sc.price_per_kg.quantile(0.5) if sc.price_per_kg else None
    frames: dict[tuple[Any, ...], Any] = {}
    for ex in sc.exporters:
        fkey = (tuple(sorted(ex.segments)), ex.holder_group, tuple(sorted({m for m, _y in ex.sales})))
        if fkey not in frames:  # exporters with the same segments, group and markets share one structure
            frames[fkey] = _exporter_frames(ex, portfolio, sc.years)
        merged, per = frames[fkey]
        lic_dates: dict[str, list[int]] = {}
        for lid in ex.licences:
            lic = sc.licences[lid]
            ds = lic_dates.setdefault(lic.licensor_group, [])
            if lic.start:
                ds.append(_day(lic.start))
            if lic.end:
                ds.append(_day(lic.end) + 1)
        for (m, y) in sorted(ex.sales):
            if not (y0 <= y <= y1):
                continue
            value, tonnes, from_price = _sales_value(ex, m, y, price_mid)
            ys, ye = _day(dt.date(y, 1, 1)), _day(dt.date(y + 1, 1, 1))
            ndays = ye - ys
            pieces: list[_Piece] = []
            weights: dict[str, float] = {}
            for grp, weight, segs in per.get((m, y), []):
                ivs = [(max(a, ys), min(b, ye)) for a, b in merged.get((m, grp), []) if b > ys and a < ye]
                if not ivs:
                    continue
                comp = [(i, c) for i, c in enumerate(sc.compulsory) if c.market == m and c.holder_group in ("*", grp)]
                refusal = next((i for i, r in enumerate(sc.refusals) if r.holder_group == grp and m in r.markets), None)
                bps = {ys, ye, *(d for d in lic_dates.get(grp, []) if ys < d < ye)}
                for _i, c in comp:
                    bps.update(d for d in (_day(c.start), _day(c.end) + 1 if c.end else ye) if ys < d < ye)
                for a, b in ivs:
                    bps.update((a, b))
                cuts = sorted(bps)
                by_key: dict[tuple[str, Any], tuple[str, int]] = {}
                for p_, q_ in zip(cuts, cuts[1:], strict=False):
                    days = _covered(ivs, p_, q_)
                    if days <= 0:
                        continue
                    status, key = _day_status(sc, ex, grp, m, segs, _date_of(p_), comp, refusal)
                    prev = by_key.get(key, (status, 0))
                    by_key[key] = (status, prev[1] + days)
                for key, (status, days) in by_key.items():
                    pieces.append(_Piece(grp, days / ndays, weight, status, key))
                weights[grp] = weight
            wsum = sum(weights.values())
            share = {g: (w / wsum if wsum > 0 else 1.0 / len(weights)) for g, w in weights.items()}
            rows.append(_Row(ex.id, m, y, value, tonnes, from_price, pieces, share))
    return rows


def _resolve(sc: Scenario, row: _Row, piece: _Piece) -> Any:
    """The rate (or, for a refusal, the exclusion probability) behind a piece, from ``sc``."""
    kind, ref = piece.key
    if kind == "licence":
        return sc.licences[ref].rate or sc.licensed_rate
    if kind == "compulsory":
        return sc.compulsory[ref].rate
    if kind == "refused":
        return sc.refusals[ref].exclusion_probability.get(row.market, Dist("fixed", (0.0,)))
    return sc.unlicensed_by_group.get(piece.group, sc.unlicensed_rate)


def _rate_fraction(rate: Rate, draws: np.ndarray, row: _Row, value: np.ndarray, price: np.ndarray | None,
                   lump_share: float) -> np.ndarray:
    """A rate as a fraction of this row's sales value, per sample (``value`` per sample)."""
    if rate.basis == "percent":
        return draws
    safe = np.where(value > 0, value, 1.0)
    if rate.basis == "per_kg":
        if row.tonnes is None:
            if price is None:
                raise ConfigError(f"a per-kg rate needs tonnes or scenario.price_per_kg ({row.exporter} {row.market} {row.year})")
            return np.where(value > 0, draws / price, 0.0)  # (currency/kg) / (currency/kg)
        return np.where(value > 0, draws * row.tonnes * 1000 / safe, 0.0)
    # lump sum per year, allocated to this row by its share of the exporter's sales in the territory
    return np.where(value > 0, draws * lump_share / safe, 0.0)


def waterfill(own: np.ndarray, weights: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Split an aggregate cap among licensors, per sample.

    ``own`` (pieces x samples): each piece's own charge (fraction of sales); ``weights``
    (pieces): coverage x weight; ``cap`` (samples). Where the sum of own charges is within the
    cap, each keeps its own charge. Where it exceeds the cap, the cap is split in proportion to
    the weights, but no piece gets more than its own charge; what a piece cannot take is split
    among the others the same way (water-filling: x_i = min(own_i, lambda x w_i) with
    sum x_i = cap). Continuous in the inputs; never raises a licensor above its own charge."""
    out = own.copy()
    if own.size == 0:
        return out
    binding = own.sum(axis=0) > cap
    if not binding.any():
        return out
    w = weights if weights.sum() > 0 else np.ones_like(weights)
    sub = own[:, binding]
    c = cap[binding]
    wv = np.broadcast_to(w[:, None], sub.shape)
    sat = sub <= 0
    lam = np.zeros(c.shape)
    for _ in range(sub.shape[0] + 1):
        rem = c - np.where(sat, sub, 0.0).sum(axis=0)
        wfree = np.where(sat, 0.0, wv).sum(axis=0)
        lam = np.where(wfree > 0, rem / np.where(wfree > 0, wfree, 1.0), 0.0)
        new_sat = sat | (lam * wv >= sub)
        if (new_sat == sat).all():
            break
        sat = new_sat
    out[:, binding] = np.where(sat, sub, np.minimum(lam * wv, sub))
    return out


def simulate(sc: Scenario, portfolio: pl.DataFrame | None, *, samples: int | None = None, seed: int | None = None,
             fixed: dict[str, float] | None = None, rows: list[_Row] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Run the model. Returns (per-row results with P5/P50/P95, per-group detail at the median).

    ``fixed`` pins named uncertain quantities to a value (used by the sensitivity analysis);
    ``rows`` reuses a structure from :func:`_rows` (rate variants and the sensitivity share it).
    Per-row output columns: exporter, market, year, sales_value (at the median price when
    sales are in tonnes), n_blocking, n_licensed, n_unlicensed, n_refused, n_compulsory,
    royalties_p5/p50/p95 (currency), burden_p5/p50/p95 (fraction of sales, percentiles of the
    per-sample ratio), sales_at_risk_p5/p50/p95 (currency), share_infeasible (fraction of
    samples whose burden exceeds 100% of sales) and infeasible (burden_p95 > 100%: a burden no
    exporter can pay; the rate assumptions, not the exporter, are what such a row shows). Market
    'ALL' rows aggregate an exporter's markets per year (burden on its export sales). Sales given
    in tonnes are valued with the price drawn in each sample.

    Vectorised over rows x samples: percent rates (the common case) enter as a (rows x named
    quantities) coefficient matrix times the (quantities x samples) draws; per-kg and lump-sum
    rates and a binding cap are handled per row as (pieces x samples) arrays.
    """
    n = samples or sc.samples
    rng = np.random.default_rng(sc.seed if seed is None else seed)
    fixed = fixed or {}
    if rows is None:
        assert portfolio is not None
        rows = _rows(sc, portfolio)
    cache: dict[str, np.ndarray] = {}

    def draws(d: Dist) -> np.ndarray:
        if d.name in fixed:
            return np.full(n, fixed[d.name])
        if d.name not in cache:  # one draw per named quantity per sample: shared across rows
            cache[d.name] = d.sample(rng, n)
        return cache[d.name]

    price = draws(sc.price_per_kg) if sc.price_per_kg else None
    cap = draws(sc.cap) if sc.cap else None
    nr = len(rows)
    value = np.empty((nr, n))
    for i, r in enumerate(rows):
        value[i] = (r.tonnes or 0.0) * 1000 * price if (r.value_from_price and price is not None) else r.value

    # lump sums: spread over the licence's years, allocated by sales within the territory
    territory_sales: dict[tuple[str, int, str], float] = {}
    for r in rows:
        for pc in r.groups:
            if pc.status == "licensed" and _resolve(sc, r, pc).basis == "lump_sum":
                k3 = (r.exporter, r.year, pc.group)
                territory_sales[k3] = territory_sales.get(k3, 0.0) + r.value
    flat = sc.rate_scaling == "flat"
    use_cap = sc.apportionment == "cap" and cap is not None
    dist_index: dict[str, int] = {}
    dist_draws: list[np.ndarray] = []
    coef: list[tuple[int, int, float]] = []       # (row, quantity, coefficient) for percent rates
    agg = np.zeros((nr, n))
    keep = np.ones((nr, n))
    piece_own: dict[tuple[int, int], tuple[np.ndarray | None, int, float]] = {}  # (row, piece) -> (own or None, q, c)
    for i, r in enumerate(rows):
        for j, pc in enumerate(r.groups):
            payload = _resolve(sc, r, pc)
            if pc.status == "refused":
                keep[i] *= 1 - pc.coverage * draws(payload)
                continue
            rate: Rate = payload
            scale = pc.coverage * (1.0 if flat else r.share.get(pc.group, 0.0))
            if rate.basis == "percent" and not use_cap:
                q = dist_index.get(rate.value.name + f"#{id(rate.value)}")
                if q is None:
                    q = len(dist_draws)
                    dist_index[rate.value.name + f"#{id(rate.value)}"] = q
                    dist_draws.append(draws(rate.value))
                coef.append((i, q, scale))
                piece_own[(i, j)] = (None, q, scale)
                continue
            lump_share = 0.0
            if rate.basis == "lump_sum":
                lic = sc.licences[pc.key[1]]
                years_n = ((lic.end.year if lic.end else sc.years[1]) - (lic.start.year if lic.start else sc.years[0]) + 1)
                total = territory_sales.get((r.exporter, r.year, pc.group), r.value) or 1.0
                lump_share = r.value / total / max(years_n, 1)
            piece_own[(i, j)] = (scale * _rate_fraction(rate, draws(rate.value), r, value[i], price, lump_share), -1, scale)
    if coef:
        k = np.zeros((nr, len(dist_draws)))
        for i, q, c in coef:
            k[i, q] += c
        agg += k @ np.vstack(dist_draws)
    medians: dict[tuple[int, int], float] = {}
    qmed = [float(np.median(d)) for d in dist_draws]
    for i, r in enumerate(rows):
        js = [j for j, pc in enumerate(r.groups) if pc.status != "refused"]
        vec = [j for j in js if piece_own[(i, j)][0] is not None]
        if use_cap and cap is not None and js:
            own = np.vstack([piece_own[(i, j)][0] for j in js])  # type: ignore[misc]
            charged = waterfill(own, np.array([r.groups[j].coverage * r.groups[j].weight for j in js]), cap)
            agg[i] = charged.sum(axis=0)
            for jj, m in zip(js, np.median(charged, axis=1), strict=True):
                medians[(i, jj)] = float(m)
            continue
        for j in js:
            own_j, q, c = piece_own[(i, j)]
            if own_j is None:
                medians[(i, j)] = c * qmed[q]
        for j in vec:
            own_j = piece_own[(i, j)][0]
            assert own_j is not None
            agg[i] += own_j
            medians[(i, j)] = float(np.median(own_j))
    royalties = agg * value
    at_risk = (1 - keep) * value
    burden = np.where(value > 0, agg, 0.0)
    results = _summaries([(r.exporter, r.market, r.year) for r in rows], np.array([r.value for r in rows]),
                         royalties, at_risk, burden,
                         [(len({pc.group for pc in r.groups}), _counts(r)) for r in rows])
    # market 'ALL': the exporter's markets summed per year
    keys = sorted({(r.exporter, r.year) for r in rows})
    if keys:
        idx = {k2: a for a, k2 in enumerate(keys)}
        grp = np.array([idx[(r.exporter, r.year)] for r in rows])
        m = np.zeros((len(keys), nr))
        m[grp, np.arange(nr)] = 1.0
        v_all, roy_all, risk_all = m @ value, m @ royalties, m @ at_risk
        b_all = np.where(v_all > 0, roy_all / np.where(v_all > 0, v_all, 1.0), 0.0)
        results += _summaries([(e, "ALL", y) for e, y in keys], m @ np.array([r.value for r in rows]),
                              roy_all, risk_all, b_all, [(None, None)] * len(keys))
    detail = []
    for i, r in enumerate(rows):
        for j, pc in enumerate(r.groups):
            detail.append({"exporter": r.exporter, "market": r.market, "year": r.year, "holder_group": pc.group,
                           "status": pc.status, "coverage": pc.coverage, "weight": pc.weight,
                           "rate_p50": 0.0 if pc.status == "refused" else medians[(i, j)]})
    det_schema = {"exporter": pl.Utf8, "market": pl.Utf8, "year": pl.Int64, "holder_group": pl.Utf8,
                  "status": pl.Utf8, "coverage": pl.Float64, "weight": pl.Float64, "rate_p50": pl.Float64}
    det = pl.DataFrame(detail, schema=det_schema)
    res = pl.DataFrame(results, schema=RESULT_SCHEMA).sort("exporter", "market", "year")
    return res, det


def _counts(r: _Row) -> dict[str, int]:
    c = {"licensed": 0, "unlicensed": 0, "refused": 0, "compulsory": 0}
    for pc in r.groups:
        c[pc.status] += 1
    return c


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
                rows: list[_Row] | None = None) -> pl.DataFrame:
    """One-at-a-time sensitivity: each uncertain quantity at its P5 and P95 with every other one
    at its median; the outcome is the exporter's mean burden on export sales (market 'ALL') over
    the scenario years. Output sorted by swing (largest first): quantity, low_value, high_value,
    burden_at_low, burden_at_high, swing."""
    qs = uncertain_quantities(sc)
    base = {d.name: d.quantile(0.5) for d in qs}
    exporters = [exporter] if exporter else [e.id for e in sc.exporters]
    if rows is None:
        assert portfolio is not None
        rows = _rows(sc, portfolio)

    def outcome(pins: dict[str, float]) -> dict[str, float]:
        res, _ = simulate(sc, None, samples=1, fixed=pins, rows=rows)
        allm = res.filter(pl.col("market") == "ALL")
        out: dict[str, float] = {}
        for e in exporters:
            mean = allm.filter(pl.col("exporter") == e)["burden_p50"].mean()
            out[e] = float(mean) if isinstance(mean, (int, float)) else 0.0
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


def inverse(sc: Scenario, portfolio: pl.DataFrame | None, rows: list[_Row] | None = None) -> pl.DataFrame:
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
    if rows is None:
        assert portfolio is not None
        rows = _rows(sc, portfolio)
    flat = sc.rate_scaling == "flat"
    cap_hi = max(sc.cap.params) if sc.apportionment == "cap" and sc.cap else None
    acc: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for r in rows:
        k = sum(pc.coverage * (1.0 if flat else r.share.get(pc.group, 0.0)) for pc in r.groups if pc.status != "refused")
        acc.setdefault((r.exporter, r.year), []).append((r.value, k))

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


