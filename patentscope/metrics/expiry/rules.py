"""The patent-term rules file (``patentscope/data/term_rules.toml``): load, check, expose.

Every parameter the expiry engine uses comes from here; the engine hard-codes none. A file
that is missing a key or has a wrong value raises :class:`ConfigError` naming the file and the
key, so an edited copy fails loudly instead of computing with a silent default.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from ...errors import ConfigError

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


def _date(v: Any, where: str) -> dt.date:
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            pass
    raise ConfigError(f"{where}: expected a date YYYY-MM-DD, got {v!r}")


def _opt_date(d: dict[str, Any], key: str, where: str) -> dt.date | None:
    return _date(d[key], f"{where}.{key}") if d.get(key) is not None else None


def _int(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ConfigError(f"{where}: expected a whole number of years/days >= 0, got {v!r}")
    return v


def _need(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise ConfigError(f"{where}: missing key {key!r}; see the built-in patentscope/data/term_rules.toml")
    return d[key]


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
        from ...inputs import read_text  # not-UTF-8 bytes and special files named, not an internal error

        text = read_text(p, what="term rules file")
    except OSError as e:
        raise ConfigError(f"cannot read term rules {p}: {e.strerror}; fix the path or use the built-in file") from None
    try:
        from ...inputs import parse_toml  # syntax line, nesting depth, secrets

        raw = parse_toml(text, str(p))[0]
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"term rules {p} is not valid TOML ({e})") from None
    w = str(p)

    conv = _need(raw, "conventions", w)
    leap = _need(conv, "leap_day", f"{w} [conventions]")
    if leap not in ("feb28", "mar1"):
        raise ConfigError(f"{w} [conventions] leap_day: expected 'feb28' or 'mar1', got {leap!r}")
    in_force_on_expiry = _need(conv, "in_force_on_expiry_date", f"{w} [conventions]")
    if not isinstance(in_force_on_expiry, bool):
        raise ConfigError(f"{w} [conventions] in_force_on_expiry_date: expected true/false")
    floor = _date(_need(conv, "earliest_plausible_date", f"{w} [conventions]"), f"{w} [conventions] earliest_plausible_date")

    kinds: dict[str, dict[str, str]] = {}
    for office, table in _need(raw, "kinds", w).items():
        for typ, codes in table.items():
            if typ not in DOCUMENT_TYPES:
                raise ConfigError(f"{w} [kinds.{office}]: unknown document type {typ!r}; use one of {', '.join(DOCUMENT_TYPES)}")
            for k in codes:
                prev = kinds.setdefault(office, {}).get(k)
                if prev is not None and prev != typ:
                    raise ConfigError(f"{w} [kinds.{office}]: kind {k} listed as both {prev} and {typ}")
                kinds[office][k] = typ

    ns_raw = dict(raw.get("number_series", {}))
    ns_source = str(ns_raw.pop("source", ""))
    series: dict[str, list[tuple[str, str]]] = {}
    for office, entries in ns_raw.items():
        for i, entry in enumerate(entries):
            where = f"{w} [number_series] {office}[{i}]"
            typ, pat = _need(entry, "type", where), _need(entry, "pattern", where)
            if typ not in DOCUMENT_TYPES:
                raise ConfigError(f"{where}: unknown document type {typ!r}")
            try:
                re.compile(pat)
            except re.error as err:
                raise ConfigError(f"{where}: bad pattern {pat!r} ({err})") from None
            series.setdefault(office, []).append((typ, pat))

    granted_default = {str(k): str(v) for k, v in raw.get("granted_type_when_kind_missing", {}).items()}
    for o, t in granted_default.items():
        if t not in DOCUMENT_TYPES:
            raise ConfigError(f"{w} [granted_type_when_kind_missing] {o}: unknown document type {t!r}")

    rules: list[TermRule] = []
    seen: set[tuple[str, str]] = set()
    for i, r in enumerate(_need(raw, "rule", w)):
        where = f"{w} [[rule]] #{i + 1}" + (f" ({r['id']})" if "id" in r else "")
        method = _need(r, "method", where)
        if method not in METHODS:
            raise ConfigError(f"{where}: unknown method {method!r}; use one of {', '.join(METHODS)}")
        doc = _need(r, "document", where)
        if doc not in DOCUMENT_TYPES:
            raise ConfigError(f"{where}: unknown document type {doc!r}")
        key = (str(_need(r, "office", where)), doc)
        if key in seen:
            raise ConfigError(f"{where}: a second rule for {key[0]} {doc}")
        seen.add(key)
        if not str(r.get("source", "")).strip():
            raise ConfigError(f"{where}: every rule needs a source")
        years = _int(r["years"], f"{where}.years") if "years" in r else None
        if method not in _NO_YEARS and years is None:
            raise ConfigError(f"{where}: method {method} needs years")
        rule = TermRule(
            id=str(_need(r, "id", where)), office=key[0], document=doc, method=method, source=str(r["source"]),
            years=years,
            years_alt=_int(r["years_alt"], f"{where}.years_alt") if "years_alt" in r else None,
            alt_from=_opt_date(r, "alt_from", where),
            years_from_grant=_int(r["years_from_grant"], f"{where}.years_from_grant") if "years_from_grant" in r else None,
            change_date=_opt_date(r, "change_date", where),
            no_revival_granted_on_or_before=_opt_date(r, "no_revival_granted_on_or_before", where),
            adjust_days=bool(r.get("adjust_days", False)),
            adjust_from=_opt_date(r, "adjust_from", where),
            adjust_note=r.get("adjust_note"),
            adjust_on_grant=bool(r.get("adjust_on_grant", False)),
            fee_lapse_years=tuple(_int(x, f"{where}.fee_lapse_years") for x in r.get("fee_lapse_years", [])),
            fee_filed_from=_opt_date(r, "fee_filed_from", where),
            national_members=bool(r.get("national_members", False)),
            longer_if_unexpired_on=_opt_date(r, "longer_if_unexpired_on", where),
        )
        if (rule.years_alt is None) != (rule.alt_from is None):
            raise ConfigError(f"{where}: years_alt and alt_from go together")
        if method == "us_utility" and None in (rule.years_from_grant, rule.change_date, rule.no_revival_granted_on_or_before):
            raise ConfigError(f"{where}: method us_utility needs years_from_grant, change_date and no_revival_granted_on_or_before")
        if method == "grant_then_filing" and None in (rule.years_from_grant, rule.change_date):
            raise ConfigError(f"{where}: method grant_then_filing needs years_from_grant and change_date")
        rules.append(rule)

    jp = dict(_need(raw, "jp_pre_1995", w))
    jw = f"{w} [jp_pre_1995]"
    jp_out = {
        "new_law_from": _date(_need(jp, "new_law_from", jw), f"{jw} new_law_from"),
        "years_from_examined_publication": _int(_need(jp, "years_from_examined_publication", jw), jw),
        "cap_years_from_filing": _int(_need(jp, "cap_years_from_filing", jw), jw),
        "source": str(jp.get("source", "")),
    }

    le = _need(raw, "legal_events", w)
    lw = f"{w} [legal_events]"
    lists = {k: tuple(_need(le, k, lw)) for k in ("ends_lapsed", "ends_by_term", "undoes_lapse")}
    for k, vals in lists.items():
        for v in vals:
            if v not in EFFECTS:
                raise ConfigError(f"{lw} {k}: {v!r} is not an effect of docs/schema.md ({', '.join(EFFECTS)})")

    day = str(raw.get("stock", {}).get("reference_day", "12-31"))
    m = re.fullmatch(r"(\d\d)-(\d\d)", day)
    if not m:
        raise ConfigError(f"{w} [stock] reference_day: expected MM-DD, got {day!r}")
    md = (int(m.group(1)), int(m.group(2)))
    try:
        dt.date(2001, *md)  # not 29 February: every year has the day
    except ValueError:
        raise ConfigError(f"{w} [stock] reference_day: {day!r} is not a day every year has") from None

    uc = _need(raw, "us_continuity", w)
    uw = f"{w} [us_continuity]"
    uc_out: dict[str, Any] = {
        "paris_months": _int(_need(uc, "paris_months", uw), f"{uw} paris_months"),
        "restored_months": _int(_need(uc, "restored_months", uw), f"{uw} restored_months"),
        "restoration_from": _date(_need(uc, "restoration_from", uw), f"{uw} restoration_from"),
        "source": str(uc.get("source", "")),
    }
    if uc_out["restored_months"] < uc_out["paris_months"]:
        raise ConfigError(f"{uw} restored_months: must be at least paris_months ({uc_out['paris_months']})")

    exams: list[ExamRule] = []
    for i, er in enumerate(raw.get("exam_request", [])):
        where = f"{w} [[exam_request]] #{i + 1}" + (f" ({er['office']})" if "office" in er else "")
        base = _need(er, "from", where)
        if base not in EXAM_BASES:
            raise ConfigError(f"{where}: from = {base!r}; use one of {', '.join(EXAM_BASES)}")
        if not str(er.get("source", "")).strip():
            raise ConfigError(f"{where}: every rule needs a source")
        ex = ExamRule(
            office=str(_need(er, "office", where)), months=_int(_need(er, "months", where), f"{where}.months"), base=base,
            source=str(er["source"]),
            months_before=_int(er["months_before"], f"{where}.months_before") if "months_before" in er else None,
            change_from=_opt_date(er, "change_from", where),
            pct_min_months=_int(er["pct_min_months"], f"{where}.pct_min_months") if "pct_min_months" in er else None,
            request_event_codes=tuple(str(c).strip().upper() for c in er.get("request_event_codes", [])),
        )
        if (ex.months_before is None) != (ex.change_from is None):
            raise ConfigError(f"{where}: months_before and change_from go together")
        if ex.office in {x.office for x in exams}:
            raise ConfigError(f"{where}: a second examination-request rule for {ex.office}")
        exams.append(ex)

    return TermRules(
        path=w, sha256=hashlib.sha256(text.encode()).hexdigest(), version=str(raw.get("version", "")),
        leap_day=leap, in_force_on_expiry_date=in_force_on_expiry, earliest_plausible_date=floor,
        kinds=kinds, number_series=series, number_series_source=ns_source,
        granted_type_when_kind_missing=granted_default, rules=tuple(rules), jp_pre_1995=jp_out,
        pct_source=str(raw.get("pct", {}).get("source", "")),
        ends_lapsed=lists["ends_lapsed"], ends_by_term=lists["ends_by_term"], undoes_lapse=lists["undoes_lapse"],
        stock_reference_day=md, us_continuity=uc_out, us_continuity_source=uc_out["source"],
        raw=raw, exam_requests=tuple(exams),
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

