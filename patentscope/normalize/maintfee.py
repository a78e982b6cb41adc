"""USPTO maintenance-fee events (ODP product PTMNFEE2, ``MaintFeeEvents_YYYYMMDD.txt``): pure parsing.

The file is fixed-width ASCII, one event per line, cumulative (every week's file holds every
event since 1981-09-01). Two column layouts are documented (docs/uspto-odp-notes.md §10):

``2018`` (USPTO documentation of June 2018, 1-based inclusive columns)::

    1-13 patent number, zero-padded ("0000004287053", reissues "000000RE35000")
    15-22 application number (8 digits)   24 entity (N large, Y small, M micro)
    26-33 filing date YYYYMMDD   35-42 grant date   44-51 event entry date   53-57 event code

``pre2014`` (files before about 2014): a 7-character patent number, every later field 6 columns
to the left.

No raw line of a real download was available when this was written (the only real rows are a
PostgreSQL rendering on the edegan.com wiki), so the layout is not assumed: :func:`detect_layout`
scores both layouts on the first lines of the file and refuses the file when neither fits.

Event codes map onto the ``legal_events.effect`` vocabulary with :func:`effect_of` (also used for
the same codes in ODP transaction histories): fee payments -> ``fee_paid``, ``EXP.`` (expired for
failure to pay) -> ``lapse``, ``EXPX`` (expiration cancelled) -> ``reinstatement``, terminal
disclaimer codes -> ``terminal_disclaimer``, everything else -> ``other``. The office's code is
always kept in ``event_code``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import InputError

# --------------------------------------------------------------------------------------------
# event codes

# Maintenance-fee payment codes and the fee year they pay (docs/uspto-odp-notes.md §10: a
# third-party script's renewal-code lists, not independently verified; confirm against
# MaintFeeEventsDesc when a real file is at hand).
FEE_YEAR: dict[str, int] = {}
for _entity in ("M1", "M2", "M3"):
    for _n, _year in (("551", 4), ("552", 8), ("553", 12)):
        FEE_YEAR[_entity + _n] = _year
for _code in ("M170", "M173", "M183", "M273", "M283", "F170", "F173", "F273"):
    FEE_YEAR[_code] = 4
for _code in ("M171", "M174", "M184", "M274", "M284", "F171", "F174", "F274"):
    FEE_YEAR[_code] = 8
for _code in ("M172", "M175", "M185", "M275", "M285", "F172", "F175", "F275"):
    FEE_YEAR[_code] = 12

LAPSE_CODES = frozenset({"EXP."})
REINSTATEMENT_CODES = frozenset({"EXPX"})
TERMINAL_DISCLAIMER_CODES = frozenset({"DIST", "DISQ", "DIST.E.FILE", "DISQ.E.FILE"})

_ENTITY_NAME = {"M1": "Large Entity", "M2": "Small Entity", "M3": "Micro Entity"}
_ORDINAL = {4: "4th", 8: "8th", 12: "12th"}

# Descriptions for codes seen in the documentation (a MaintFeeEventsDesc file, when present in
# the archive, takes precedence).
BUILTIN_DESCRIPTIONS = {
    "EXP.": "Patent Expired for Failure to Pay Maintenance Fees",
    "EXPX": "Patent Expiration Cancelled (reinstated)",
    "REM.": "Maintenance Fee Reminder Mailed",
    "DIST": "Terminal Disclaimer Filed",
    "DISQ": "Terminal Disclaimer Review Decision",
}


def effect_of(code: str) -> str:
    """The ``legal_events.effect`` of a USPTO maintenance-fee or transaction event code."""
    c = (code or "").strip().upper()
    if c in FEE_YEAR:
        return "fee_paid"
    if c in LAPSE_CODES:
        return "lapse"
    if c in REINSTATEMENT_CODES:
        return "reinstatement"
    if c in TERMINAL_DISCLAIMER_CODES:
        return "terminal_disclaimer"
    return "other"


def describe_code(code: str, descriptions: dict[str, str] | None = None) -> str | None:
    """A description for an event code: the archive's own list first, then what we know."""
    c = (code or "").strip().upper()
    if descriptions and c in descriptions:
        return descriptions[c]
    if c in BUILTIN_DESCRIPTIONS:
        return BUILTIN_DESCRIPTIONS[c]
    year = FEE_YEAR.get(c)
    if year is not None:
        if c[:2] in _ENTITY_NAME and c[2:4] == "55":
            return f"Payment of Maintenance Fee, {_ORDINAL[year]} Year, {_ENTITY_NAME[c[:2]]}"
        return f"Payment of Maintenance Fee, {_ORDINAL[year]} Year (legacy code)"
    return None


def parse_descriptions(text: str) -> dict[str, str]:
    """``MaintFeeEventsDesc_*.txt``: one code and its description per line (code first)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2 and re.fullmatch(r"[A-Z0-9.]{2,11}", parts[0]):
            out[parts[0]] = parts[1].strip()
    return out


# --------------------------------------------------------------------------------------------
# layouts


@dataclass(frozen=True)
class Layout:
    name: str
    # field -> (first, last) column, 1-based inclusive, as the USPTO documentation counts
    fields: tuple[tuple[str, int, int], ...]

    def span(self, name: str) -> tuple[int, int]:
        for f, a, b in self.fields:
            if f == name:
                return a, b
        raise KeyError(name)

    @property
    def width(self) -> int:
        return max(b for _, _, b in self.fields)

    def cut(self, line: str, name: str) -> str:
        a, b = self.span(name)
        return line[a - 1:b]


def _shifted(name: str, base: Layout, patent_width: int) -> Layout:
    shift = base.span("patent")[1] - patent_width
    fields = tuple((f, a if f == "patent" else a - shift, b - shift) for f, a, b in base.fields)
    return Layout(name, fields)


LAYOUT_2018 = Layout("2018", (
    ("patent", 1, 13), ("application", 15, 22), ("entity", 24, 24), ("filing_date", 26, 33),
    ("grant_date", 35, 42), ("event_date", 44, 51), ("event_code", 53, 57),
))
LAYOUT_PRE2014 = _shifted("pre2014", LAYOUT_2018, 7)
LAYOUTS = (LAYOUT_2018, LAYOUT_PRE2014)

_PATENT_RE = re.compile(r"0*([A-Z]{0,2})0*(\d+)")
_CODE_RE = re.compile(r"[A-Z0-9][A-Z0-9./_-]{1,4}")


def _date(s: str) -> dt.date | None:
    if not re.fullmatch(r"\d{8}", s):
        return None
    try:
        return dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))
    except ValueError:
        return None


def patent_key_number(raw: str) -> str | None:
    """``0000004287053`` -> ``4287053``; ``000000RE35000`` -> ``RE35000``; None if unreadable."""
    m = _PATENT_RE.fullmatch(raw.strip())
    if not m or not m.group(2):
        return None
    return f"{m.group(1)}{m.group(2)}"


@dataclass(frozen=True)
class FeeEvent:
    patent_number: str          # as in the pub_key: '4287053', 'RE35000'
    patent_as_written: str
    application_number: str
    entity: str
    filing_date: dt.date
    grant_date: dt.date
    event_date: dt.date
    event_code: str

    @property
    def pub_key(self) -> str:
        return f"US-{self.patent_number}"


def line_problems(line: str, layout: Layout) -> list[str]:
    """Why ``line`` does not read as one event in ``layout`` (empty list = it does)."""
    line = line.rstrip("\r\n")
    probs = []
    if len(line.rstrip()) < layout.span("event_code")[0]:
        return [f"line is {len(line.rstrip())} characters, shorter than the {layout.name} layout"]
    pat = layout.cut(line, "patent")
    if patent_key_number(pat) is None or " " in pat.lstrip():  # zero- (or space-) padded on the left
        probs.append("patent number")
    if not re.fullmatch(r"\d{8}", layout.cut(line, "application")):
        probs.append("application number")
    if layout.cut(line, "entity") not in ("N", "Y", "M"):
        probs.append("entity")
    dates = {}
    for f in ("filing_date", "grant_date", "event_date"):
        dates[f] = _date(layout.cut(line, f))
        if dates[f] is None:
            probs.append(f)
    if not _CODE_RE.fullmatch(layout.cut(line, "event_code").rstrip()):
        probs.append("event code")
    # the gaps between fields are blank in both documented layouts
    bounds = sorted((a, b) for _, a, b in layout.fields)
    for (_, b1), (a2, _) in zip(bounds, bounds[1:], strict=False):
        if line[b1:a2 - 1].strip():
            probs.append(f"column {b1 + 1} not blank")
            break
    if not probs and dates["filing_date"] and dates["grant_date"] and dates["filing_date"] > dates["grant_date"]:
        probs.append("filing date after grant date")
    return probs


def parse_line(line: str, layout: Layout) -> FeeEvent | None:
    """One line -> an event, or None when it does not read in ``layout``."""
    if line_problems(line, layout):
        return None
    raw_pat = layout.cut(line, "patent")
    num = patent_key_number(raw_pat)
    f, g, e = (_date(layout.cut(line, k)) for k in ("filing_date", "grant_date", "event_date"))
    assert num and f and g and e
    return FeeEvent(num, raw_pat, layout.cut(line, "application"), layout.cut(line, "entity"), f, g, e,
                    layout.cut(line, "event_code").rstrip())


def format_line(ev: FeeEvent, layout: Layout) -> str:
    """Render an event in ``layout`` (used to check layouts against rows known only as values)."""
    width = layout.span("patent")[1] - layout.span("patent")[0] + 1
    vals = {
        "patent": ev.patent_number.rjust(width, "0"), "application": ev.application_number.rjust(8, "0"),
        "entity": ev.entity, "filing_date": ev.filing_date.strftime("%Y%m%d"),
        "grant_date": ev.grant_date.strftime("%Y%m%d"), "event_date": ev.event_date.strftime("%Y%m%d"),
        "event_code": ev.event_code.ljust(5),
    }
    out = [" "] * layout.width
    for name, a, b in layout.fields:
        v = vals[name]
        if len(v) != b - a + 1:
            raise ValueError(f"{name} {v!r} does not fit columns {a}-{b} of layout {layout.name}")
        out[a - 1:b] = list(v)
    return "".join(out).rstrip()


def score_layouts(lines: Iterable[str]) -> dict[str, float]:
    """Share of the given (non-blank) lines each layout reads, by layout name."""
    sample = [ln for ln in lines if ln.strip()]
    if not sample:
        return {lay.name: 0.0 for lay in LAYOUTS}
    return {lay.name: sum(not line_problems(ln, lay) for ln in sample) / len(sample) for lay in LAYOUTS}


def detect_layout(lines: Iterable[str], *, file: str = "maintenance-fee file", threshold: float = 0.9) -> Layout:
    """The documented layout that reads the sample lines; InputError if none reads them."""
    sample = [ln for ln in lines if ln.strip()]
    scores = score_layouts(sample)
    best = max(LAYOUTS, key=lambda lay: scores[lay.name])
    if not sample or scores[best.name] < threshold:
        first = sample[0].rstrip("\r\n") if sample else ""
        detail = "; ".join(f"{lay.name}: {scores[lay.name]:.0%} ({', '.join(line_problems(first, lay)) or 'ok'})"
                           for lay in LAYOUTS)
        raise InputError(
            f"{file}: no documented maintenance-fee layout reads its lines ({detail}; first line {first[:70]!r}). "
            "The file format may have changed: compare it with MaintFeeEventsFileDocumentation in the archive "
            "and update patentscope/normalize/maintfee.py"
        )
    return best


FILE_DATE_RE = re.compile(r"MaintFeeEvents_(\d{8})\.txt$", re.I)


def file_date(name: str) -> dt.date | None:
    """The Monday in ``MaintFeeEvents_YYYYMMDD.txt``."""
    m = FILE_DATE_RE.search(name)
    return _date(m.group(1)) if m else None
