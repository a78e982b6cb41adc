"""The user's holder overrides: decisions that win over automatic matching on every rebuild.

A TOML file (example: ``patentscope/data/holders/overrides.toml``) with any of these tables,
each entry with an optional ``reason``::

    [[merge]]       names = ["A", "B", ...]          # one holder
    [[split]]       names = ["A", "B", ...]          # never in the same holder
    [[rename]]      name = "A"   to = "Display name" # the holder's name in outputs
    [[set_group]]   name = "A"   group = "G"   from = 2004-04-01   to = 2007-04-01   # dates optional
    [[set_country]] name = "A"   country = "JP"
    [[set_kind]]    name = "A"   kind = "person" | "organisation" | "unresolved"

A name matches the holder name written exactly so (one part of a field), otherwise every name
with the same normalized name. Which file is used: ``--overrides FILE``, else the environment
variable ``PATENTSCOPE_HOLDER_OVERRIDES``, else ``holder_overrides.toml`` beside the warehouse
file, else none. Because the file is re-read on every build, the decisions survive re-runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

ENV = "PATENTSCOPE_HOLDER_OVERRIDES"
BESIDE_WAREHOUSE = "holder_overrides.toml"
_TABLES = ("merge", "split", "rename", "set_group", "set_country", "set_kind")
_KINDS = ("person", "organisation", "unresolved")


@dataclass(frozen=True)
class GroupOverride:
    name: str
    group: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    reason: str


@dataclass
class Overrides:
    path: str | None = None
    sha256: str | None = None
    merge: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    split: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    rename: list[tuple[str, str, str]] = field(default_factory=list)
    set_group: list[GroupOverride] = field(default_factory=list)
    set_country: list[tuple[str, str, str]] = field(default_factory=list)
    set_kind: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(x) for x in (self.merge, self.split, self.rename, self.set_group, self.set_country, self.set_kind))


def _date(v: Any, where: str) -> dt.date | None:
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            pass
    raise ConfigError(f"{where}: {v!r} is not a date (write 2004-04-01)")


def _str(entry: dict[str, Any], key: str, where: str, required: bool = True) -> str:
    v = entry.get(key)
    if v is None and not required:
        return ""
    if not isinstance(v, str) or (required and not v.strip()):
        raise ConfigError(f"{where}: needs {key} = \"...\" (a non-empty string)")
    return v.strip()


def _names(entry: dict[str, Any], where: str, minimum: int) -> tuple[str, ...]:
    v = entry.get("names")
    if not isinstance(v, list) or len(v) < minimum or not all(isinstance(x, str) and x.strip() for x in v):
        raise ConfigError(f"{where}: needs names = [\"...\", \"...\"] with at least {minimum} non-empty names")
    return tuple(x.strip() for x in v)


def parse_overrides(text: str, path: str = "<overrides>") -> Overrides:
    try:
        from ..inputs import parse_toml  # syntax line, nesting depth, secrets

        data = parse_toml(text, path)[0]
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e}); fix the file or remove it") from None
    unknown = sorted(set(data) - set(_TABLES))
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(unknown)}; allowed: {', '.join(_TABLES)}")
    ov = Overrides(path=path, sha256=hashlib.sha256(text.encode()).hexdigest())
    for table in _TABLES:
        entries = data.get(table, [])
        if not isinstance(entries, list):
            raise ConfigError(f"{path}: write [[{table}]] (an array of tables), not [{table}]")
        for i, entry in enumerate(entries, start=1):
            where = f"{path}: [[{table}]] entry {i}"
            if not isinstance(entry, dict):
                raise ConfigError(f"{where}: not a table")
            allowed = {"merge": {"names", "reason"}, "split": {"names", "reason"}, "rename": {"name", "to", "reason"},
                       "set_group": {"name", "group", "from", "to", "reason"},
                       "set_country": {"name", "country", "reason"}, "set_kind": {"name", "kind", "reason"}}[table]
            extra = sorted(set(entry) - allowed)
            if extra:
                raise ConfigError(f"{where}: unknown key(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}")
            reason = _str(entry, "reason", where, required=False)
            if table == "merge":
                ov.merge.append((_names(entry, where, 2), reason))
            elif table == "split":
                ov.split.append((_names(entry, where, 2), reason))
            elif table == "rename":
                ov.rename.append((_str(entry, "name", where), _str(entry, "to", where), reason))
            elif table == "set_group":
                vf, vt = _date(entry.get("from"), where), _date(entry.get("to"), where)
                if vf and vt and vt <= vf:
                    raise ConfigError(f"{where}: to {vt} is not after from {vf}")
                ov.set_group.append(GroupOverride(_str(entry, "name", where), _str(entry, "group", where), vf, vt, reason))
            elif table == "set_country":
                c = _str(entry, "country", where).upper()
                if not re.fullmatch(r"[A-Z]{2}", c):
                    raise ConfigError(f"{where}: country must be a two-letter ISO code, not {c!r}")
                ov.set_country.append((_str(entry, "name", where), c, reason))
            elif table == "set_kind":
                k = _str(entry, "kind", where)
                if k not in _KINDS:
                    raise ConfigError(f"{where}: kind must be one of {', '.join(_KINDS)}, not {k!r}")
                ov.set_kind.append((_str(entry, "name", where), k, reason))
    merged = {n for names, _ in ov.merge for n in names}
    for names, _ in ov.split:
        both = [n for n in names if n in merged]
        if len(both) >= 2 and any(set(both) <= set(m) for m, _ in ov.merge):
            raise ConfigError(f"{path}: {both} are both merged and split; keep one of the two entries")
    return ov


def load_overrides(path: Path | None) -> Overrides:
    if path is None:
        return Overrides()
    try:
        from ..inputs import read_text  # not-UTF-8 bytes and special files named, not an internal error

        text = read_text(path, what="holder overrides file")
    except OSError as e:
        raise ConfigError(f"cannot read holder overrides {path}: {e.strerror}; check the path or unset {ENV}") from None
    return parse_overrides(text, str(path))


def find_overrides(explicit: Path | None = None, warehouse: Path | None = None) -> Path | None:
    """Which overrides file applies: explicit > $PATENTSCOPE_HOLDER_OVERRIDES > beside the warehouse."""
    if explicit is not None:
        return explicit
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    if warehouse is not None:
        p = Path(warehouse).parent / BESIDE_WAREHOUSE
        if p.exists():
            return p
    return None
