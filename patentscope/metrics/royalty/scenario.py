"""Royalty model: scenario (see the package docstring and docs/royalty.md)."""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from .dists import Dist


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
        from ...inputs import read_toml_dict  # UTF-8, syntax line, nesting depth, secrets

        doc = read_toml_dict(p, what="scenario file")
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
            lic_docs += read_toml_dict(lp, what="licences file").get("licence", [])
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ScenarioError(f, "licences_file", "a readable TOML file of [[licence]] tables", f"{lp}: {e}") from None
    sc = _req(doc, "scenario", f, "", "a [scenario] table")
    years = _req(sc, "years", f, "scenario.", "[first_year, last_year]")
    if not (isinstance(years, list) and len(years) == 2 and all(isinstance(y, int) for y in years) and years[0] <= years[1]):
        raise ScenarioError(f, "scenario.years", "[first_year, last_year] as integers", years)
    if not all(1900 <= y <= 2100 for y in years):
        raise ScenarioError(f, "scenario.years", "years between 1900 and 2100", years)
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
            for kk in ("value", "tonnes"):
                for m, vv in (each.get(kk) or {}).items():
                    if isinstance(vv, bool) or not isinstance(vv, (int, float)) or not math.isfinite(vv) or vv < 0:
                        raise ScenarioError(f, f"{ek}.{kk}.{m}", "a non-negative finite number", vv)
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
                if vv is not None and (isinstance(vv, bool) or not isinstance(vv, (int, float)) or not math.isfinite(vv) or vv < 0):
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


