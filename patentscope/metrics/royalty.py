"""Licensing model: the royalty burden the NdFeB patent wall puts on magnet exporters.

For exporter e, destination market m and year t (docs/royalty.md has the full derivation):

1. Blocking holder groups G(e, m, t): groups with a family in force in m during t whose
   segments overlap e's products, other than e's own group. ``coverage_g`` is the fraction of
   year t during which at least one such family of g is in force (sales are taken as spread
   evenly over the year), ``weight_g`` its weighted family count in force (counts or centrality).
2. Each g has one status for (e, m, t), first match wins:
   ``licensed`` (e holds a licence from g covering m, the segments and t: the licence's rate),
   ``compulsory`` (a compulsory licence in m from a date <= t: its rate),
   ``refused`` (g refuses to license in m: no royalty, but an exclusion risk),
   ``unlicensed`` (g would license at the scenario's rate for unlicensed use).
3. Royalty rate of g: ``coverage_g * rate_g`` (% of net sales; per-kg rates are converted with
   the scenario's price; lump sums are spread over the licence years and the territory's sales).
   ``stack``: the aggregate rate is the sum. ``cap``: the aggregate is min(sum, cap) and split
   among groups in proportion to ``coverage_g * weight_g``.
4. royalties = aggregate rate x sales(e, m, t); burden = royalties / sales.
   Sales at risk = sales x (1 - prod_g over refusing groups (1 - coverage_g * p_exclusion_g,m)).
5. Uncertain inputs (rates, exclusion probabilities) are distributions; a seeded Monte Carlo
   gives P5/P50/P95. A one-at-a-time sensitivity table ranks assumptions by the swing they
   cause. The inverse solves for the rate that would give a target burden.

Everything here is pure: frames and scenario objects in, frames out.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from ..errors import ConfigError
from ..warehouse.connection import transaction

# --------------------------------------------------------------------------------------------
# distributions


@dataclass(frozen=True)
class Dist:
    """A scenario quantity: fixed, uniform(low, high) or triangular(low, mode, high)."""

    kind: str
    params: tuple[float, ...]
    name: str = ""

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.kind == "fixed":
            return np.full(n, self.params[0])
        if self.kind == "uniform":
            return rng.uniform(self.params[0], self.params[1], n)
        lo, mode, hi = self.params
        if hi == lo:
            return np.full(n, lo)
        return rng.triangular(lo, mode, hi, n)

    def quantile(self, q: float) -> float:
        if self.kind == "fixed":
            return self.params[0]
        if self.kind == "uniform":
            lo, hi = self.params
            return lo + q * (hi - lo)
        lo, mode, hi = self.params
        if hi == lo:
            return lo
        f = (mode - lo) / (hi - lo)
        if q < f:
            return lo + math.sqrt(q * (hi - lo) * (mode - lo))
        return hi - math.sqrt((1 - q) * (hi - lo) * (hi - mode))

    @property
    def uncertain(self) -> bool:
        return self.kind != "fixed" and len(set(self.params)) > 1


# --------------------------------------------------------------------------------------------
# scenario


@dataclass(frozen=True)
class Rate:
    """A royalty: ``percent`` of net sales (as a fraction, 0.05 = 5%), ``per_kg`` (currency/kg)
    or ``lump_sum`` (currency, spread evenly over the licence years)."""

    basis: str
    value: Dist


@dataclass(frozen=True)
class Licence:
    id: str
    licensor_group: str
    licensee: str
    territory: tuple[str, ...]      # market codes, or ("*",) for worldwide
    segments: tuple[str, ...]       # segment ids, or ("*",)
    start: dt.date | None
    end: dt.date | None
    rate: Rate | None               # None = rate not public -> the scenario's licensed_rate applies
    source: str

    def covers(self, market: str, segments: Iterable[str], year: int) -> bool:
        if "*" not in self.territory and market not in self.territory:
            return False
        if "*" not in self.segments and not (set(segments) & set(self.segments)):
            return False
        if self.start and self.start.year > year:
            return False
        return not (self.end and self.end.year < year)

    def applies(self, market: str, segment: str) -> bool:
        """The licence's territory and segments include ``market`` and ``segment``."""
        return ("*" in self.territory or market in self.territory) and ("*" in self.segments or segment in self.segments)

    def active_on(self, day: dt.date) -> bool:
        """In effect on ``day`` (start and end dates inclusive; open ends unbounded)."""
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class Exporter:
    id: str
    name: str
    home: str
    holder_group: str | None
    segments: tuple[str, ...]
    sales: dict[tuple[str, int], tuple[float | None, float | None]]  # (market, year) -> (value, tonnes)
    currency: str
    licences: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Refusal:
    holder_group: str
    markets: tuple[str, ...]
    exclusion_probability: dict[str, Dist]   # market -> probability that refusal excludes the sales
    source: str


@dataclass(frozen=True)
class Compulsory:
    holder_group: str  # "*" = every group
    market: str
    rate: Rate
    start: dt.date
    end: dt.date | None
    source: str


@dataclass(frozen=True)
class Variant:
    """A named rate assumption set (e.g. low / benchmark / demanded) run beside the base."""

    name: str
    unlicensed: Rate | None
    licensed: Rate | None
    note: str


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    years: tuple[int, int]
    price_per_kg: Dist | None           # converts tonnes <-> value and per-kg rates
    unlicensed_rate: Rate               # what a willing holder charges an unlicensed exporter
    unlicensed_by_group: dict[str, Rate]
    licensed_rate: Rate                 # rate of licences whose rate is not public
    apportionment: str                  # 'stack' | 'cap'
    cap: Dist | None
    weights: str                        # 'families' | 'centrality'
    exporters: tuple[Exporter, ...]
    licences: dict[str, Licence]
    refusals: tuple[Refusal, ...]
    compulsory: tuple[Compulsory, ...]
    threshold: float
    target_burden: float
    benchmark_rate: float
    samples: int
    seed: int
    sources: dict[str, str] = field(default_factory=dict)
    variants: tuple[Variant, ...] = ()
    ep_validated_in: tuple[str, ...] = ()   # markets where a granted EP counts as in force (assumption)
    rate_scaling: str = "flat"              # 'flat' per licensor | 'portfolio_share' of the blocking families


MAX_SAMPLES = 1_000_000  # beyond this the Monte Carlo's memory (samples x pieces floats) is not worth its precision


class ScenarioError(ConfigError):
    def __init__(self, path: str, key: str, expected: str, got: Any = None):
        got_s = "" if got is None else f", got {got!r}"
        super().__init__(f"{path}: {key}: expected {expected}{got_s}")


def _dist(v: Any, path: str, key: str, lo: float = 0.0, hi: float = math.inf) -> Dist:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        vals: tuple[float, ...] = (float(v),)
        kind = "fixed"
    elif isinstance(v, dict) and "uniform" in v:
        vals, kind = tuple(float(x) for x in v["uniform"]), "uniform"
        if len(vals) != 2 or vals[0] > vals[1]:
            raise ScenarioError(path, key, "uniform = [low, high] with low <= high", v)
    elif isinstance(v, dict) and "triangular" in v:
        vals, kind = tuple(float(x) for x in v["triangular"]), "triangular"
        if len(vals) != 3 or not (vals[0] <= vals[1] <= vals[2]):
            raise ScenarioError(path, key, "triangular = [low, mode, high] with low <= mode <= high", v)
    elif isinstance(v, dict) and "fixed" in v:
        vals, kind = (float(v["fixed"]),), "fixed"
    else:
        raise ScenarioError(path, key, "a number, {fixed = x}, {uniform = [low, high]} or {triangular = [low, mode, high]}", v)
    if not all(math.isfinite(x) for x in vals):
        raise ScenarioError(path, key, "finite numbers (no nan or inf)", v)
    if any(x < lo or x > hi for x in vals):
        raise ScenarioError(path, key, f"values between {lo} and {hi}", v)
    return Dist(kind, vals, key)


def _rate(v: Any, path: str, key: str) -> Rate:
    if not isinstance(v, dict):
        raise ScenarioError(path, key, "a table like {percent = 0.05} or {per_kg = 1.5} or {lump_sum = 1e6}", v)
    bases = [b for b in ("percent", "per_kg", "lump_sum") if b in v]
    if len(bases) != 1:
        raise ScenarioError(path, key, "exactly one of percent, per_kg, lump_sum", v)
    b = bases[0]
    return Rate(b, _dist(v[b], path, f"{key}.{b}", 0.0, 1.0 if b == "percent" else math.inf))


def _date(v: Any, path: str, key: str) -> dt.date | None:
    if v is None or v == "":
        return None
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        raise ScenarioError(path, key, "a date YYYY-MM-DD", v) from None


def _req(d: dict[str, Any], k: str, path: str, prefix: str, expected: str) -> Any:
    if k not in d:
        raise ScenarioError(path, f"{prefix}{k}", f"{expected} (missing)")
    return d[k]


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML; every error names file, key and what was expected."""
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read scenario {p}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML ({e})") from None
    f = str(p)
    # licences may live in a separate file referenced by `licences_file` (relative to the scenario)
    lic_docs = list(doc.get("licence", []))
    if "licences_file" in doc:
        lp = (p.parent / doc["licences_file"]).resolve()
        try:
            lic_docs += tomllib.loads(lp.read_text(encoding="utf-8")).get("licence", [])
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ScenarioError(f, "licences_file", "a readable TOML file of [[licence]] tables", f"{lp}: {e}") from None
    sc = _req(doc, "scenario", f, "", "a [scenario] table")
    years = _req(sc, "years", f, "scenario.", "[first_year, last_year]")
    if not (isinstance(years, list) and len(years) == 2 and all(isinstance(y, int) for y in years) and years[0] <= years[1]):
        raise ScenarioError(f, "scenario.years", "[first_year, last_year] as integers", years)
    rates = _req(doc, "rates", f, "", "a [rates] table")
    unlicensed_rate = _rate(_req(rates, "unlicensed", f, "rates.", "a rate"), f, "rates.unlicensed")
    licensed_rate = _rate(_req(rates, "licensed", f, "rates.", "a rate for licences whose rate is not public"), f, "rates.licensed")
    unlicensed_by_group = {g: _rate(v, f, f"rates.unlicensed_by_group.{g}") for g, v in rates.get("unlicensed_by_group", {}).items()}
    app = doc.get("apportionment", {"method": "stack"})
    method = app.get("method", "stack")
    if method not in ("stack", "cap"):
        raise ScenarioError(f, "apportionment.method", "'stack' or 'cap'", method)
    weights = app.get("weights", "families")
    if weights not in ("families", "centrality"):
        raise ScenarioError(f, "apportionment.weights", "'families' or 'centrality'", weights)
    rate_scaling = app.get("rate_scaling", "flat")
    if rate_scaling not in ("flat", "portfolio_share"):
        raise ScenarioError(f, "apportionment.rate_scaling", "'flat' or 'portfolio_share'", rate_scaling)
    cap = _dist(_req(app, "cap", f, "apportionment.", "an aggregate cap (fraction of sales)"), f, "apportionment.cap", 0.0, 1.0) \
        if method == "cap" else None
    licences: dict[str, Licence] = {}
    for i, ld in enumerate(lic_docs):
        k = f"licence[{i}]"
        lid = str(_req(ld, "id", f, k + ".", "a licence id"))
        if lid in licences:
            raise ScenarioError(f, f"{k}.id", "a unique licence id", lid)
        licences[lid] = Licence(
            id=lid,
            licensor_group=str(_req(ld, "licensor_group", f, k + ".", "the licensor's holder group")),
            licensee=str(_req(ld, "licensee", f, k + ".", "the licensee's name")),
            territory=tuple(ld.get("territory", ["*"])),
            segments=tuple(ld.get("segments", ["*"])),
            start=_date(ld.get("start"), f, f"{k}.start"),
            end=_date(ld.get("end"), f, f"{k}.end"),
            rate=_rate(ld["rate"], f, f"{k}.rate") if "rate" in ld else None,
            source=str(_req(ld, "source", f, k + ".", "a source (URL or citation) for the licence")),
        )
        lic = licences[lid]
        if lic.start and lic.end and lic.end < lic.start:
            raise ScenarioError(f, f"{k}.end", f"a date on or after start {lic.start}", str(lic.end))
    exporters = []
    for i, ed in enumerate(doc.get("exporter", [])):
        k = f"exporter[{i}]"
        sales: dict[tuple[str, int], tuple[float | None, float | None]] = {}
        each = ed.get("sales_each_year")
        if each is not None:
            ek = f"{k}.sales_each_year"
            yrs = _req(each, "years", f, ek + ".", "[first_year, last_year]")
            if not (isinstance(yrs, list) and len(yrs) == 2 and all(isinstance(y, int) for y in yrs) and yrs[0] <= yrs[1]):
                raise ScenarioError(f, f"{ek}.years", "[first_year, last_year] as integers", yrs)
            if not any(b in each for b in ("tonnes", "value")):
                raise ScenarioError(f, ek, "tonnes = {MARKET = t, ...} and/or value = {MARKET = amount, ...}")
            markets = set(each.get("tonnes", {})) | set(each.get("value", {}))
            for m in markets:
                for y in range(yrs[0], yrs[1] + 1):
                    val, ton = each.get("value", {}).get(m), each.get("tonnes", {}).get(m)
                    sales[(str(m), y)] = (float(val) if val is not None else None, float(ton) if ton is not None else None)
        for j, sd in enumerate(ed.get("sales", []) if each is not None else
                               _req(ed, "sales", f, k + ".", "a list of {market, year, value and/or tonnes} (or sales_each_year)")):
            sk = f"{k}.sales[{j}]"
            m = str(_req(sd, "market", f, sk + ".", "a market code like 'US'"))
            y = _req(sd, "year", f, sk + ".", "a year")
            if not isinstance(y, int):
                raise ScenarioError(f, f"{sk}.year", "an integer year", y)
            val, ton = sd.get("value"), sd.get("tonnes")
            if val is None and ton is None:
                raise ScenarioError(f, sk, "value and/or tonnes")
            for kk, vv in (("value", val), ("tonnes", ton)):
                if vv is not None and (not isinstance(vv, (int, float)) or vv < 0):
                    raise ScenarioError(f, f"{sk}.{kk}", "a non-negative number", vv)
            sales[(m, y)] = (float(val) if val is not None else None, float(ton) if ton is not None else None)
        held = tuple(ed.get("licences", []))
        for lid in held:
            if lid not in licences:
                raise ScenarioError(f, f"{k}.licences", f"ids of [[licence]] tables ({', '.join(sorted(licences)) or 'none defined'})", lid)
        exporters.append(Exporter(
            id=str(_req(ed, "id", f, k + ".", "an exporter id")), name=str(ed.get("name", ed["id"])),
            home=str(ed.get("home", "")), holder_group=ed.get("holder_group"),
            segments=tuple(_req(ed, "segments", f, k + ".", "a list of segment ids, e.g. ['sintered']")),
            sales=sales, currency=str(ed.get("currency", "USD")), licences=held,
            source=str(_req(ed, "source", f, k + ".", "a source or 'assumption: ...'"))))
    if not exporters:
        raise ScenarioError(f, "exporter", "at least one [[exporter]] table")
    refusals = []
    for i, rd in enumerate(doc.get("refusal", [])):
        k = f"refusal[{i}]"
        probs = {m: _dist(v, f, f"{k}.exclusion_probability.{m}", 0.0, 1.0)
                 for m, v in _req(rd, "exclusion_probability", f, k + ".", "a table market -> probability").items()}
        refusals.append(Refusal(str(_req(rd, "holder_group", f, k + ".", "a holder group")),
                                tuple(_req(rd, "markets", f, k + ".", "a list of markets")), probs,
                                str(_req(rd, "source", f, k + ".", "a source"))))
    compulsory = []
    for i, cd in enumerate(doc.get("compulsory", [])):
        k = f"compulsory[{i}]"
        start = _date(_req(cd, "start", f, k + ".", "a start date"), f, f"{k}.start")
        assert start is not None
        end = _date(cd.get("end"), f, f"{k}.end")
        if end is not None and end < start:
            raise ScenarioError(f, f"{k}.end", f"a date on or after start {start}", str(end))
        compulsory.append(Compulsory(str(cd.get("holder_group", "*")), str(_req(cd, "market", f, k + ".", "a market")),
                                     _rate(_req(cd, "rate", f, k + ".", "a rate"), f, f"{k}.rate"), start,
                                     end, str(_req(cd, "source", f, k + ".", "a source"))))
    variants = []
    for i, vd in enumerate(doc.get("variant", [])):
        k = f"variant[{i}]"
        variants.append(Variant(str(_req(vd, "name", f, k + ".", "a variant name")),
                                _rate(vd["unlicensed"], f, f"{k}.unlicensed") if "unlicensed" in vd else None,
                                _rate(vd["licensed"], f, f"{k}.licensed") if "licensed" in vd else None,
                                str(_req(vd, "note", f, k + ".", "a note saying what the rates stand for and their source"))))
    port = doc.get("portfolio", {})
    ep_in = port.get("ep_validated_in", [])
    if not (isinstance(ep_in, list) and all(isinstance(m, str) for m in ep_in)):
        raise ScenarioError(f, "portfolio.ep_validated_in", "a list of market codes like ['DE', 'FR']", ep_in)
    mc = doc.get("monte_carlo", {})
    samples = mc.get("samples", 2000)
    if not (isinstance(samples, int) and not isinstance(samples, bool) and 1 <= samples <= MAX_SAMPLES):
        raise ScenarioError(f, "monte_carlo.samples", f"an integer from 1 to {MAX_SAMPLES:,}", samples)
    seed = mc.get("seed", 1)
    if not (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0):
        raise ScenarioError(f, "monte_carlo.seed", "a non-negative integer", seed)
    inv_doc = doc.get("inverse", {})
    for kk in ("target_burden", "benchmark_rate"):
        vv = inv_doc.get(kk)
        if vv is not None and not (isinstance(vv, (int, float)) and not isinstance(vv, bool) and math.isfinite(vv) and 0 < vv <= 1):
            raise ScenarioError(f, f"inverse.{kk}", "a fraction of sales above 0 and at most 1", vv)
    inv = doc.get("inverse", {})
    return Scenario(
        name=str(sc.get("name", p.stem)), path=f, years=(years[0], years[1]),
        price_per_kg=_dist(sc["price_per_kg"], f, "scenario.price_per_kg") if "price_per_kg" in sc else None,
        unlicensed_rate=unlicensed_rate, unlicensed_by_group=unlicensed_by_group, licensed_rate=licensed_rate,
        apportionment=method, cap=cap,
        weights=weights, exporters=tuple(exporters), licences=licences, refusals=tuple(refusals),
        compulsory=tuple(compulsory), threshold=float(doc.get("threshold", {}).get("burden", 0.05)),
        target_burden=float(inv.get("target_burden", 0.30)), benchmark_rate=float(inv.get("benchmark_rate", 0.055)),
        samples=samples, seed=seed,
        sources={k: str(v) for k, v in doc.get("sources", {}).items()},
        variants=tuple(variants),
        ep_validated_in=tuple(ep_in), rate_scaling=rate_scaling,
    )


# --------------------------------------------------------------------------------------------
# portfolio -> blocking groups per (market, year)

PORTFOLIO_COLUMNS = {"family_id": pl.Utf8, "holder_group": pl.Utf8, "jurisdiction": pl.Utf8, "segment": pl.Utf8,
                     "in_force_from": pl.Date, "in_force_to": pl.Date, "weight": pl.Float64}


def expand_ep(portfolio: pl.DataFrame, markets: Iterable[str]) -> pl.DataFrame:
    """Rows of jurisdiction 'EP' (the European bundle as a whole) copied to each market in
    ``markets`` that has no national row of the same family and holder — the scenario's
    assumption that a granted EP is validated there."""
    ms = list(markets)
    if not ms or portfolio.height == 0:
        return portfolio
    ep = portfolio.filter(pl.col("jurisdiction") == "EP")
    copies = []
    for m in ms:
        national = portfolio.filter(pl.col("jurisdiction") == m).select("family_id", "holder_group").unique()
        copies.append(ep.join(national, on=["family_id", "holder_group"], how="anti").with_columns(pl.lit(m).alias("jurisdiction")))
    return pl.concat([portfolio, *copies])


def coverage(portfolio: pl.DataFrame, years: tuple[int, int]) -> pl.DataFrame:
    """Per (holder_group, jurisdiction, segment, year): ``coverage`` = fraction of the year during
    which at least one family is in force, and ``weight`` = sum of weights of families in force
    at any time in the year (weighted family count).

    Input: ``portfolio`` with PORTFOLIO_COLUMNS (one row per family x jurisdiction x segment;
    in_force_from null = in force since before the horizon; in_force_to = expiry date, the
    family no longer in force on that day; null = beyond the horizon).
    """
    rows = []
    y0, y1 = years
    p = portfolio.select(list(PORTFOLIO_COLUMNS))
    for grp, jur, seg, start, end, w in p.select("holder_group", "jurisdiction", "segment", "in_force_from",
                                                 "in_force_to", "weight").iter_rows():
        s = start or dt.date(y0, 1, 1)
        e = end or dt.date(y1 + 1, 1, 1)
        for y in range(max(y0, s.year), min(y1, (e - dt.timedelta(days=1)).year) + 1):
            ys, ye = dt.date(y, 1, 1), dt.date(y + 1, 1, 1)
            a, b = max(s, ys), min(e, ye)
            if b <= a:
                continue
            rows.append((grp, jur, seg, y, a, b, float(w if w is not None else 1.0)))
    if not rows:
        return pl.DataFrame(schema={"holder_group": pl.Utf8, "jurisdiction": pl.Utf8, "segment": pl.Utf8, "year": pl.Int64,
                                    "coverage": pl.Float64, "weight": pl.Float64})
    df = pl.DataFrame(rows, schema=["holder_group", "jurisdiction", "segment", "year", "a", "b", "w"], orient="row")
    out = []
    for (grp, jur, seg, y), part in df.group_by(["holder_group", "jurisdiction", "segment", "year"], maintain_order=True):
        days_in_year = (dt.date(int(str(y)) + 1, 1, 1) - dt.date(int(str(y)), 1, 1)).days
        intervals = sorted(zip(part["a"].to_list(), part["b"].to_list(), strict=True))
        covered, cur_a, cur_b = 0, None, None
        for a, b in intervals:  # union of in-force intervals within the year
            if cur_b is None or a > cur_b:
                if cur_b is not None:
                    covered += (cur_b - cur_a).days
                cur_a, cur_b = a, b
            else:
                cur_b = max(cur_b, b)
        if cur_b is not None:
            covered += (cur_b - cur_a).days
        out.append((grp, jur, seg, int(str(y)), covered / days_in_year, float(part["w"].sum())))
    return pl.DataFrame(out, schema=["holder_group", "jurisdiction", "segment", "year", "coverage", "weight"], orient="row")


# --------------------------------------------------------------------------------------------
# engine

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
    p = portfolio.filter(pl.col("segment").is_in(list(ex.segments)))
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
    for ex in sc.exporters:
        merged, per = _exporter_frames(ex, portfolio, sc.years)
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

    Vectorised: per row, the pieces' charges are one (pieces x samples) array.
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

    def value_of(r: _Row) -> np.ndarray:
        if r.value_from_price and price is not None:
            return (r.tonnes or 0.0) * 1000 * price
        return np.full(n, r.value)

    # lump sums: spread over the licence's years, allocated by sales within the territory
    territory_sales: dict[tuple[str, int, str], float] = {}
    for r in rows:
        for pc in r.groups:
            if pc.status == "licensed" and _resolve(sc, r, pc).basis == "lump_sum":
                k3 = (r.exporter, r.year, pc.group)
                territory_sales[k3] = territory_sales.get(k3, 0.0) + r.value
    results, detail = [], []
    by_ex_year: dict[tuple[str, int], list[tuple[float, np.ndarray, np.ndarray, np.ndarray]]] = {}
    flat = sc.rate_scaling == "flat"
    for r in rows:
        val = value_of(r)
        keep_share = np.ones(n)
        counts = {"licensed": 0, "unlicensed": 0, "refused": 0, "compulsory": 0}
        paying = [pc for pc in r.groups if pc.status != "refused"]
        own = np.zeros((len(paying), n))
        for pc in r.groups:
            counts[pc.status] += 1
            if pc.status == "refused":
                keep_share *= 1 - pc.coverage * draws(_resolve(sc, r, pc))
        for i, pc in enumerate(paying):
            rate: Rate = _resolve(sc, r, pc)
            lump_share = 0.0
            if rate.basis == "lump_sum":
                lic = sc.licences[pc.key[1]]
                years_n = ((lic.end.year if lic.end else sc.years[1]) - (lic.start.year if lic.start else sc.years[0]) + 1)
                total = territory_sales.get((r.exporter, r.year, pc.group), r.value) or 1.0
                lump_share = r.value / total / max(years_n, 1)
            scale = pc.coverage * (1.0 if flat else r.share.get(pc.group, 0.0))
            own[i] = scale * _rate_fraction(rate, draws(rate.value), r, val, price, lump_share)
        if sc.apportionment == "cap" and cap is not None:
            charged = waterfill(own, np.array([pc.coverage * pc.weight for pc in paying]), cap)
        else:
            charged = own
        agg = charged.sum(axis=0) if len(paying) else np.zeros(n)
        royalties = agg * val
        at_risk = (1 - keep_share) * val
        by_ex_year.setdefault((r.exporter, r.year), []).append((r.value, val, royalties, at_risk))
        results.append(_summarize(r.exporter, r.market, r.year, r.value, val, royalties, at_risk,
                                  len({pc.group for pc in r.groups}), counts))
        med = np.median(charged, axis=1) if len(paying) else np.zeros(0)
        for i, pc in enumerate(paying):
            detail.append({"exporter": r.exporter, "market": r.market, "year": r.year, "holder_group": pc.group,
                           "status": pc.status, "coverage": pc.coverage, "weight": pc.weight, "rate_p50": float(med[i])})
        for pc in r.groups:
            if pc.status == "refused":
                detail.append({"exporter": r.exporter, "market": r.market, "year": r.year, "holder_group": pc.group,
                               "status": pc.status, "coverage": pc.coverage, "weight": pc.weight, "rate_p50": 0.0})
    for (ex, y), parts in sorted(by_ex_year.items()):
        value = sum(p[0] for p in parts)
        val = np.sum([p[1] for p in parts], axis=0)
        roy = np.sum([p[2] for p in parts], axis=0)
        risk = np.sum([p[3] for p in parts], axis=0)
        results.append(_summarize(ex, "ALL", y, value, val, roy, risk, None, None))
    res = pl.DataFrame(results, schema=RESULT_SCHEMA).sort("exporter", "market", "year")
    det = pl.DataFrame(detail, schema={"exporter": pl.Utf8, "market": pl.Utf8, "year": pl.Int64, "holder_group": pl.Utf8,
                                       "status": pl.Utf8, "coverage": pl.Float64, "weight": pl.Float64, "rate_p50": pl.Float64})
    return res, det


RESULT_SCHEMA = {
    "exporter": pl.Utf8, "market": pl.Utf8, "year": pl.Int64, "sales_value": pl.Float64, "n_blocking": pl.Int64,
    "n_licensed": pl.Int64, "n_unlicensed": pl.Int64, "n_refused": pl.Int64, "n_compulsory": pl.Int64,
    "royalties_p5": pl.Float64, "royalties_p50": pl.Float64, "royalties_p95": pl.Float64,
    "burden_p5": pl.Float64, "burden_p50": pl.Float64, "burden_p95": pl.Float64,
    "sales_at_risk_p5": pl.Float64, "sales_at_risk_p50": pl.Float64, "sales_at_risk_p95": pl.Float64,
    "share_infeasible": pl.Float64, "infeasible": pl.Boolean,
}


def _summarize(ex: str, market: str, year: int, value: float, val: np.ndarray, roy: np.ndarray, risk: np.ndarray,
               n_blocking: int | None, counts: dict[str, int] | None) -> dict[str, Any]:
    q = [5, 50, 95]
    rq = np.percentile(roy, q)
    kq = np.percentile(risk, q)
    burden = np.where(val > 0, roy / np.where(val > 0, val, 1.0), 0.0)
    bq = np.percentile(burden, q)
    c = counts or {}
    return {"exporter": ex, "market": market, "year": year, "sales_value": value, "n_blocking": n_blocking,
            "n_licensed": c.get("licensed"), "n_unlicensed": c.get("unlicensed"), "n_refused": c.get("refused"),
            "n_compulsory": c.get("compulsory"),
            "royalties_p5": float(rq[0]), "royalties_p50": float(rq[1]), "royalties_p95": float(rq[2]),
            "burden_p5": float(bq[0]), "burden_p50": float(bq[1]), "burden_p95": float(bq[2]),
            "sales_at_risk_p5": float(kq[0]), "sales_at_risk_p50": float(kq[1]), "sales_at_risk_p95": float(kq[2]),
            "share_infeasible": float(np.mean(burden > 1.0)), "infeasible": bool(bq[2] > 1.0)}


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


# --------------------------------------------------------------------------------------------
# the warehouse: portfolio in, results out


def portfolio_from_warehouse(con: duckdb.DuckDBPyConnection, weights: str = "families") -> pl.DataFrame:
    """The blocking portfolio from the derived tables: one row per family x jurisdiction x
    segment x holder-group interval, in force from the grant to the expected expiry (expiry
    engine), held by the group valid in that interval (lineage), in the segments of the
    publication. Rows without a known in-force interval are left out (they cannot be counted
    as blocking). ``weight``: 1 / number of co-holders, times the family's PageRank when
    ``weights == 'centrality'``."""
    from ..errors import PatentscopeError

    have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    need = {"expiry_results", "publication_holder_groups", "publication_segments"}
    if not need <= have or not con.execute("SELECT count(*) FROM expiry_results").fetchall()[0][0]:
        raise PatentscopeError(analysis_missing_message(con, have))
    cent = "family_centrality" in have and weights == "centrality"
    df = con.sql(f"""
        WITH h AS (
            SELECT pub_key, group_id, group_label, valid_from, valid_to,
                   count(*) OVER (PARTITION BY pub_key, valid_from, valid_to) AS n_holders
            FROM publication_holder_groups
        )
        SELECT p.family_id, h.group_id AS holder_group, h.group_label, e.jurisdiction, s.segment,
               greatest(e.in_force_from, coalesce(h.valid_from, e.in_force_from)) AS in_force_from,
               least(e.expiry_date, coalesce(h.valid_to, e.expiry_date)) AS in_force_to,
               (1.0 / h.n_holders) {'* coalesce(c.pagerank, 0)' if cent else ''} AS weight,
               e.expiry_is_upper_bound
        FROM expiry_results e
        JOIN publications p USING (pub_key)
        JOIN h USING (pub_key)
        JOIN publication_segments s USING (pub_key)
        {'LEFT JOIN family_centrality c ON c.family_id = p.family_id' if cent else ''}
        WHERE p.in_landscape AND e.in_force_from IS NOT NULL AND e.expiry_date IS NOT NULL
          AND s.segment <> 'unclassified'
    """).pl()
    return df.filter(pl.col("in_force_from") < pl.col("in_force_to"))


def analysis_missing_message(con: duckdb.DuckDBPyConnection, have: set[str]) -> str:
    """Why there is nothing to model: "run analyze" only when analyze has not run; an analyzed
    warehouse without landscape publications is said to be empty."""
    analyzed = "ingest_runs" in have and bool(con.execute(
        "SELECT count(*) FROM ingest_runs WHERE source = 'analyze' AND status IN ('ok', 'partial')").fetchall()[0][0])
    n_pubs = con.execute("SELECT count(*) FROM publications WHERE in_landscape").fetchall()[0][0] \
        if "publications" in have else 0
    if analyzed and not n_pubs:
        return ("the warehouse is empty: it holds no landscape publications, so no patent blocks anything; "
                "load some first (`patentscope demo`, `patentscope ingest-us`, `patentscope ingest-world`)")
    if analyzed:
        return ("analyze has run but found no publication with a known in-force interval, so no patent blocks "
                "anything; see `patentscope expiry` for why statuses are unknown")
    if not n_pubs:
        return ("the warehouse is empty: it holds no landscape publications; load some first "
                "(`patentscope demo`, `patentscope ingest-us`, `patentscope ingest-world`)")
    return "the warehouse has no analysis results yet; run `patentscope analyze` first"


def resolve_groups(sc: Scenario, con: duckdb.DuckDBPyConnection) -> tuple[Scenario, dict[str, str], list[str]]:
    """Map the holder groups a scenario names (licensors, refusing holders, exporters' own
    groups) onto the warehouse's stable group ids, by any name the group or its holders have
    had (normalized). Returns the rewritten scenario, id -> label, and warnings for names that
    match no group in the warehouse (harmless: such a group blocks nothing)."""
    from ..holders.normalize import normalize_name

    rows = con.execute("""
        SELECT DISTINCT group_id, group_label, n FROM (
            SELECT group_id, group_label, unnest([group_id, group_name, group_label, holder, name_as_written]) AS n
            FROM publication_holder_groups)
        WHERE n IS NOT NULL""").fetchall()
    by_key: dict[str, str] = {}
    labels: dict[str, str] = {}
    for gid, label, n in rows:
        labels[gid] = label
        key = normalize_name(n).key or n.upper()
        by_key.setdefault(key, gid)
        by_key.setdefault(n.upper(), gid)
    warnings: list[str] = []

    def find(name: str | None, where: str) -> str | None:
        if name is None or name == "*":
            return name
        if name in labels:
            return name
        gid = by_key.get(name.upper()) or by_key.get(normalize_name(name).key or "")
        if gid is None:
            warnings.append(f"{where}: holder group {name!r} matches no holder in the warehouse (it blocks nothing here)")
            return name
        return gid

    lic = {k: replace(v, licensor_group=find(v.licensor_group, f"licence {k}") or v.licensor_group) for k, v in sc.licences.items()}
    refusals = tuple(replace(r, holder_group=find(r.holder_group, "refusal") or r.holder_group) for r in sc.refusals)
    comp = tuple(replace(c, holder_group=find(c.holder_group, "compulsory") or c.holder_group) for c in sc.compulsory)
    exporters = tuple(replace(e, holder_group=find(e.holder_group, f"exporter {e.id}")) for e in sc.exporters)
    by_group = {find(g, "rates.unlicensed_by_group") or g: r for g, r in sc.unlicensed_by_group.items()}
    return replace(sc, licences=lic, refusals=refusals, compulsory=comp, exporters=exporters,
                   unlicensed_by_group=by_group), labels, warnings


def run_scenario(con: duckdb.DuckDBPyConnection, sc: Scenario, *, store: bool = True) -> dict[str, pl.DataFrame]:
    """Run every variant of a scenario against the warehouse and (optionally) store the results,
    replacing the rows of this scenario name, in one transaction."""
    sc, labels, warnings = resolve_groups(sc, con)
    pf = expand_ep(portfolio_from_warehouse(con, sc.weights), sc.ep_validated_in)
    results, details, thresholds = [], [], []
    currency = {e.id: e.currency for e in sc.exporters}
    rows = _rows(sc, pf)  # the blocking structure: shared by every variant, the sensitivity and the inverse
    for name, v in variants(sc):
        res, det = simulate(v, None, rows=rows)
        results.append(res.with_columns(pl.lit(name).alias("variant")))
        details.append(det.with_columns(pl.lit(name).alias("variant")))
        thresholds.append(threshold_year(res, sc.threshold).with_columns(pl.lit(name).alias("variant")))
    res_all = pl.concat(results).with_columns(
        pl.lit(sc.name).alias("scenario"),
        pl.col("exporter").replace_strict(currency, default="USD").alias("currency"))
    det_all = pl.concat(details).with_columns(
        pl.lit(sc.name).alias("scenario"),
        pl.col("holder_group").replace_strict(labels, default=pl.col("holder_group")).alias("holder_group"))
    thr_all = pl.concat(thresholds).with_columns(pl.lit(sc.name).alias("scenario"))
    sens = sensitivity(sc, None, rows=rows).with_columns(pl.lit(sc.name).alias("scenario"))
    inv = inverse(sc, None, rows=rows).with_columns(pl.lit(sc.name).alias("scenario"))
    out = {"royalty_results": res_all, "royalty_detail": det_all, "royalty_thresholds": thr_all,
           "royalty_sensitivity": sens, "royalty_inverse": inv,
           "warnings": pl.DataFrame({"warning": warnings}, schema={"warning": pl.Utf8}),
           "portfolio": pf}
    if store:
        import hashlib

        text = Path(sc.path).read_text(encoding="utf-8") if Path(sc.path).exists() else ""
        lic_text = None
        try:
            import tomllib as _t
            lf = _t.loads(text).get("licences_file")
            if lf:
                lic_text = (Path(sc.path).parent / lf).read_text(encoding="utf-8")
        except (OSError, ValueError):
            lic_text = None
        with transaction(con):
            con.execute("DELETE FROM royalty_scenarios WHERE scenario = $s", {"s": sc.name}).fetchall()
            con.execute("INSERT INTO royalty_scenarios VALUES ($s, $p, $h, now()::TIMESTAMP, $t, $l, $n, $seed)",
                        {"s": sc.name, "p": sc.path, "h": hashlib.sha256(text.encode()).hexdigest(), "t": text,
                         "l": lic_text, "n": sc.samples, "seed": sc.seed}).fetchall()
            for table in ("royalty_results", "royalty_detail", "royalty_thresholds", "royalty_sensitivity", "royalty_inverse"):
                frame = out[table]
                con.execute(f"DELETE FROM {table} WHERE scenario = $s", {"s": sc.name}).fetchall()
                if frame.height:
                    con.register("_roy", frame)
                    try:
                        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _roy").fetchall()
                    finally:
                        con.unregister("_roy")
    return out
