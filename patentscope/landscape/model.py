"""The landscape model: which records count as NdFeB, loaded from an editable TOML file.

The default ships in ``patentscope/data/landscape.toml``; a user points ``--landscape``,
``PATENTSCOPE_LANDSCAPE`` or ``landscape =`` in patentscope.toml at their own copy. Ingestors
use :meth:`Landscape.match` to select records and store the reason beside each record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field

from ..errors import ConfigError
from ..inputs import InputDate, InputModel, NonEmptyStr, OfficeCode, ordered, read_toml, toml_text
from .codes import matches_code, normalize_symbol

DEFAULT_PATH = "data/landscape.toml"


@dataclass(frozen=True)
class Landscape:
    name: str
    version: str
    description: str
    core_codes: tuple[str, ...]
    context_codes: tuple[str, ...]
    strong_keywords: tuple[str, ...]
    weak_keywords: tuple[str, ...]
    date_from: dt.date
    date_to: dt.date
    offices: tuple[str, ...]
    source_path: str
    _strong_re: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    _weak_re: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def _kw(self, words: tuple[str, ...]) -> re.Pattern[str] | None:
        if not words:
            return None
        alts = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        return re.compile(rf"(?<![\w-])(?:{alts})(?![\w])", re.I)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_strong_re", self._kw(self.strong_keywords))
        object.__setattr__(self, "_weak_re", self._kw(self.weak_keywords))

    def match(self, symbols: list[str], text: str | None) -> str | None:
        """Why a record is in the landscape ("cpc:H01F1/0577", "keyword:R-T-B",
        "cpc+keyword:B22F9/04+neodymium"), or None when it is not."""
        for sym in symbols:
            for code in self.core_codes:
                if matches_code(sym, code):
                    return f"cpc:{sym}"
        text = text or ""
        if self._strong_re and (m := self._strong_re.search(text)):
            return f"keyword:{m.group(0)}"
        if self._weak_re and (m := self._weak_re.search(text)):
            for sym in symbols:
                for code in self.context_codes:
                    if matches_code(sym, code):
                        return f"cpc+keyword:{sym}+{m.group(0)}"
        return None

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name, "version": self.version, "source_path": self.source_path,
            "core_codes": list(self.core_codes), "context_codes": list(self.context_codes),
            "strong_keywords": list(self.strong_keywords), "weak_keywords": list(self.weak_keywords),
            "date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat(),
            "offices": list(self.offices),
        }


def _code(c: str) -> str:
    """One landscape code, canonical: a CPC/IPC symbol (``H01F1/057``) or a subclass or main
    group (``H01F``, ``B22F3``); ValueError saying what is allowed otherwise."""
    compact = re.sub(r"\s+", "", c.upper())
    if "/" in compact:
        norm = normalize_symbol(compact)
        if norm is None:
            raise ValueError(f"{c!r} is not a CPC/IPC symbol (e.g. 'H01F1/057')")
        return norm
    if not re.fullmatch(r"[A-HY]\d{2}[A-Z]\d{0,4}", compact):
        raise ValueError(f"{c!r} is not a CPC/IPC code (e.g. 'H01F' or 'B22F3')")
    return compact


Codes = tuple[Annotated[str, AfterValidator(_code)], ...]
Words = tuple[NonEmptyStr, ...]


class _Classification(InputModel):
    core: Codes = ()
    context: Codes = ()


class _Keywords(InputModel):
    strong: Words = ()
    weak: Words = ()


class _Dates(InputModel):
    """The inclusive date range; years outside 1900-2100 are refused (no patent record of the
    landscape is that old, and a year like 1800 or 2999 is a typo), and so is a reversed range."""

    from_: InputDate = Field(dt.date(1900, 1, 1), alias="from")
    to: InputDate = dt.date(2100, 12, 31)
    _order = ordered("from", "to")


class _Offices(InputModel):
    include: tuple[OfficeCode, ...] = ()


class LandscapeFile(InputModel):
    """The landscape TOML file (see ``patentscope/data/landscape.toml``), read by the typed reader:
    errors name the file, line and key."""

    name: NonEmptyStr = "unnamed landscape"
    version: str = ""
    description: str = ""
    classification: _Classification = Field(default_factory=lambda: _Classification.model_validate({}))
    keywords: _Keywords = Field(default_factory=lambda: _Keywords.model_validate({}))
    dates: _Dates = Field(default_factory=lambda: _Dates.model_validate({}))
    offices: _Offices = Field(default_factory=lambda: _Offices.model_validate({}))


def load_landscape(path: str | Path | None = None) -> Landscape:
    """Load a landscape file; None loads the default shipped with the package."""
    if path is None:
        text = resources.files("patentscope").joinpath(DEFAULT_PATH).read_text(encoding="utf-8")
        where = "patentscope/" + DEFAULT_PATH + " (built-in default)"
        doc = toml_text(text, LandscapeFile, where)
    else:
        where = str(path)
        try:
            doc = read_toml(path, LandscapeFile, what="landscape file")
        except ConfigError as e:
            if str(e).startswith("cannot read"):
                raise ConfigError(f"{e}; check the path given by --landscape or PATENTSCOPE_LANDSCAPE") from None
            raise
    land = Landscape(
        name=doc.name,
        version=doc.version,
        description=doc.description.strip(),
        core_codes=doc.classification.core,
        context_codes=doc.classification.context,
        strong_keywords=doc.keywords.strong,
        weak_keywords=doc.keywords.weak,
        date_from=doc.dates.from_,
        date_to=doc.dates.to,
        offices=doc.offices.include,
        source_path=where,
    )
    if not land.core_codes and not land.strong_keywords:
        raise ConfigError(f"{where}: a landscape needs [classification].core codes or [keywords].strong keywords")
    return land


def fingerprint(land: Landscape) -> str:
    """A short hash of what the landscape selects (not where it was loaded from): a cursor
    stored with it tells whether a later run uses the same landscape."""
    d = {k: v for k, v in land.as_dict().items() if k != "source_path"}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]
