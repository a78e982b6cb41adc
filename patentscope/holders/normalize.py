"""Holder names as written -> normalized names (pure functions, no I/O).

What :func:`normalize_name` does to one holder name, in order:

1. Unicode NFKC (full-width ``ＴＤＫ`` -> ``TDK``, half-width katakana -> full-width, ``㈱`` ->
   ``(株)``), accents dropped from Latin letters only (a Japanese voiced mark is not an accent),
   upper case.
2. Trailing qualifiers are peeled off and kept: a country ``(JP)``/``[JP]``, a location
   ``(Tokyo, JP)``/``(Detroit, MI)``/``(DETROIT, MI, US)``, an identifier ``(識別番号 310005618)``,
   "et al". They give the holder's country where the code is unambiguous.
3. An address after the last legal form is cut when something marks it as one (a comma, a
   trailing country code, a post code, ``-shi``/``-ku``/``-ken``, a US state):
   ``HITACHI METALS, LTD. Minato-ku, Tokyo (JP)`` -> ``HITACHI METALS, LTD.``.
4. Legal forms are stripped from both ends (see :mod:`.legal_forms`), punctuation becomes
   spaces (dots vanish, so ``K.K.`` is ``KK``), ``&`` reads ``AND``.
5. The result is checked: empty, punctuation only, a legal form only, a placeholder
   ("Individual"), a country only, over 200 characters, or mixed scripts -> ``unresolved`` with
   the reason. Unresolved names are never merged with anything.
6. Persons are told from organisations: a legal form or an organisation word makes an
   organisation; a name equal to an inventor of the same publication, or the Espacenet/WIPO
   person style ``SURNAME GIVEN (JP)`` with no organisation word, makes a person.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..normalize.countries import COUNTRY_NAMES, ISO_CODES, US_STATE_WORDS, US_STATES, country_from_code
from .legal_forms import (
    CJK_FORMS,
    latin_term_set,
    prefix_terms_by_first_token,
    suffix_terms_by_first_token,
    suffix_terms_by_last_token,
)
from .tokens import fold, tokenize  # noqa: F401  (re-exported: holders.normalize.tokenize is used elsewhere)

MAX_LENGTH = 200

PLACEHOLDERS = {"INDIVIDUAL", "UNKNOWN", "NONE", "N A", "NA", "NOT AVAILABLE", "NOT PROVIDED", "ANONYMOUS", "NULL",
                "NIL", "TBD", "PRIVATE PERSON", "INDIVIDUAL INVENTOR"}

# Two-letter codes that, standing alone, are a country and not a holder (others such as "GM"
# or "LG" may well be names).
_MAJOR_CODES = {"JP", "CN", "KR", "US", "DE", "FR", "GB", "EP", "WO", "TW", "RU", "IN", "CA", "AU", "IT", "NL", "CH"}

# Words that make a name an organisation when no legal form is written (only used to tell
# persons from organisations, never to merge).
ORG_WORDS = frozenset("""
ACADEMY AGENCY ALLOY ALLOYS ASSOCIATION AUTOMOTIVE BANK BOARD CENTER CENTRE CERAMICS CHEMICAL CHEMICALS
CHEMIE COLLEGE COMMISSION COMMISSARIAT COMPONENTS COUNCIL DENKI DENKO DENSHI DEPARTMENT DEVICES ELECTRIC
ELECTRICAL ELECTRONICS ELECTRONIC ENERGY ENGINEERING ENTERPRISE ENTERPRISES FABRIK FOUNDATION GESELLSCHAFT
GOVERNMENT GROUP HOLDING HOLDINGS HOSPITAL INDUSTRIAL INDUSTRIES INDUSTRY INSTITUT INSTITUTE INSTITUTION
INTERNATIONAL KAGAKU KENKYUSHO KINZOKU KOGYO KOGAKU LABORATORIES LABORATORY LABS MACHINERY MAGNET MAGNETIC
MAGNETICS MAGNETS MANUFACTURING MASCHINENFABRIK MATERIAL MATERIALS METAL METALS MINING MINISTRY MOTOR
MOTORS NATIONAL OPERATIONS PARTNERSHIP PHARMACEUTICAL PRODUCTS RARE RESEARCH SCHOOL SCIENCE SCIENCES SEISAKUSHO
SERVICES SOCIETY SPEC STEEL STIFTUNG SYSTEMS TECH TECHNOLOGIES TECHNOLOGY TRUST UNIV UNIVERSITAET
UNIVERSITAT UNIVERSITE UNIVERSITY UNIVERSIDAD VEREIN WERK WERKE WORKS
""".split())

_CJK_ORG_MARKERS = ("大学", "大學", "研究所", "研究院", "公司", "会社", "會社", "工業", "工业", "集团", "集團", "法人",
                    "製作所", "制作所", "材料", "電工", "电工", "電機", "电机", "금속", "대학교", "대학", "산학협력단",
                    "연구원", "연구소", "회사", "공사", "전자", "화학", "이노텍")

_PAREN_EXPANSIONS = {"(株)": " 株式会社 ", "(有)": " 有限会社 ", "(同)": " 合同会社 ", "(주)": " 주식회사 ",
                     "(유)": " 유한회사 ", "(재)": " 재단법인 "}

_TRAILING_PAREN = re.compile(r"\s*[\(\[]([^\(\)\[\]]*)[\)\]]\s*[,;.]*\s*$")
_ET_AL = re.compile(r"[,\s]+et\.?\s+al\.?\s*$", re.IGNORECASE)
_ADDRESS_WORDS = {"SHI", "KU", "KEN", "GUN", "MACHI", "CHO", "FU", "CEDEX"}


# ----------------------------------------------------------------------------------------------
# characters and tokens


def script_of(c: str) -> str | None:
    """The script group of a letter (None for non-letters)."""
    if not c.isalpha():
        return None
    try:
        name = unicodedata.name(c)
    except ValueError:
        return "Other"
    for prefix, group in (("LATIN", "Latin"), ("CJK", "CJK"), ("HIRAGANA", "CJK"), ("KATAKANA", "CJK"),
                          ("IDEOGRAPHIC", "CJK"), ("HANGUL", "Hangul"), ("CYRILLIC", "Cyrillic"), ("GREEK", "Greek"),
                          ("ARABIC", "Arabic"), ("HEBREW", "Hebrew"), ("THAI", "Thai"), ("DEVANAGARI", "Devanagari")):
        if name.startswith(prefix):
            return group
    if c in "ー々〆":
        return "CJK"
    return "Other"


def scripts_in(text: str) -> set[str]:
    return {s for s in (script_of(c) for c in text) if s}


def _mixed(scripts: set[str]) -> bool:
    if len(scripts) <= 1:
        return False
    return scripts != {"Hangul", "CJK"}  # Korean names may carry hanja


# ----------------------------------------------------------------------------------------------
# the result


@dataclass(frozen=True)
class HolderName:
    """One holder name, normalized. ``key`` is what matching compares."""

    as_written: str
    clean_name: str = ""                # as written, without location / identifier / address
    normalized: str | None = None       # upper case, legal forms and punctuation removed
    key: str | None = None              # match key (persons: tokens sorted)
    tokens: tuple[str, ...] = ()
    legal_form: str | None = None
    location: str | None = None
    country: str | None = None
    country_evidence: str | None = None
    kind: str = "unresolved"            # organisation | person | unresolved
    kind_evidence: str = ""
    script: str | None = None
    reason: str | None = None           # why unresolved
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def resolved(self) -> bool:
        return self.kind != "unresolved"

    @property
    def compact(self) -> str | None:
        return self.key.replace(" ", "") if self.key else None


def _unresolved(text: str, reason: str, **kw: object) -> HolderName:
    kw.setdefault("clean_name", text.strip())
    return HolderName(as_written=text, reason=reason, kind="unresolved",
                      kind_evidence=f"unresolved: {reason}", **kw)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------
# splitting


def split_holders(text: str | None) -> list[str]:
    """The holders one field lists: ``"HIKIFUNE KK; TDK Corp"`` -> two names. Exact repeats
    (``"GM Corp (Detroit, MI); GM Corp (Detroit, MI)"``) count once. A field with nothing in it
    gives ``[text]`` so that it is reported as unresolved, not dropped."""
    raw = text or ""
    parts = [p.strip() for p in re.split(r"\s*[;；]\s*|\s+\|\s+", raw)]
    out: list[str] = []
    for p in parts:
        if p and p not in out:
            out.append(p)
    return out or [raw]


# ----------------------------------------------------------------------------------------------
# qualifiers and addresses


def _classify_qualifier(content: str) -> tuple[str, str | None, str] | None:
    """(kind, country, evidence) for a trailing parenthesized part, or None to keep it in the name."""
    up = fold(content)
    if not up:
        return None
    if re.fullmatch(r"[A-Z]{2}", up):
        if up in ISO_CODES:
            return "country", up, f"printed ({up})"
        if up in US_STATES:
            return "location", "US", f"printed ({up}), a US state code"
        return None
    parts = [p.strip() for p in up.split(",")]
    if len(parts) in (2, 3) and parts[0] and not re.search(r"\d", parts[0]):
        last = parts[-1].replace(".", "")
        if re.fullmatch(r"[A-Z]{2}", last):
            if len(parts) == 3 and last in ISO_CODES:
                return "location", last, f"printed ({content.strip()})"
            c, ev = country_from_code(last)
            return "location", c, f"printed ({content.strip()}): {ev}"
        if last in US_STATE_WORDS:
            return "location", "US", f"printed ({content.strip()}): a US state"
        joined = " ".join(tokenize(parts[-1]))
        if joined in COUNTRY_NAMES:
            return "location", COUNTRY_NAMES[joined], f"printed ({content.strip()})"
    if re.search(r"\d", up) and (re.search(r"識別番号|番号|\bID\b|\bNO\b", up) or re.fullmatch(r"[\d\s\-]+", up)):
        return "identifier", None, f"identifier ({content.strip()})"
    joined = " ".join(tokenize(content))
    if joined in COUNTRY_NAMES:
        return "country", COUNTRY_NAMES[joined], f"printed ({content.strip()})"
    return None


@dataclass
class _Peeled:
    text: str
    qualifiers: list[str]
    country: str | None
    evidence: str | None
    bracketed_code: bool
    et_al: bool


def _peel(s: str) -> _Peeled:
    qualifiers: list[str] = []
    country: str | None = None
    evidence: str | None = None
    bracketed = et_al = False
    for _ in range(4):
        m = _ET_AL.search(s)
        if m and m.start() > 0:
            s, et_al = s[: m.start()], True
            continue
        m = _TRAILING_PAREN.search(s)
        if not m:
            break
        info = _classify_qualifier(m.group(1))
        if info is None:
            break
        kind, c, ev = info
        qualifiers.insert(0, s[m.start():].strip())
        s = s[: m.start()].rstrip(" ,;")
        if kind == "country":
            bracketed = True
        if c and country is None:
            country, evidence = c, ev
        elif evidence is None:
            evidence = ev
    return _Peeled(s.rstrip(" ,;"), qualifiers, country, evidence, bracketed, et_al)


def _raw_tokens(s: str) -> list[tuple[str, int, bool]]:
    """(raw token, start offset, a comma stands before it)."""
    out = []
    prev_end = 0
    for m in re.finditer(r"[^\s,]+", s):
        out.append((m.group(0), m.start(), "," in s[prev_end:m.start()]))
        prev_end = m.end()
    return out


def _find_legal_forms(tokens: list[str]) -> list[tuple[int, int]]:
    spans = []
    i = 0
    by_first = suffix_terms_by_first_token()
    while i < len(tokens):
        for t in by_first.get(tokens[i], ()):
            if tuple(tokens[i:i + len(t)]) == t:
                spans.append((i, i + len(t)))
                i += len(t)
                break
        else:
            i += 1
    return spans


def _tail_country(tail: list[str]) -> tuple[str | None, str | None]:
    for t in reversed(tail):
        if t in US_STATE_WORDS:
            return "US", f"address names the US state {t}"
        if re.fullmatch(r"[A-Z]{2}", t):
            c, ev = country_from_code(t)
            return c, f"address ends with {t}: {ev}"
    return None, None


# ----------------------------------------------------------------------------------------------
# legal forms


ARTICLES = {"DE", "DER", "DIE", "DAS", "HET", "LA", "LE", "LES", "EL", "IL", "LO"}


def _strip_legal_forms(core: list[str]) -> tuple[list[str], list[str]]:
    removed: list[str] = []
    if len(core) >= 3 and core[-1] in ARTICLES and tuple(core[-2:-1]) in latin_term_set():
        core = [core[-1], *core[:-1]]  # "BOER BEHEER NIJMEGEN BV DE" -> "DE BOER BEHEER NIJMEGEN BV"
    changed = True
    while changed and core:
        changed = False
        for t in suffix_terms_by_last_token().get(core[-1], ()):
            if len(core) > len(t) and tuple(core[-len(t):]) == t:
                removed.insert(0, " ".join(t))
                core = core[: -len(t)]
                changed = True
                break
        for t in (prefix_terms_by_first_token().get(core[0], ()) if core else ()):
            if len(core) > len(t) and tuple(core[: len(t)]) == t:
                removed.insert(0, " ".join(t))
                core = core[len(t):]
                changed = True
                break
        # CJK forms are written without spaces: strip them as affixes of the end tokens
        if core:
            last = core[-1]
            for f in CJK_FORMS:
                if last == f and len(core) > 1:
                    removed.insert(0, f)
                    core = core[:-1]
                    changed = True
                    break
                if last.endswith(f) and len(last) > len(f):
                    removed.insert(0, f)
                    core = [*core[:-1], last[: -len(f)]]
                    changed = True
                    break
        if core:
            first = core[0]
            for f in CJK_FORMS:
                if first == f and len(core) > 1:
                    removed.insert(0, f)
                    core = core[1:]
                    changed = True
                    break
                if first.startswith(f) and len(first) > len(f):
                    removed.insert(0, f)
                    core = [first[len(f):], *core[1:]]
                    changed = True
                    break
        if len(core) > 1 and core[0] == "THE":
            core, changed = core[1:], True
        if len(core) > 1 and core[-1] == "THE":
            core, changed = core[:-1], True
    return core, removed


# ----------------------------------------------------------------------------------------------
# the main function


_INITIAL = re.compile(r"^[A-Z]\.?$")
_CAP_WORD = re.compile(r"^[A-Z][a-z]+(?:-[A-Z]?[a-z]+)*\.?$|^[A-Z][a-z]*\.-[A-Z][a-z]*\.$")


_USPTO_PERSON = re.compile(r"\s*[A-Z][A-Za-z'-]+\s*;\s*[A-Z][A-Za-z .'-]+")
_EPO_PERSON = re.compile(r"^\s*[A-Z][A-Za-z'-]+, [A-Z][A-Za-z.'-]+(?: [A-Z][A-Za-z.'-]+){0,3}(?:,| c/o |$)")


def person_style(raw: str) -> str | None:
    """The front-page styles that print a natural person (checked before legal forms, since the
    address that follows may name the employer: "Minowa, Takehisa, Shin-Etsu Chemical Co., Ltd., ...")."""
    if _USPTO_PERSON.fullmatch(raw.split("(")[0]):
        return "written in the USPTO inventor style Surname; Given"
    m = _EPO_PERSON.match(raw)
    if m and not any(t in ORG_WORDS for t in tokenize(m.group(0))) and not (latin_term_set() & {(t,) for t in tokenize(m.group(0))}):
        return "written in the EPO inventor style Surname, Given, address"
    return None


def person_shape(raw: str, clean_name: str, core: Iterable[str], scripts: set[str]) -> str | None:
    """Why a name without a legal form or organisation word reads as a natural person, or None.

    Shapes (measured in docs/holders.md "Persons and organisations"): the USPTO front-page
    inventor style ``Surname; Given (City, CC)``; ``Surname, Given``; two to four capitalized words
    or initials (``John J. Croat``); two or three upper-case words (``HARADA AKIHIRO``, the
    SURNAME GIVENNAME order of Japanese and Chinese names on aggregator pages); two to four Han
    characters or Hangul syllables (East Asian personal names).
    """
    toks = list(core)
    if scripts == {"CJK"} or scripts == {"Hangul"}:
        compact = "".join(toks).replace("▲", "").replace("▼", "")  # JPO marks non-JIS characters with ▲▼
        return "two to five Han characters or Hangul syllables (East Asian personal name)" \
            if 2 <= len(compact) <= 5 and len(toks) <= 2 else None
    if scripts != {"Latin"} or not 2 <= len(toks) <= 5 or any(any(ch.isdigit() for ch in t) for t in toks):
        return None
    words = clean_name.replace(",", " ").split()
    if len(words) > 4 or not words:
        return None
    if all(_CAP_WORD.match(w) or _INITIAL.match(w) for w in words) and sum(1 for w in words if not _INITIAL.match(w)) >= 2:
        return "two to four capitalized words or initials (Given [M.] Surname)"
    if clean_name.upper() == clean_name and 2 <= len(words) <= 3 and all(w.replace("-", "").isalpha() for w in words):
        return "two or three upper-case words (SURNAME GIVENNAME)"
    if len(words) == 2 and all(w.replace("-", "").isalpha() for w in words) and \
            {bool(_CAP_WORD.match(words[0])), words[1].isupper()} == {True}:
        return "Given SURNAME (a capitalized word and an upper-case surname)"
    return None


def _person_key(tokens: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(tokens))


def inventor_keys(inventors: Iterable[str]) -> set[tuple[str, ...]]:
    """Token keys of inventor names, to recognize an inventor written into a holder field."""
    keys = set()
    for inv in inventors:
        p = _peel(unicodedata.normalize("NFKC", inv or ""))
        toks = tokenize(p.text)
        if toks:
            keys.add(_person_key(toks))
    return keys


def normalize_name(text: str | None, *, inventors: set[tuple[str, ...]] | None = None,
                   country_hint: str | None = None) -> HolderName:
    """Normalize one holder name (one part of a field; see :func:`split_holders`).

    ``inventors``: :func:`inventor_keys` of the same publication's inventors, when known.
    ``country_hint``: a country the source printed beside the name (e.g. ``parties.country``),
    used only when the name itself shows none and only if it is an unambiguous code.
    """
    raw = text if isinstance(text, str) else ""
    if not raw.strip():
        return _unresolved(raw, "empty")
    if len(raw) > MAX_LENGTH:
        return _unresolved(raw, f"too long ({len(raw)} characters; a holder name is rarely over {MAX_LENGTH})")
    if not any(c.isalnum() for c in raw):
        return _unresolved(raw, "punctuation only")
    if not any(c.isalpha() for c in raw):
        return _unresolved(raw, "no letters")

    s = " ".join(unicodedata.normalize("NFKC", raw).split())
    for k, v in _PAREN_EXPANSIONS.items():
        s = s.replace(k, v)
    s = " ".join(s.split())
    whole = _classify_qualifier(s.strip("()[] "))
    if whole and whole[0] == "country" and (s.startswith(("(", "[")) or fold(s) in COUNTRY_NAMES or fold(s) in _MAJOR_CODES):
        return _unresolved(raw, "a country only, not a holder name", country=whole[1])
    peeled = _peel(s)
    country, cevidence = peeled.country, peeled.evidence
    location_parts = list(peeled.qualifiers)
    body = peeled.text
    if not body:
        return _unresolved(raw, "a country or location only, not a holder name", country=country)

    # tokens with their raw positions, to cut an address after the last legal form
    raws = _raw_tokens(body)
    flat: list[tuple[str, int]] = [(t, i) for i, (r, _, _) in enumerate(raws) for t in tokenize(r)]
    norms = [t for t, _ in flat]
    cut = len(norms)
    spans = [sp for sp in _find_legal_forms(norms) if sp[0] > 0]
    if spans:
        end = spans[-1][1]
        if end < len(norms):
            tail = norms[end:]
            raw_i = flat[end][1]
            marker = (bool(peeled.qualifiers) or raws[raw_i][2] or any(re.search(r"\d", t) for t in tail)
                      or any(t in _ADDRESS_WORDS for t in tail) or tail[-1] in US_STATE_WORDS
                      or (len(tail) >= 2 and tail[-1] in ISO_CODES | US_STATES))
            if len(tail) == 1 and tail[0] in ARTICLES:
                marker = False  # Espacenet moves a leading article to the end: "BOER BEHEER BV DE"
            if marker and len(tail) <= 8:
                cut = end
                addr = body[raws[raw_i][1]:].strip(" ,")
                location_parts.insert(0, addr)
                body = body[: raws[raw_i][1]].rstrip(" ,;")
                if country is None:
                    country, cevidence = _tail_country(tail)
    core = norms[:cut]
    clean_name = body.strip(" ,;") or raw.strip()
    core, removed = _strip_legal_forms(core)
    if len(core) >= 2 and core[-2:] == ["ET", "AL"]:
        core = core[:-2]
    legal_form = " ".join(removed) or None
    location = "; ".join(location_parts) or None

    if country is None and country_hint:
        c, ev = country_from_code(country_hint) if len(country_hint) == 2 else (None, None)
        if c:
            country, cevidence = c, f"source printed {country_hint} beside the name ({ev})"

    common = {"clean_name": clean_name, "legal_form": legal_form, "location": location,
              "country": country, "country_evidence": cevidence}
    if not core:
        return _unresolved(raw, "a legal form only, no name" if removed else "punctuation only", **common)
    joined = " ".join(core)
    if tuple(core) in latin_term_set() or joined in CJK_FORMS:
        return _unresolved(raw, "a legal form only, no name", **common)
    if joined in PLACEHOLDERS:
        return _unresolved(raw, f'placeholder ("{clean_name}" is not a holder name)', **common)
    if joined in COUNTRY_NAMES or (len(core) == 1 and joined in _MAJOR_CODES):
        return _unresolved(raw, "a country only, not a holder name", **common)
    scripts = scripts_in(joined)
    if _mixed(scripts):
        return _unresolved(raw, f"mixed scripts ({'+'.join(sorted(scripts))}); resolve it with an override",
                           **common)
    script = "+".join(sorted(scripts)) or None

    # person or organisation
    pkey = _person_key(core)
    if (style := person_style(raw)) is not None:
        kind, kev = "person", style
    elif removed:
        kind, kev = "organisation", f"legal form {legal_form}"
    elif (w := next((t for t in core if t in ORG_WORDS), None)) is not None:
        kind, kev = "organisation", f"organisation word {w}"
    elif (m := next((c for c in _CJK_ORG_MARKERS if c in joined), None)) is not None:
        kind, kev = "organisation", f"organisation word {m}"
    elif inventors and pkey in inventors:
        kind, kev = "person", "same name as an inventor of the publication"
    elif (scripts == {"Latin"} and 2 <= len(core) <= 5 and clean_name.upper() == clean_name
          and (peeled.bracketed_code or peeled.et_al or raw.rstrip().endswith(","))):
        kind, kev = "person", "written in the Espacenet/WIPO person style SURNAME GIVEN (CC)"
    elif (shape := person_shape(raw, clean_name, core, scripts)) is not None:
        kind, kev = "person", shape
    else:
        kind, kev = "organisation", "no person evidence (default)"
    key = " ".join(pkey) if kind == "person" else joined
    return HolderName(as_written=raw, clean_name=clean_name, normalized=joined, key=key, tokens=tuple(core),
                      legal_form=legal_form, location=location, country=country, country_evidence=cevidence,
                      kind=kind, kind_evidence=kev, script=script)
