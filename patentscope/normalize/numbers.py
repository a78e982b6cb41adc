"""Publication and application numbers: the as-received string -> canonical parts.

Canonical publication number: ``CC-NUMBER-KIND`` (the form Google's public patent tables use),
e.g. ``US-4770723-A``, ``EP-1005050-A2``, ``JP-H056813-A``. When the source did not show a kind
the number is ``CC-NUMBER`` and ``kind`` is None: a kind is never guessed.

The warehouse keys a publication on ``pub_key = CC-NUMBER`` (no kind) so that the A1/A2/A3/B1
documents of one EP or CN number, or a US grant seen with and without its kind, are one row;
``pub_number`` adds the most advanced kind seen (see ``kind_rank``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Office codes we know; anything else two-letter still parses but is flagged by callers.
OFFICES = {
    "US", "EP", "JP", "CN", "KR", "WO", "DE", "GB", "FR", "CA", "TW", "AU", "RU", "SU",
    "AT", "CH", "ES", "IT", "NL", "SE", "DK", "BR", "IN", "HK", "SG", "MX", "DD", "BE",
    "FI", "NO", "PL", "CZ", "HU", "IL", "ZA", "NZ", "PH", "MY", "TH", "VN", "ID", "EA",
}

_PUB_RE = re.compile(
    r"""^(?P<cc>[A-Z]{2})[-\s]?
        (?P<num>(?:[SHR](?=\d))?[0-9][0-9,./]*?)        # JP era letter S/H/R, digits
        [-\s]?(?P<kind>[A-Z][0-9]?)?$""",
    re.X,
)


@dataclass(frozen=True)
class PubNumber:
    country: str
    number: str
    kind: str | None
    as_received: str

    @property
    def pub_key(self) -> str:
        return f"{self.country}-{self.number}"

    @property
    def pub_number(self) -> str:
        return f"{self.pub_key}-{self.kind}" if self.kind else self.pub_key


def parse_pub_number(text: str) -> PubNumber | None:
    """Parse a publication number as printed by offices and patent sites.

    Accepts ``US4770723A``, ``US 4,770,723 A``, ``US-4770723-A``, ``EP1005050A3``,
    ``JPH056813A``, ``US20130160896A1``, ``WO2021/095633``, ``TWI229150B``.
    Returns None when the string is not a publication number (never raises).
    """
    if not text:
        return None
    s = text.strip().upper().replace("\u00a0", " ")
    s = re.sub(r"\s+", " ", s)
    # Taiwan invention numbers carry an 'I' prefix (TWI229150B): keep it as part of the number.
    m = re.match(r"^TW[-\s]?(I\d+)[-\s]?([A-Z]\d?)?$", s)
    if m:
        return PubNumber("TW", m.group(1), m.group(2), text)
    m = _PUB_RE.match(s)
    if not m:
        return None
    cc = m.group("cc")
    num = re.sub(r"[,./\s]", "", m.group("num"))
    if not num or not re.search(r"\d", num):
        return None
    kind = m.group("kind")
    if cc == "US":
        # US pre-grant publications: 2013/0160896 -> 20130160896 (11 digits); grants strip zeros.
        if not num.isdigit():
            return None
        if len(num) < 11:
            num = num.lstrip("0") or "0"
    if cc == "WO" and num.isdigit() and len(num) == 10:
        # WO2021/095633 -> WO2021095633 (4-digit year + 6-digit serial); older 2-digit years kept.
        pass
    return PubNumber(cc, num, kind, text)


KIND_RANK = {
    # higher = later in a number's life (grant after application publication)
    "A": 1, "A1": 1, "A2": 2, "A3": 3, "A4": 3, "A8": 3, "A9": 3,
    "U": 4, "U1": 4, "Y": 5, "Y1": 5, "Y2": 5,
    "B": 6, "B1": 6, "B2": 7, "B3": 8, "B8": 6, "B9": 6, "C": 8, "C1": 8, "C2": 8,
    "E": 9, "E1": 9,
}


def kind_rank(kind: str | None) -> int:
    """Ordering of kind codes of one number: application publications < grants < reissues."""
    if not kind:
        return 0
    return KIND_RANK.get(kind, 1)


def is_grant_kind(country: str, kind: str | None) -> bool | None:
    """Whether the kind code denotes a granted right; None when unknown.

    US: A before 2001 was the grant, B1/B2 after, S design, P/P2/P3 plant, E reissue;
    A1/A2/A9 are pre-grant publications. CN: U and Y are granted utility models.
    Elsewhere (EP, JP, KR, DE, ...): B* and C* are grants, A* and U* applications.
    """
    if not kind:
        return None
    if country == "US":
        if kind in {"A", "B1", "B2", "E", "E1", "S", "S1", "P", "P2", "P3"}:
            return True
        return False if kind in {"A1", "A2", "A9", "P1", "P4", "P9"} else None
    if country == "CN" and kind.startswith(("U", "Y")):
        return True
    if kind.startswith(("B", "C")):
        return True
    if kind.startswith(("A", "U")):
        return False
    return None


# --- citations as printed on US patents ("4792367 Dec., 1988 Lee") ---------------------------

_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_US_CITED = re.compile(rf"^(?P<num>(?:RE|D|PP)?\d[\d,]{{4,}})\s+(?:(?:{_MONTHS})[A-Z]*\.?,?\s+)?(?P<year>\d{{4}})?", re.I)
_FOREIGN_CITED = re.compile(
    rf"^(?P<cc>[A-Z]{{2}})\s+(?P<num>[\d\-/,.]+\d)\s+(?:(?:{_MONTHS})[A-Z]*\.?,?\s+)?(?P<year>\d{{4}})?",
    re.I,
)
_FOREIGN_CITED_CC_LAST = re.compile(rf"^(?P<num>\d[\d\-/,.]*)\s+(?:(?:{_MONTHS})[A-Z]*\.?,?\s+)?(?P<year>\d{{4}})\s+(?P<cc>[A-Z]{{2}})\b", re.I)


def _jp_era_number(num: str, year: int | None) -> str | None:
    """JP 60-76108 (Showa 60 = 1985) -> S6076108; Heisei years -> H. Needs the year to decide."""
    m = re.match(r"^(\d{1,2})-(\d+)$", num)
    if not m or year is None:
        return None
    era_year, serial = int(m.group(1)), m.group(2)
    if year == 1925 + era_year:  # Showa 1 = 1926
        return f"S{era_year}{serial}"
    if year == 1988 + era_year:  # Heisei 1 = 1989; Google pads Heisei years to two digits
        return f"H{era_year:02d}{serial}"
    return None


_SEARCH_REPORT = re.compile(r"^(?P<cc>[A-Z]{2})-(?P<kind>[A-Z]\d?)-\s*(?P<num>\d[\d ]*\d)$")


def parse_cited_reference(text: str, reference_type: str = "") -> tuple[PubNumber | None, int | None]:
    """Canonicalise one cited reference as printed in a patent's reference list.

    Handles US "References Cited" lines (``4792367 Dec., 1988 Lee``), foreign lines with the
    office before or after (``JP 60-76108 Apr., 1985``, ``0125752 Nov., 1984 EP``), EP search
    report lines (``EP-A- 0 542 529``, ``JP-A- 2004 111 944``) and plain numbers with a date
    (``EP2722856A1 2014-04-23``). Returns (number or None, cited year or None). A reference
    that cannot be read with certainty (non-patent literature, JP numbers whose era cannot be
    told, old WO numbers) gives None; the as-written string is kept either way.
    """
    s = re.sub(r"\s+", " ", (text or "").strip())
    rt = reference_type.lower()
    if not s or "non-patent" in rt or rt == "npl":
        return None, None
    if "(truncated)" in s or "..." in s:
        # a truncated line may have lost digits: read only what precedes a complete date
        pass
    year_m = re.search(r"\b(1[89]\d\d|20\d\d)\b", s)
    year = int(year_m.group(1)) if year_m else None
    if m := _SEARCH_REPORT.match(s):
        cc, kind, num = m["cc"], m["kind"], m["num"].replace(" ", "")
        if cc == "WO" or cc not in OFFICES:
            return None, None
        if cc == "JP" and not (len(num) == 10 and num[:2] in ("19", "20")):
            return None, None  # pre-2000 JP numbers need the era, which this form does not give
        return PubNumber(cc, num.lstrip("0") if cc == "US" else num, kind, text), None
    first = s.split(" ")[0]
    if re.match(r"^[A-Z]{2}[A-Z]?\d", first):
        pn = parse_pub_number(first)
        return (PubNumber(pn.country, pn.number, pn.kind, text), year) if pn else (None, year)
    m = _FOREIGN_CITED.match(s) or _FOREIGN_CITED_CC_LAST.match(s)
    if m and "us patent" not in rt:
        cc = m.group("cc").upper()
        raw = m.group("num")
        if cc == "JP":
            era = _jp_era_number(raw, year)
            return (PubNumber("JP", era, None, text) if era else None), year
        num = re.sub(r"[\-/,.]", "", raw)
        if cc not in OFFICES or cc == "WO" or not num.isdigit():
            return None, year
        return PubNumber(cc, num, None, text), year
    m = _US_CITED.match(s)
    if m and ("us patent" in rt or not rt):
        num = m.group("num").replace(",", "")
        return PubNumber("US", num.lstrip("0"), None, text), year
    return None, year


def normalize_application_number(text: str) -> str | None:
    """Tidy an application number for display/joins: drop spaces, keep country and slashes.

    ``US 07/013,165`` and ``US07/013,165`` both give ``US07/013165``. Formats differ too much
    between offices to go further without a number service; the as-received string is kept.
    """
    if not text:
        return None
    s = re.sub(r"\s+", "", text.strip().upper())
    s = s.replace(",", "")
    return s or None
