"""Royalty model: scenario (see the package docstring and docs/royalty.md)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from ...errors import ConfigError
from ...inputs import InputModel, NonEmptyStr, RangeError, read_text, toml_text
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


# --- the file, as the typed reader (patentscope.inputs) checks it: file:line: key: what is wrong,
# every problem at once. A quantity is a number or {fixed = x}, {uniform = [low, high]},
# {triangular = [low, mode, high]}; a rate is exactly one of {percent = q}, {per_kg = q},
# {lump_sum = q} with q such a quantity (percent as a fraction 0..1).

_DIST_FORMS = "a number, {fixed = x}, {uniform = [low, high]} or {triangular = [low, mode, high]}"


def _dist_params(v: Any, lo: float = 0.0, hi: float = math.inf) -> tuple[str, tuple[float, ...]]:
    """(kind, params) of a quantity, or ValueError saying what was expected."""
    def nums(x: Any) -> tuple[float, ...]:
        if not isinstance(x, list) or not all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in x):
            raise ValueError(f"expected {_DIST_FORMS}")
        return tuple(float(n) for n in x)

    vals: tuple[float, ...]
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        kind, vals = "fixed", (float(v),)
    elif isinstance(v, dict) and len(v) == 1 and "uniform" in v:
        kind, vals = "uniform", nums(v["uniform"])
        if len(vals) != 2 or vals[0] > vals[1]:
            raise ValueError("expected uniform = [low, high] with low <= high")
    elif isinstance(v, dict) and len(v) == 1 and "triangular" in v:
        kind, vals = "triangular", nums(v["triangular"])
        if len(vals) != 3 or not (vals[0] <= vals[1] <= vals[2]):
            raise ValueError("expected triangular = [low, mode, high] with low <= mode <= high")
    elif isinstance(v, dict) and len(v) == 1 and isinstance(v.get("fixed"), (int, float)) \
            and not isinstance(v.get("fixed"), bool):
        kind, vals = "fixed", (float(v["fixed"]),)
    else:
        raise ValueError(f"expected {_DIST_FORMS}")
    if not all(math.isfinite(x) for x in vals):
        raise ValueError("expected finite numbers (no nan or inf)")
    if any(x < lo or x > hi for x in vals):
        raise ValueError(f"expected values between {lo} and {hi}")
    return kind, vals


def _quantity(lo: float = 0.0, hi: float = math.inf) -> Any:
    return Annotated[Any, AfterValidator(lambda v: (_dist_params(v, lo, hi), v)[1])]


def _rate_check(v: Any) -> Any:
    if not isinstance(v, dict):
        raise ValueError("expected a table like {percent = 0.05} or {per_kg = 1.5} or {lump_sum = 1e6}")
    bases = [b for b in ("percent", "per_kg", "lump_sum") if b in v]
    if len(bases) != 1 or len(v) != 1:
        raise ValueError("expected exactly one of percent, per_kg, lump_sum")
    try:
        _dist_params(v[bases[0]], 0.0, 1.0 if bases[0] == "percent" else math.inf)
    except ValueError as e:
        raise RangeError(bases[0], str(e)) from None
    return v


RateIn = Annotated[Any, AfterValidator(_rate_check)]
Fraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]


def _years(v: list[int]) -> list[int]:
    if len(v) != 2 or v[0] > v[1]:
        raise ValueError("expected [first_year, last_year] as integers")
    if not all(1900 <= y <= 2100 for y in v):
        raise ValueError("expected years between 1900 and 2100")
    return v


YearSpan = Annotated[list[Annotated[int, Field(strict=True)]], AfterValidator(_years)]


class _ScenarioTable(InputModel):
    name: str | None = None
    years: YearSpan
    price_per_kg: _quantity() | None = None  # type: ignore[valid-type]


class _Rates(InputModel):
    unlicensed: RateIn
    licensed: RateIn
    unlicensed_by_group: dict[str, RateIn] = {}


class _Apportionment(InputModel):
    method: Literal["stack", "cap"] = "stack"
    weights: Literal["families", "centrality"] = "families"
    rate_scaling: Literal["flat", "portfolio_share"] = "flat"
    cap: _quantity(0.0, 1.0) | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _cap_given(self) -> _Apportionment:
        if self.method == "cap" and self.cap is None:
            raise RangeError("cap", "expected an aggregate cap (fraction of sales) with method = 'cap' (missing)")
        return self


class _Licence(InputModel):
    id: NonEmptyStr
    licensor_group: str
    licensee: str
    territory: list[str] = ["*"]
    segments: list[str] = ["*"]
    start: dt.date | None = None
    end: dt.date | None = None
    rate: RateIn | None = None
    source: str
    note: str = ""   # free text for the reader of the file

    @model_validator(mode="after")
    def _ordered(self) -> _Licence:
        if self.start and self.end and self.end < self.start:
            raise RangeError("end", f"expected a date on or after start {self.start}")
        return self


class _Sale(InputModel):
    market: str
    year: Annotated[int, Field(strict=True)]
    value: NonNeg | None = None
    tonnes: NonNeg | None = None

    @model_validator(mode="after")
    def _some(self) -> _Sale:
        if self.value is None and self.tonnes is None:
            raise ValueError("expected value and/or tonnes")
        return self


class _SalesEachYear(InputModel):
    years: Annotated[list[Annotated[int, Field(strict=True)]], AfterValidator(_years)]
    tonnes: dict[str, NonNeg] = {}
    value: dict[str, NonNeg] = {}

    @model_validator(mode="after")
    def _some(self) -> _SalesEachYear:
        if not self.tonnes and not self.value:
            raise ValueError("expected tonnes = {MARKET = t, ...} and/or value = {MARKET = amount, ...}")
        return self


class _Exporter(InputModel):
    id: str
    name: str | None = None
    home: str = ""
    holder_group: str | None = None
    segments: list[str]
    sales: list[_Sale] | None = None
    sales_each_year: _SalesEachYear | None = None
    currency: str = "USD"
    licences: list[str] = []
    source: str

    @model_validator(mode="after")
    def _sales_given(self) -> _Exporter:
        if self.sales is None and self.sales_each_year is None:
            raise RangeError("sales", "expected a list of {market, year, value and/or tonnes} (or sales_each_year) (missing)")
        return self


class _Refusal(InputModel):
    holder_group: str
    markets: list[str]
    exclusion_probability: dict[str, _quantity(0.0, 1.0)]  # type: ignore[valid-type]
    source: str


class _Compulsory(InputModel):
    holder_group: str = "*"
    market: str
    rate: RateIn
    start: dt.date
    end: dt.date | None = None
    source: str

    @model_validator(mode="after")
    def _ordered(self) -> _Compulsory:
        if self.end is not None and self.end < self.start:
            raise RangeError("end", f"expected a date on or after start {self.start}")
        return self


class _Variant(InputModel):
    name: str
    unlicensed: RateIn | None = None
    licensed: RateIn | None = None
    note: str


class _Portfolio(InputModel):
    ep_validated_in: list[str] = []


class _MonteCarlo(InputModel):
    samples: Annotated[int, Field(strict=True, ge=1, le=MAX_SAMPLES)] = 2000
    seed: Annotated[int, Field(strict=True, ge=0)] = 1


class _Threshold(InputModel):
    burden: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.05


class _Inverse(InputModel):
    target_burden: Fraction = 0.30
    benchmark_rate: Fraction = 0.055


class ScenarioFile(InputModel):
    """A royalty scenario (``patentscope/data/royalty/example_scenario.toml``)."""

    licences_file: str | None = None
    scenario: _ScenarioTable
    rates: _Rates
    portfolio: _Portfolio = _Portfolio()
    apportionment: _Apportionment = _Apportionment()
    licence: list[_Licence] = []
    exporter: Annotated[list[_Exporter], Field(min_length=1)]
    refusal: list[_Refusal] = []
    compulsory: list[_Compulsory] = []
    variant: list[_Variant] = []
    threshold: _Threshold = _Threshold()
    inverse: _Inverse = _Inverse()
    monte_carlo: _MonteCarlo = _MonteCarlo()
    sources: dict[str, str] = {}


class LicencesFile(InputModel):
    """The file ``licences_file`` names: [[licence]] tables only."""

    licence: list[_Licence] = []


def _dist(v: Any, key: str) -> Dist:
    kind, vals = _dist_params(v)  # already checked with its bounds by the model
    return Dist(kind, vals, key)


def _rate(v: dict[str, Any], key: str) -> Rate:
    (basis, q), = v.items()
    return Rate(basis, _dist(q, f"{key}.{basis}"))


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML (and the licences file it names); every error names the
    file, line and key, and what was expected."""
    p = Path(path)
    try:
        text = read_text(p, what="scenario file")
    except OSError as e:
        raise ConfigError(f"cannot read scenario {p}: {e.strerror}") from None
    f = str(p)
    doc = toml_text(text, ScenarioFile, f)
    lic_docs = list(doc.licence)
    if doc.licences_file is not None:
        lp = (p.parent / doc.licences_file).resolve()
        try:
            lic_text = read_text(lp, what="licences file")
        except OSError as e:
            raise ScenarioError(f, "licences_file", "a readable TOML file of [[licence]] tables", f"{lp}: {e.strerror}") from None
        lic_docs += toml_text(lic_text, LicencesFile, str(lp)).licence
    licences: dict[str, Licence] = {}
    for i, ld in enumerate(lic_docs):
        k = f"licence[{i}]"
        if ld.id in licences:  # (1-based in messages, as the reader counts)
            raise ScenarioError(f, f"licence[{i + 1}].id", "a unique licence id", ld.id)
        licences[ld.id] = Licence(id=ld.id, licensor_group=ld.licensor_group, licensee=ld.licensee,
                                  territory=tuple(ld.territory), segments=tuple(ld.segments), start=ld.start, end=ld.end,
                                  rate=_rate(ld.rate, f"{k}.rate") if ld.rate is not None else None, source=ld.source)
    exporters = []
    for i, ed in enumerate(doc.exporter):
        k = f"exporter[{i}]"
        sales: dict[tuple[str, int], tuple[float | None, float | None]] = {}
        each = ed.sales_each_year
        if each is not None:
            for m in set(each.tonnes) | set(each.value):
                for y in range(each.years[0], each.years[1] + 1):
                    sales[(m, y)] = (each.value.get(m), each.tonnes.get(m))
        for sd in ed.sales or []:
            sales[(sd.market, sd.year)] = (sd.value, sd.tonnes)
        for lid in ed.licences:
            if lid not in licences:
                raise ScenarioError(f, f"exporter[{i + 1}].licences", f"ids of [[licence]] tables ({', '.join(sorted(licences)) or 'none defined'})", lid)
        exporters.append(Exporter(
            id=ed.id, name=ed.name if ed.name is not None else ed.id, home=ed.home, holder_group=ed.holder_group,
            segments=tuple(ed.segments), sales=sales, currency=ed.currency, licences=tuple(ed.licences), source=ed.source))
    refusals = tuple(
        Refusal(rd.holder_group, tuple(rd.markets),
                {m: _dist(v, f"refusal[{i}].exclusion_probability.{m}") for m, v in rd.exclusion_probability.items()},
                rd.source)
        for i, rd in enumerate(doc.refusal))
    compulsory = tuple(Compulsory(cd.holder_group, cd.market, _rate(cd.rate, f"compulsory[{i}].rate"), cd.start, cd.end,
                                  cd.source) for i, cd in enumerate(doc.compulsory))
    variants = tuple(Variant(vd.name, _rate(vd.unlicensed, f"variant[{i}].unlicensed") if vd.unlicensed is not None else None,
                             _rate(vd.licensed, f"variant[{i}].licensed") if vd.licensed is not None else None, vd.note)
                     for i, vd in enumerate(doc.variant))
    sc, app = doc.scenario, doc.apportionment
    return Scenario(
        name=sc.name if sc.name is not None else p.stem, path=f, years=(sc.years[0], sc.years[1]),
        price_per_kg=_dist(sc.price_per_kg, "scenario.price_per_kg") if sc.price_per_kg is not None else None,
        unlicensed_rate=_rate(doc.rates.unlicensed, "rates.unlicensed"),
        unlicensed_by_group={g: _rate(v, f"rates.unlicensed_by_group.{g}") for g, v in doc.rates.unlicensed_by_group.items()},
        licensed_rate=_rate(doc.rates.licensed, "rates.licensed"),
        apportionment=app.method, cap=_dist(app.cap, "apportionment.cap") if app.method == "cap" else None,
        weights=app.weights, exporters=tuple(exporters), licences=licences, refusals=refusals, compulsory=compulsory,
        threshold=doc.threshold.burden, target_burden=doc.inverse.target_burden, benchmark_rate=doc.inverse.benchmark_rate,
        samples=doc.monte_carlo.samples, seed=doc.monte_carlo.seed, sources=dict(doc.sources), variants=variants,
        ep_validated_in=tuple(doc.portfolio.ep_validated_in), rate_scaling=app.rate_scaling,
    )
