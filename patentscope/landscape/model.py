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
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..errors import ConfigError
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


def _codes(raw: object, key: str, path: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        raise ConfigError(f"{path}: [classification].{key} must be a list of strings like 'H01F1/057'")
    out = []
    for c in raw:
        compact = re.sub(r"\s+", "", c.upper())
        if "/" in compact:
            norm = normalize_symbol(compact)
            if norm is None:
                raise ConfigError(f"{path}: [classification].{key}: {c!r} is not a CPC/IPC symbol (e.g. 'H01F1/057')")
            compact = norm
        elif not re.fullmatch(r"[A-HY]\d{2}[A-Z]\d{0,4}", compact):
            raise ConfigError(f"{path}: [classification].{key}: {c!r} is not a CPC/IPC code (e.g. 'H01F' or 'B22F3')")
        out.append(compact)
    return tuple(out)


def load_landscape(path: str | Path | None = None) -> Landscape:
    """Load a landscape file; None loads the default shipped with the package."""
    if path is None:
        text = resources.files("patentscope").joinpath(DEFAULT_PATH).read_text(encoding="utf-8")
        where = "patentscope/" + DEFAULT_PATH + " (built-in default)"
    else:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read landscape file {p}: {e.strerror}; check the path given by --landscape or PATENTSCOPE_LANDSCAPE") from None
        where = str(p)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where}: not valid TOML ({e})") from None
    cls = doc.get("classification", {})
    kw = doc.get("keywords", {})
    dates = doc.get("dates", {})
    try:
        d_from = dt.date.fromisoformat(str(dates.get("from", "1900-01-01")))
        d_to = dt.date.fromisoformat(str(dates.get("to", "2999-12-31")))
    except ValueError as e:
        raise ConfigError(f"{where}: [dates] from/to must be YYYY-MM-DD ({e})") from None
    for k in ("strong", "weak"):
        if not isinstance(kw.get(k, []), list):
            raise ConfigError(f"{where}: [keywords].{k} must be a list of strings")
    land = Landscape(
        name=str(doc.get("name", "unnamed landscape")),
        version=str(doc.get("version", "")),
        description=str(doc.get("description", "")).strip(),
        core_codes=_codes(cls.get("core", []), "core", where),
        context_codes=_codes(cls.get("context", []), "context", where),
        strong_keywords=tuple(kw.get("strong", [])),
        weak_keywords=tuple(kw.get("weak", [])),
        date_from=d_from,
        date_to=d_to,
        offices=tuple(doc.get("offices", {}).get("include", [])),
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
