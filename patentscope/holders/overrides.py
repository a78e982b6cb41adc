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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from ..errors import ConfigError
from ..inputs import InputDate, InputModel, NonEmptyStr, RangeError, ordered, toml_text

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


# --- the file, as the typed reader (patentscope.inputs) checks it: file:line: key: what is wrong

Reason = Annotated[str, StringConstraints(strip_whitespace=True)]


def _country(v: str) -> str:
    code = v.strip().upper()
    if not (len(code) == 2 and code.isascii() and code.isalpha()):
        raise ValueError(f"must be a two-letter ISO 3166 code, not {v!r}")
    return code


Country = Annotated[str, AfterValidator(_country)]


class _Names(InputModel):
    names: Annotated[list[NonEmptyStr], Field(min_length=2)]
    reason: Reason = ""


class _Rename(InputModel):
    name: NonEmptyStr
    to: NonEmptyStr
    reason: Reason = ""


class _SetGroup(InputModel):
    name: NonEmptyStr
    group: NonEmptyStr
    valid_from: InputDate | None = Field(None, alias="from")
    valid_to: InputDate | None = Field(None, alias="to")
    reason: Reason = ""
    _dates = ordered("from", "to", strict=True)


class _SetCountry(InputModel):
    name: NonEmptyStr
    country: Country
    reason: Reason = ""


class _SetKind(InputModel):
    name: NonEmptyStr
    kind: Literal["person", "organisation", "unresolved"]
    reason: Reason = ""


class OverridesFile(InputModel):
    """``holder_overrides.toml``: arrays of tables, each entry with an optional reason."""

    merge: list[_Names] = []
    split: list[_Names] = []
    rename: list[_Rename] = []
    set_group: list[_SetGroup] = []
    set_country: list[_SetCountry] = []
    set_kind: list[_SetKind] = []

    @model_validator(mode="after")
    def _not_merged_and_split(self) -> OverridesFile:
        for entry in self.split:
            for m in self.merge:
                both = [n for n in entry.names if n in m.names]
                if len(both) >= 2:
                    raise RangeError("split", f"{both} are both merged and split; keep one of the two entries")
        return self


def parse_overrides(text: str, path: str = "<overrides>") -> Overrides:
    f = toml_text(text, OverridesFile, path)
    return Overrides(
        path=path, sha256=hashlib.sha256(text.encode()).hexdigest(),
        merge=[(tuple(e.names), e.reason) for e in f.merge],
        split=[(tuple(e.names), e.reason) for e in f.split],
        rename=[(e.name, e.to, e.reason) for e in f.rename],
        set_group=[GroupOverride(e.name, e.group, e.valid_from, e.valid_to, e.reason) for e in f.set_group],
        set_country=[(e.name, e.country, e.reason) for e in f.set_country],
        set_kind=[(e.name, e.kind, e.reason) for e in f.set_kind],
    )


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
