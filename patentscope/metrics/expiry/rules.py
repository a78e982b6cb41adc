"""The patent-term rules file (``patentscope/data/term_rules.toml``): load, check, expose.

Every parameter the expiry engine uses comes from here; the engine hard-codes none. The file is
read by the typed reader (:mod:`patentscope.inputs`, pydantic models below): a missing key, an
unknown key or a wrong value raises :class:`ConfigError` naming the file, the line and the key
(every problem at once), so an edited copy fails loudly instead of computing with a silent default.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import AfterValidator, Field, StrictBool, model_validator

from ...errors import ConfigError
from ...inputs import InputModel, NonEmptyStr, OfficeCode, RangeError, parse_toml, read_text, validate

DOCUMENT_TYPES = (
    "application", "invention", "utility_model", "design", "plant", "reissue", "international_application",
)
METHODS = ("us_utility", "years_from_grant", "years_from_filing", "grant_then_filing", "with_original", "none")
# methods whose rule has no year count of its own
_NO_YEARS = ("none", "with_original")
EXAM_BASES = ("filing", "priority_or_filing", "search_report")
EFFECTS = (
    "fee_paid", "lapse", "reinstatement", "expiry", "revocation", "withdrawal", "terminal_disclaimer", "grant", "other",
)


@dataclass(frozen=True)
class TermRule:
    id: str
    office: str
    document: str
    method: str
    source: str
    years: int | None = None
    years_alt: int | None = None
    alt_from: dt.date | None = None
    years_from_grant: int | None = None
    change_date: dt.date | None = None
    no_revival_granted_on_or_before: dt.date | None = None
    adjust_days: bool = False
    adjust_from: dt.date | None = None
    adjust_note: str | None = None
    adjust_on_grant: bool = False                         # adjust_from compares with the grant date, not the filing
    fee_lapse_years: tuple[int, ...] = ()
    fee_filed_from: dt.date | None = None
    national_members: bool = False
    longer_if_unexpired_on: dt.date | None = None         # grant_then_filing: CA Patent Act s. 45(2)


@dataclass(frozen=True)
class ExamRule:
    """An examination-request period: an application with no request by its last day is deemed withdrawn."""
    office: str
    months: int                                           # the period, from `base`
    base: str                                             # filing | priority_or_filing | search_report
    source: str
    months_before: int | None = None                      # for filings before `change_from`
    change_from: dt.date | None = None
    pct_min_months: int | None = None                     # search_report, PCT route: not before this many months from priority
    request_event_codes: tuple[str, ...] = ()             # legal-event codes that show a request (or an examination)


@dataclass(frozen=True)
class TermRules:
    path: str
    sha256: str
    version: str
    leap_day: str
    in_force_on_expiry_date: bool
    earliest_plausible_date: dt.date
    kinds: dict[str, dict[str, str]]                       # office -> kind -> document type
    number_series: dict[str, list[tuple[str, str]]]         # office -> [(type, regex)]
    number_series_source: str
    granted_type_when_kind_missing: dict[str, str]
    rules: tuple[TermRule, ...]
    jp_pre_1995: dict[str, Any]
    pct_source: str
    ends_lapsed: tuple[str, ...]
    ends_by_term: tuple[str, ...]
    undoes_lapse: tuple[str, ...]
    stock_reference_day: tuple[int, int]
    us_continuity: dict[str, Any]                          # paris_months, restored_months, restoration_from, source
    us_continuity_source: str
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    exam_requests: tuple[ExamRule, ...] = ()

    @property
    def offices(self) -> set[str]:
        return set(self.kinds) | {r.office for r in self.rules}

    def rule(self, rule_id: str) -> TermRule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def rule_for(self, office: str, document: str) -> TermRule | None:
        for r in self.rules:
            if r.office == office and r.document == document:
                return r
        return None

    def exam_frame(self) -> pl.DataFrame:
        """One row per examination-request rule (office, months, months_before, change_from, base, ...)."""
        return pl.DataFrame(
            [{"office": e.office, "ex_months": e.months, "ex_months_before": e.months_before, "ex_change_from": e.change_from,
              "ex_base": e.base, "ex_pct_min_months": e.pct_min_months, "ex_codes": list(e.request_event_codes),
              "ex_source": e.source, "ex_cite": e.source.split(":")[0]} for e in self.exam_requests],
            schema={"office": pl.String, "ex_months": pl.Int32, "ex_months_before": pl.Int32, "ex_change_from": pl.Date,
                    "ex_base": pl.String, "ex_pct_min_months": pl.Int32, "ex_codes": pl.List(pl.String), "ex_source": pl.String,
                    "ex_cite": pl.String},
        )

    def kinds_frame(self) -> pl.DataFrame:
        """(office, kind, kind_type): one row per listed kind code."""
        rows = [(o, k, t) for o, m in self.kinds.items() for k, t in m.items()]
        return pl.DataFrame(rows, schema={"office": pl.String, "kind": pl.String, "kind_type": pl.String}, orient="row")

    def rules_frame(self) -> pl.DataFrame:
        """One row per rule, the columns the vectorised engine joins on (office, document)."""
        return pl.DataFrame(
            [
                {
                    "office": r.office, "document_type": r.document, "rule_id": r.id, "method": r.method,
                    "rule_source": r.source, "years": r.years, "years_alt": r.years_alt, "alt_from": r.alt_from,
                    "years_from_grant": r.years_from_grant, "change_date": r.change_date,
                    "no_revival_date": r.no_revival_granted_on_or_before, "adjust_days": r.adjust_days,
                    "adjust_from": r.adjust_from, "adjust_note": r.adjust_note,
                    "adjust_on_grant": r.adjust_on_grant,
                    "fee_lapse_years": list(r.fee_lapse_years), "fee_filed_from": r.fee_filed_from,
                    "national_members": r.national_members, "unexpired_on": r.longer_if_unexpired_on,
                }
                for r in self.rules
            ],
            schema={
                "office": pl.String, "document_type": pl.String, "rule_id": pl.String, "method": pl.String,
                "rule_source": pl.String, "years": pl.Int32, "years_alt": pl.Int32, "alt_from": pl.Date,
                "years_from_grant": pl.Int32, "change_date": pl.Date, "no_revival_date": pl.Date,
                "adjust_days": pl.Boolean, "adjust_from": pl.Date, "adjust_note": pl.String, "adjust_on_grant": pl.Boolean,
                "fee_lapse_years": pl.List(pl.Int32), "fee_filed_from": pl.Date, "national_members": pl.Boolean,
                "unexpired_on": pl.Date,
            },
        )


def builtin_rules_path() -> Path:
    return Path(str(resources.files("patentscope").joinpath("data", "term_rules.toml")))


# --- the file, as the typed reader (patentscope.inputs) checks it: file:line: key: what is wrong,
# every problem at once. Dates are TOML dates or "YYYY-MM-DD"; counts are whole numbers >= 0.

DocType = Literal[DOCUMENT_TYPES]  # type: ignore[valid-type]
Effect = Literal[EFFECTS]  # type: ignore[valid-type]
Count = Annotated[int, Field(strict=True, ge=0)]


def _pattern(v: str) -> str:
    try:
        re.compile(v)
    except re.error as err:
        raise ValueError(f"not a regular expression ({err})") from None
    return v


class _Conventions(InputModel):
    leap_day: Literal["feb28", "mar1"]
    leap_day_source: str = ""
    in_force_on_expiry_date: StrictBool
    expiry_date_source: str = ""
    earliest_plausible_date: dt.date


class _Series(InputModel):
    type: DocType
    pattern: Annotated[str, AfterValidator(_pattern)]


class _Rule(InputModel):
    id: NonEmptyStr
    office: OfficeCode
    document: DocType
    method: Literal[METHODS]  # type: ignore[valid-type]
    source: NonEmptyStr
    years: Count | None = None
    years_alt: Count | None = None
    alt_from: dt.date | None = None
    years_from_grant: Count | None = None
    change_date: dt.date | None = None
    no_revival_granted_on_or_before: dt.date | None = None
    adjust_days: StrictBool = False
    adjust_from: dt.date | None = None
    adjust_note: str | None = None
    adjust_on_grant: StrictBool = False
    fee_lapse_years: list[Count] = []
    fee_filed_from: dt.date | None = None
    national_members: StrictBool = False
    longer_if_unexpired_on: dt.date | None = None

    @model_validator(mode="after")
    def _method_needs(self) -> _Rule:
        if self.method not in _NO_YEARS and self.years is None:
            raise RangeError("years", f"method {self.method} needs years")
        if (self.years_alt is None) != (self.alt_from is None):
            raise RangeError("alt_from" if self.alt_from is None else "years_alt", "years_alt and alt_from go together")
        needs = {"us_utility": ("years_from_grant", "change_date", "no_revival_granted_on_or_before"),
                 "grant_then_filing": ("years_from_grant", "change_date")}.get(self.method, ())
        missing = [k for k in needs if getattr(self, k) is None]
        if missing:
            raise RangeError(missing[0], f"method {self.method} needs {', '.join(needs)}; missing {', '.join(missing)}")
        return self


class _JpPre1995(InputModel):
    new_law_from: dt.date
    years_from_examined_publication: Count
    cap_years_from_filing: Count
    source: NonEmptyStr


class _LegalEvents(InputModel):
    ends_lapsed: list[Effect]
    ends_by_term: list[Effect]
    undoes_lapse: list[Effect]
    read: list[Effect] = []   # effects shown in the log as evidence
    source: str = ""


def _month_day(v: str) -> str:
    m = re.fullmatch(r"(\d\d)-(\d\d)", v)
    if not m:
        raise ValueError(f"expected MM-DD, not {v!r}")
    try:
        dt.date(2001, int(m.group(1)), int(m.group(2)))  # not 29 February: every year has the day
    except ValueError:
        raise ValueError(f"{v!r} is not a day every year has") from None
    return v


class _Stock(InputModel):
    reference_day: Annotated[str, AfterValidator(_month_day)] = "12-31"


class _UsContinuity(InputModel):
    paris_months: Count
    restored_months: Count
    restoration_from: dt.date
    source: NonEmptyStr

    @model_validator(mode="after")
    def _restored_not_shorter(self) -> _UsContinuity:
        if self.restored_months < self.paris_months:
            raise RangeError("restored_months", f"must be at least paris_months ({self.paris_months})")
        return self


class _ExamRequest(InputModel):
    office: OfficeCode
    months: Count
    base: Literal[EXAM_BASES] = Field(alias="from")  # type: ignore[valid-type]
    source: NonEmptyStr
    months_before: Count | None = None
    change_from: dt.date | None = None
    pct_min_months: Count | None = None
    request_event_codes: list[NonEmptyStr] = []

    @model_validator(mode="after")
    def _pair(self) -> _ExamRequest:
        if (self.months_before is None) != (self.change_from is None):
            raise RangeError("change_from" if self.change_from is None else "months_before",
                             "months_before and change_from go together")
        return self


class _Source(InputModel):
    source: str = ""


class RulesFile(InputModel):
    """``term_rules.toml``."""

    version: str = ""
    conventions: _Conventions
    kinds: dict[OfficeCode, dict[DocType, list[NonEmptyStr]]]
    # office -> the number series of its documents, plus ``source``
    number_series: dict[str, list[_Series] | str] = {}
    granted_type_when_kind_missing: dict[OfficeCode, DocType] = {}
    rule: Annotated[list[_Rule], Field(min_length=1)]
    jp_pre_1995: _JpPre1995
    us_continuity: _UsContinuity
    pct: _Source = _Source()
    legal_events: _LegalEvents
    stock: _Stock = _Stock()
    exam_request: list[_ExamRequest] = []

    @model_validator(mode="after")
    def _consistent(self) -> RulesFile:
        for office, table in self.kinds.items():
            seen: dict[str, str] = {}
            for typ, codes in table.items():
                for k in codes:
                    if seen.get(k, typ) != typ:
                        raise RangeError("kinds", f"[kinds.{office}]: kind {k} listed as both {seen[k]} and {typ}")
                    seen[k] = typ
        for office, v in self.number_series.items():
            if (office == "source") != isinstance(v, str):
                raise RangeError("number_series", f"{office}: expected "
                                 + ("a string" if office == "source" else "an array of {type, pattern} tables"))
        keys = [(r.office, r.document) for r in self.rule]
        twice = sorted({f"{o} {d}" for o, d in keys if keys.count((o, d)) > 1})
        if twice:
            raise RangeError("rule", f"a second rule for {', '.join(twice)}")
        offices = [e.office for e in self.exam_request]
        twice = sorted({o for o in offices if offices.count(o) > 1})
        if twice:
            raise RangeError("exam_request", f"a second examination-request rule for {', '.join(twice)}")
        return self


# (resolved path, SHA-256 of its bytes) -> the rules read from it: a process parses a file's text once
_LOADED: dict[tuple[str, str], TermRules] = {}


def load_rules(path: str | Path | None = None) -> TermRules:
    """Load and check the term rules (the built-in file when ``path`` is None). The same text at
    the same path is parsed and checked once per process."""
    p = Path(path) if path is not None else builtin_rules_path()
    if not p.is_file():
        return _read_rules(p)  # the reader names what is wrong (missing, a folder, a pipe)
    try:
        key = (str(p.resolve()), hashlib.sha256(p.read_bytes()).hexdigest())
    except OSError:
        return _read_rules(p)
    if key not in _LOADED:
        _LOADED[key] = _read_rules(p)
    return _LOADED[key]


def _read_rules(p: Path) -> TermRules:
    try:
        text = read_text(p, what="term rules file")  # not-UTF-8 bytes and special files named
    except OSError as e:
        raise ConfigError(f"cannot read term rules {p}: {e.strerror}; fix the path or use the built-in file") from None
    w = str(p)
    raw, lines = parse_toml(text, w)  # syntax line, nesting depth, secrets
    f = validate(raw, RulesFile, w, lines)
    kinds = {office: {k: typ for typ, codes in table.items() for k in codes} for office, table in f.kinds.items()}
    series = {office: [(e.type, e.pattern) for e in v] for office, v in f.number_series.items() if not isinstance(v, str)}
    # the models carry the dataclasses' field names: only the lists become tuples
    rules = tuple(TermRule(**{**r.model_dump(), "fee_lapse_years": tuple(r.fee_lapse_years)}) for r in f.rule)
    exams = tuple(ExamRule(**{**e.model_dump(), "request_event_codes": tuple(c.upper() for c in e.request_event_codes)})
                  for e in f.exam_request)
    month, day = (int(x) for x in f.stock.reference_day.split("-"))
    return TermRules(
        path=w, sha256=hashlib.sha256(text.encode()).hexdigest(), version=f.version,
        leap_day=f.conventions.leap_day, in_force_on_expiry_date=f.conventions.in_force_on_expiry_date,
        earliest_plausible_date=f.conventions.earliest_plausible_date,
        kinds=kinds, number_series=series, number_series_source=str(f.number_series.get("source", "")),
        granted_type_when_kind_missing=dict(f.granted_type_when_kind_missing), rules=rules,
        jp_pre_1995=f.jp_pre_1995.model_dump(), pct_source=f.pct.source,
        ends_lapsed=tuple(f.legal_events.ends_lapsed), ends_by_term=tuple(f.legal_events.ends_by_term),
        undoes_lapse=tuple(f.legal_events.undoes_lapse), stock_reference_day=(month, day),
        us_continuity=f.us_continuity.model_dump(), us_continuity_source=f.us_continuity.source,
        raw=raw, exam_requests=exams,
    )


def add_years(date: pl.Expr, years: pl.Expr | int, leap_day: str) -> pl.Expr:
    """``date`` + ``years`` calendar years; 29 February goes to 28 February ('feb28') or
    1 March ('mar1') when the target year has no 29 February. Nulls stay null."""
    y = pl.lit(years) if isinstance(years, int) else years
    shifted = date.dt.offset_by(pl.format("{}y", y))
    if leap_day == "mar1":
        moved = (date.dt.month() == 2) & (date.dt.day() == 29) & (shifted.dt.day() == 28)
        return pl.when(moved).then(shifted + pl.duration(days=1)).otherwise(shifted)
    return shifted

