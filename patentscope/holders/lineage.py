"""Corporate lineage over time: who a holder is, and which group it belongs to, at any date.

The lineage file (``patentscope/data/holders/lineage.csv``, editable; a user file given with
``--lineage`` / ``PATENTSCOPE_HOLDER_LINEAGE`` is read after it) has one fact per line, each
with its source::

    subject,relation,object,valid_from,valid_to,confirmed,source,note

relations:

* ``renamed_to``: the same legal entity takes a new name on ``valid_from``. Names before and
  after are one entity: asked about 1990, "Proterial, Ltd." answers "Hitachi Metals, Ltd.".
* ``merged_into``: the subject is absorbed by the object on ``valid_from`` (forward only).
* ``controlled_by``: the subject is a subsidiary of the object during [valid_from, valid_to);
  its patents count in the object's group.
* ``alias``: the subject is another writing of the object's name (another script or
  language); used when matching names, not as an event.
* ``country``: the subject's country (ISO 3166 code in ``object``).

Dates are ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY`` (a partial date counts from the first day of
that month or year). ``confirmed`` is ``yes`` or ``no``: ``no`` marks a fact or a day the
sources do not settle; results computed through such a line carry ``confirmed = false``.
Intervals are half-open: a fact valid from D applies on D.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..errors import ConfigError
from .normalize import normalize_name

RELATIONS = ("renamed_to", "merged_into", "controlled_by", "alias", "country")
COLUMNS = ("subject", "relation", "object", "valid_from", "valid_to", "confirmed", "source", "note")
_MAX_STEPS = 25


def builtin_lineage_path() -> Path:
    return Path(str(resources.files("patentscope").joinpath("data/holders/lineage.csv")))


def parse_partial_date(text: str) -> tuple[dt.date, str]:
    """'2004-04-01' -> (date, 'day'); '2023-01' -> (2023-01-01, 'month'); '1995' -> (1995-01-01, 'year')."""
    t = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
        return dt.date.fromisoformat(t), "day"
    if re.fullmatch(r"\d{4}-\d{2}", t):
        return dt.date(int(t[:4]), int(t[5:7]), 1), "month"
    if re.fullmatch(r"\d{4}", t):
        return dt.date(int(t), 1, 1), "year"
    raise ValueError(f"not a date: {text!r} (use YYYY-MM-DD, YYYY-MM or YYYY)")


@dataclass(frozen=True)
class LineageLine:
    file: str
    line: int
    subject: str
    relation: str
    object: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    precision: str | None
    confirmed: bool
    source: str
    note: str
    subject_key: str
    object_key: str

    @property
    def where(self) -> str:
        return f"{Path(self.file).name}:{self.line}"

    def describe(self) -> str:
        when = ""
        if self.valid_from:
            when = f" on {self.valid_from.isoformat()}" if self.precision == "day" else \
                   f" in {self.valid_from.isoformat()[:7 if self.precision == 'month' else 4]}"
        if self.valid_to:
            when += f" until {self.valid_to.isoformat()}"
        flag = "" if self.confirmed else " [unconfirmed]"
        verb = {"renamed_to": "renamed", "merged_into": "merged into", "controlled_by": "controlled by",
                "alias": "also written", "country": "country"}[self.relation]
        return f"{self.subject} {verb} {self.object}{when}{flag} ({self.where})"


def _key(name: str) -> str:
    h = normalize_name(name)
    return h.key or name.strip().upper()


def load_lineage_lines(path: Path) -> list[LineageLine]:
    try:
        from ..inputs import read_text  # not-UTF-8 bytes and special files named, not an internal error

        text = read_text(path, what="lineage file")
    except OSError as e:
        raise ConfigError(f"cannot read lineage file {path}: {e.strerror}; check the path") from None
    kept = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    rows = list(csv.reader(kept))
    if not rows:
        return []
    header = [h.strip() for h in rows[0]]
    if tuple(header) != COLUMNS:
        raise ConfigError(f"{path}: the header must be {','.join(COLUMNS)} (found {','.join(header)})")
    out: list[LineageLine] = []
    # line numbers in the file (comments skipped above): recount against the raw text
    data_lines = [i + 1 for i, line in enumerate(text.splitlines()) if line.strip() and not line.lstrip().startswith("#")]
    for n, row in enumerate(rows[1:], start=1):
        lineno = data_lines[n] if n < len(data_lines) else n + 1
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(COLUMNS):
            raise ConfigError(f"{path}:{lineno}: expected {len(COLUMNS)} columns, found {len(row)} (quote fields with commas)")
        r = dict(zip(COLUMNS, (c.strip() for c in row), strict=True))
        where = f"{path}:{lineno}"
        if r["relation"] not in RELATIONS:
            raise ConfigError(f"{where}: relation {r['relation']!r} is not one of {', '.join(RELATIONS)}")
        if not r["subject"] or not r["object"]:
            raise ConfigError(f"{where}: subject and object are required")
        if not r["source"]:
            raise ConfigError(f"{where}: every lineage line needs a source (a URL or a document); none given")
        if r["confirmed"].lower() not in ("yes", "no"):
            raise ConfigError(f"{where}: confirmed must be yes or no, not {r['confirmed']!r}")
        try:
            vf, prec = parse_partial_date(r["valid_from"]) if r["valid_from"] else (None, None)
            vt = parse_partial_date(r["valid_to"])[0] if r["valid_to"] else None
        except ValueError as e:
            raise ConfigError(f"{where}: {e}") from None
        if r["relation"] in ("renamed_to", "merged_into") and vf is None:
            raise ConfigError(f"{where}: {r['relation']} needs valid_from")
        if vf and vt and vt <= vf:
            raise ConfigError(f"{where}: valid_to {vt} is not after valid_from {vf}")
        obj_key = r["object"].strip().upper() if r["relation"] == "country" else _key(r["object"])
        if r["relation"] == "country" and not re.fullmatch(r"[A-Z]{2}", obj_key):
            raise ConfigError(f"{where}: a country line needs a two-letter ISO code as object, not {r['object']!r}")
        out.append(LineageLine(str(path), lineno, r["subject"], r["relation"], r["object"], vf, vt, prec,
                               r["confirmed"].lower() == "yes", r["source"], r["note"], _key(r["subject"]), obj_key))
    return out


@dataclass(frozen=True)
class GroupAt:
    """Where a holder stands at a date."""

    holder_key: str             # the legal entity's name in force (after successions) at the date
    holder_name: str
    group_id: str               # stable across renames: 'L:' + the earliest name of the top entity
    group_key: str
    group_name: str
    country: str | None
    path: tuple[str, ...]       # the lineage lines used, described
    confirmed: bool


class Lineage:
    def __init__(self, lines: list[LineageLine]):
        self.lines = lines
        self.alias: dict[str, str] = {}
        self.display: dict[str, str] = {}
        self.renames: dict[str, list[LineageLine]] = {}   # key -> renames out of it
        self.renamed_from: dict[str, list[LineageLine]] = {}
        self.mergers: dict[str, list[LineageLine]] = {}
        self.control: dict[str, list[LineageLine]] = {}
        self.country_lines: dict[str, list[LineageLine]] = {}
        for ln in lines:
            if ln.relation == "alias":
                self.alias[ln.subject_key] = ln.object_key
                self.display.setdefault(ln.object_key, ln.object)
                continue
            self.display.setdefault(ln.subject_key, ln.subject)
            if ln.relation == "country":
                self.country_lines.setdefault(self.canon(ln.subject_key), []).append(ln)
                continue
            self.display.setdefault(ln.object_key, ln.object)
            s, o = self.canon(ln.subject_key), self.canon(ln.object_key)
            {"renamed_to": self.renames, "merged_into": self.mergers, "controlled_by": self.control}[ln.relation] \
                .setdefault(s, []).append(ln)
            if ln.relation == "renamed_to":
                self.renamed_from.setdefault(o, []).append(ln)

    # ------------------------------------------------------------------------------------------
    def canon(self, key: str) -> str:
        seen = set()
        while key in self.alias and key not in seen:
            seen.add(key)
            key = self.alias[key]
        return key

    def knows(self, key: str) -> bool:
        k = self.canon(key)
        return k in self.display and (k in self.renames or k in self.renamed_from or k in self.mergers
                                      or k in self.control or k in self.country_lines
                                      or any(k == self.canon(ln.object_key) for ln in self.lines
                                             if ln.relation in ("merged_into", "controlled_by")))

    def chain(self, key: str) -> list[str]:
        """Every name of the legal entity that bore ``key`` (renames both ways), earliest first."""
        k = self.canon(key)
        for _ in range(_MAX_STEPS):  # back to the earliest name
            back = self.renamed_from.get(k)
            if not back:
                break
            k = self.canon(min(back, key=lambda ln: ln.valid_from or dt.date.min).subject_key)
        out = [k]
        for _ in range(_MAX_STEPS):
            fwd = self.renames.get(k)
            if not fwd:
                break
            k = self.canon(min(fwd, key=lambda ln: ln.valid_from or dt.date.min).object_key)
            if k in out:
                break
            out.append(k)
        return out

    def _rename_out(self, key: str) -> LineageLine:
        return min(self.renames[key], key=lambda x: x.valid_from or dt.date.min)

    def name_at(self, key: str, day: dt.date) -> tuple[str, list[LineageLine]]:
        """The name of the legal entity in force on ``day``, and the renames between it and ``key``."""
        names = self.chain(key)
        cur = 0
        for i in range(len(names) - 1):
            ln = self._rename_out(names[i])
            if ln.valid_from and ln.valid_from <= day:
                cur = i + 1
            else:
                break
        asked = names.index(self.canon(key)) if self.canon(key) in names else 0
        lo, hi = sorted((asked, cur))
        return names[cur], [self._rename_out(names[i]) for i in range(lo, hi)]

    def _events(self, names: list[str], table: dict[str, list[LineageLine]]) -> list[LineageLine]:
        return [ln for k in names for ln in table.get(k, [])]

    def at(self, key: str, day: dt.date) -> GroupAt:
        """Holder and group of ``key`` on ``day``."""
        path: list[LineageLine] = []
        cur, used = self.name_at(key, day)
        path += used
        for _ in range(_MAX_STEPS):  # successions by merger
            mergers = [ln for ln in self._events(self.chain(cur), self.mergers) if ln.valid_from and ln.valid_from <= day]
            if not mergers:
                break
            ln = max(mergers, key=lambda x: x.valid_from or dt.date.min)
            path.append(ln)
            cur, used = self.name_at(ln.object_key, day)
            path += used
        holder = cur
        top = cur
        for _ in range(_MAX_STEPS):  # control
            ctl = [ln for ln in self._events(self.chain(top), self.control)
                   if (ln.valid_from is None or ln.valid_from <= day) and (ln.valid_to is None or day < ln.valid_to)]
            if not ctl:
                break
            ln = max(ctl, key=lambda x: x.valid_from or dt.date.min)
            path.append(ln)
            nxt, used = self.name_at(ln.object_key, day)
            path += used
            if nxt == top:
                break
            top = nxt
        earliest = self.chain(top)[0]
        return GroupAt(holder, self.display.get(holder, holder), "L:" + earliest, top, self.display.get(top, top),
                       self.country_of(top), tuple(ln.describe() for ln in path), all(ln.confirmed for ln in path))

    def country_of(self, key: str) -> str | None:
        for k in self.chain(key):
            lines = self.country_lines.get(k)
            if lines:
                return lines[0].object_key
        return None

    def breakpoints(self) -> list[dt.date]:
        ds = {d for ln in self.lines for d in (ln.valid_from, ln.valid_to) if d and ln.relation not in ("alias", "country")}
        return sorted(ds)


def load_lineage(extra: Path | None = None, *, builtin: bool = True) -> Lineage:
    lines: list[LineageLine] = []
    if builtin:
        lines += load_lineage_lines(builtin_lineage_path())
    if extra is not None:
        lines += load_lineage_lines(extra)
    return Lineage(lines)


@lru_cache(maxsize=1)
def builtin_lineage() -> Lineage:
    return load_lineage()
