"""Ownership over time per publication: who holds it from when to when (the ``holder_chain`` table).

A record names its first holders (original assignee, else applicant) and, on many pages, a
current assignee. When the current assignee is a different holder, the patent was transferred
(an assignment recorded at the USPTO under 35 U.S.C. 261, or a transfer registered at the EPO
under Art. 72 EPC / Rule 22 EPC). The chain then has two links:

* the first holders, from the start until the transfer date;
* the current assignee, from the transfer date on.

The transfer date is the one a reassignment line of the record shows next to the new holder
(``date_basis = 'recorded'``); else the earliest date the lineage file allows the new holder to
hold it (its first dated lineage line, e.g. Magnequench International under GM from 1986), never
before the record's own first date (``'inferred from lineage'``); else the record's first date
(filing, else priority, else publication), i.e. the new holder is taken to have held it all along
(``'inferred from record'``). Inferred dates are flagged; ``holders chain PUB``, ``patentscope show`` and the
``holder_chain`` table show each link with its source.

Recorded USPTO assignments (``ownership_events``, normalize/assignments.py) take over where a
publication has any that moves ownership (a transfer, or a merger / change of name): starting
from the record's first holders, each such event in date order (its effective date: the
latest assignor execution date, else the recorded date; ``date_basis`` says which) closes the
links of the holders it conveys from and opens one for each assignee that is not already a
holder (``role = 'recorded_assignee'``), so a transfer recorded mid-life splits the
holder-at-date at that date. An assignment to a holder already on the record (the inventors'
assignment to their employer) changes nothing. Security interests, their releases and
licences never move ownership. An event whose assignors are not the holders of record at its
date is applied to the whole and flagged. A current assignee shown on the record that no loaded
assignment names takes over at the date the rules above infer, never before the last recorded
assignment (flagged); one the assignments name but move on from is kept as a link with
``counted = false`` and a flag naming both. Nothing is silently dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from .lineage import Lineage
from .normalize import normalize_name

CHAIN_SCHEMA = {"pub_key": pl.Utf8, "seq": pl.Int32, "name_as_written": pl.Utf8, "role": pl.Utf8,
                "valid_from": pl.Date, "valid_to": pl.Date, "date_basis": pl.Utf8, "evidence": pl.Utf8,
                "source": pl.Utf8, "flag": pl.Utf8, "counted": pl.Boolean}
FIRST_ROLES = ("original_assignee", "applicant")
_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})")


def _recorded_date(text: str | None, new_names: list[str]) -> dt.date | None:
    """A date a reassignment line shows in the segment that names one of the new holders."""
    if not text:
        return None
    for seg in re.split(r";|\blater assigned to\b", text, flags=re.I):
        seg_key = normalize_name(seg).key or ""
        if any((normalize_name(n).key or n.upper()) in seg_key for n in new_names):
            m = _ISO.search(seg)
            if m:
                try:
                    return dt.date.fromisoformat(m[1])
                except ValueError:
                    return None
    return None


def _lineage_starts(lineage: Lineage) -> dict[str, tuple[dt.date, str]]:
    """Per canonical lineage key: its first dated line (date, description), computed once."""
    out: dict[str, tuple[dt.date, str]] = {}
    for ln in lineage.lines:
        if ln.relation in ("alias", "country") or ln.valid_from is None:
            continue
        k = lineage.canon(ln.subject_key)
        if k not in out or ln.valid_from < out[k][0]:
            out[k] = (ln.valid_from, ln.describe())
    return out


def _same_holder(name_entities: Mapping[str, set[str]], group_now: Mapping[str, str]) -> Callable[[str, str], bool]:
    """Two names are the same holder: a shared entity, the same group today, or the same normalized key."""
    group_cache: dict[str, set[str]] = {}

    def groups(n: str) -> set[str]:
        if n not in group_cache:
            group_cache[n] = {group_now.get(e, e) for e in name_entities.get(n, set())}
        return group_cache[n]

    keys: dict[str, str | None] = {}

    def key(n: str) -> str | None:
        if n not in keys:
            keys[n] = normalize_name(n).key
        return keys[n]

    def same(a: str, b: str) -> bool:
        ea, eb = name_entities.get(a, set()), name_entities.get(b, set())
        if a == b or (ea & eb) or (groups(a) & groups(b)):
            return True
        if ea and eb:
            return False  # both known to the holder model, which keeps them apart
        ka = key(a)
        return bool(ka and ka == key(b))
    return same


def _event_links(first: list[str], first_role: str, current: list[str], events: Sequence[Mapping[str, Any]],
                 same: Callable[[str, str], bool],
                 infer: Callable[[list[str], dt.date | None], tuple[dt.date | None, str, str]],
                 first_date: dt.date | None) -> list[dict[str, Any]]:
    """The links of one publication from its first holders and its recorded ownership events.

    A current assignee the record shows that the events never name is a later transfer the
    loaded assignments do not cover: it holds from an inferred date (``infer``: a reassignment
    line, the lineage, else the date of the last recorded event), flagged. One the events name
    but move on from is superseded: kept uncounted, flagged."""
    out: list[dict[str, Any]] = []
    open_: list[dict[str, Any]] = [{"name_as_written": n, "role": first_role, "valid_from": None, "date_basis": "as shown",
                                    "evidence": f"{first_role} as shown on the record", "source": "record", "flag": None}
                                   for n in first]
    moving = sorted((e for e in events if e["moves_ownership"]),
                    key=lambda e: (e["effective_date"] or dt.date.max, e["recorded_date"] or dt.date.max, e["reel_frame"]))
    last: Mapping[str, Any] | None = None
    for e in moving:
        t = e["effective_date"]
        ref = f"{e['conveyance_class']} reel/frame {e['reel_frame']}"
        if t is None:
            continue  # undated: listed with the events, cannot place a split
        new = [a for a in e["assignees"] if not any(same(a, h["name_as_written"]) for h in open_)]
        if not new:
            continue  # to a holder already on the record: confirms it
        last = e
        leaving = [h for h in open_ if any(same(h["name_as_written"], x) for x in e["assignors"])]
        flag = None
        if open_ and not leaving:
            flag = (f"{ref}: the assignors ({'; '.join(e['assignors'])}) are not the holders of record on {t} "
                    f"({'; '.join(h['name_as_written'] for h in open_)}); taken as a transfer of the whole")
            leaving = list(open_)
        for h in leaving:
            out.append({**h, "valid_to": t, "evidence": h["evidence"] + f"; until {ref} to {'; '.join(new)}"})
            open_.remove(h)
        how = "executed" if e["date_basis"] == "executed" else "recorded; no execution date given"
        for a in new:
            open_.append({"name_as_written": a, "role": "recorded_assignee", "valid_from": t, "date_basis": e["date_basis"],
                          "evidence": f"{ref} ({e['conveyance']}) {how} {t}, recorded {e['recorded_date']}: "
                                      f"{'; '.join(e['assignors'])} -> {'; '.join(e['assignees'])}",
                          "source": f"{e['source']}: {e['source_record']}", "flag": flag})
    named = [n for e in moving if e["effective_date"] for n in (*e["assignees"], *e["assignors"])]
    conflicts = [c for c in current if not any(same(c, h["name_as_written"]) for h in open_)]
    superseded = [c for c in conflicts if any(same(c, n) for n in named)]
    uncovered = [c for c in conflicts if c not in superseded]
    reach = "; ".join(h["name_as_written"] for h in open_) or "no holder"
    why = f" (last: {last['conveyance_class']} reel/frame {last['reel_frame']}, {last['effective_date']})" if last else ""
    if uncovered:
        dated = [e["effective_date"] for e in moving if e["effective_date"]]
        floor = max([*dated, *([first_date] if first_date else [])], default=None)
        t, basis, reason = infer(uncovered, floor)
        note = (f"the record shows {'; '.join(uncovered)} as current assignee, which no loaded assignment names; "
                f"a later transfer is taken ({reason})")
        for h in open_:
            out.append({**h, "valid_to": t, "flag": h["flag"] or note} if t is not None else
                       {**h, "valid_to": None, "flag": f"{note}; not counted", "counted": False})
        for c in uncovered:
            out.append({"name_as_written": c, "role": "current_assignee", "valid_from": t, "valid_to": None,
                        "date_basis": basis, "evidence": f"current assignee as shown on the record; {reason}",
                        "source": "record", "flag": note})
    else:
        for h in open_:
            flag = h["flag"]
            if superseded and not flag:
                flag = (f"the record shows {'; '.join(superseded)} as current assignee, which the recorded assignments "
                        "move on from; the recorded chain is counted")
            out.append({**h, "valid_to": None, "flag": flag})
    for c in superseded:
        out.append({"name_as_written": c, "role": "current_assignee", "valid_from": None, "valid_to": None,
                    "date_basis": "as shown", "evidence": "current assignee as shown on the record", "source": "record",
                    "flag": f"conflicts with the recorded assignments: they lead to {reach}{why}; not counted",
                    "counted": False})
    return out


def build_chain(party_rows: Iterable[tuple[str, ...]], reassignments: Mapping[str, str],
                first_dates: Mapping[str, dt.date | None], name_entities: Mapping[str, set[str]],
                entity_lineage: Mapping[str, str | None], lineage: Lineage,
                group_now: Mapping[str, str] | None = None,
                events: Mapping[str, Sequence[Mapping[str, Any]]] | None = None, *, fast: bool = True) -> pl.DataFrame:
    """Pure: (pub_key, role, name_as_written) holder-role rows -> the holder chain.

    ``group_now``: entity -> its group today; a current assignee in the same group as a first
    holder today is the same line (a rename or merger the lineage file already dates), not a transfer.
    ``events``: pub_key -> its ``ownership_events`` rows (dicts with reel_frame, conveyance,
    conveyance_class, moves_ownership, assignors, assignees, effective_date, recorded_date,
    date_basis, source, source_record); a publication with one that moves ownership follows them.

    ``fast``: the publications with no current assignee and no event that moves ownership (most
    of a bulk release: its holders are the first ones, as shown) are answered by one polars
    expression (:func:`_first_holders_only`) instead of the loop; ``fast=False`` sends every
    publication through the loop (the tests compare the two).
    """
    group_now = group_now or {}
    events = events or {}
    moving = {k for k, evs in events.items() if any(e["moves_ownership"] for e in evs)}
    done = pl.DataFrame(schema=CHAIN_SCHEMA)
    if fast:
        party_rows = list(party_rows)
        done, rest = _first_holders_only(party_rows, moving)
        party_rows = [r for r in party_rows if r[0] in rest]
    same = _same_holder(name_entities, group_now)
    starts = _lineage_starts(lineage)

    def infer(pk: str, new: list[str], start: dt.date | None, *, after_events: bool = False) -> tuple[dt.date | None, str, str]:
        """(transfer date, date_basis, why) of a transfer to ``new`` that no dated event gives, not before
        ``start`` (the record's first date; ``after_events``: the last recorded assignment's date)."""
        recorded = _recorded_date(reassignments.get(pk), new)
        if recorded and not (after_events and start and recorded < start):
            return recorded, "recorded", f"reassignment line of the record dates the transfer {recorded}"
        lkeys = {lineage.canon(lk) for n in new for e in name_entities.get(n, set()) if (lk := entity_lineage.get(e))}
        lstarts = [starts[k] for k in lkeys if k in starts]
        if lstarts:
            d, line = min(lstarts, key=lambda x: x[0])
            return (max(d, start) if start else d), "inferred from lineage", \
                f"transfer date not shown; earliest the lineage allows: {line}"
        if start:
            what = "the date of the last recorded assignment" if after_events else "the record's first date"
            return start, "inferred from record", f"transfer date not shown and no lineage line: taken as {what}"
        return None, "inferred from record", ("transfer date not shown, no lineage line and no date on the record: "
                                              "the current assignee is taken to hold it throughout")
    by_pub: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for pk, role, name, *_ in party_rows:
        if name not in by_pub[pk][role]:
            by_pub[pk][role].append(name)
    rows: list[dict[str, object]] = []
    for pk in sorted(set(by_pub) | moving):
        roles = by_pub[pk]
        first_role = next((r for r in FIRST_ROLES if roles.get(r)), None)
        first = roles.get(first_role, []) if first_role else []
        current = roles.get("current_assignee", [])
        seq = 0

        def add(names: list[str], role: str, start: dt.date | None, end: dt.date | None, basis: str, ev: str,
                pk: str = pk) -> None:
            nonlocal seq
            for n in names:
                seq += 1
                rows.append({"pub_key": pk, "seq": seq, "name_as_written": n, "role": role, "valid_from": start,
                             "valid_to": end, "date_basis": basis, "evidence": ev, "source": "record", "flag": None,
                             "counted": True})

        if any(e["moves_ownership"] for e in events.get(pk, [])):
            def infer_pk(new: list[str], floor: dt.date | None, pk: str = pk) -> tuple[dt.date | None, str, str]:
                return infer(pk, new, floor, after_events=True)

            for link in _event_links(first, first_role or "", current, events[pk], same, infer_pk,
                                     first_dates.get(pk)):
                seq += 1
                rows.append({"pub_key": pk, "seq": seq, "counted": True, **link})
            continue
        if not first:
            add(current, "current_assignee", None, None, "as shown", "only a current assignee is shown")
            continue
        ent = lambda ns: set().union(*[name_entities.get(n, set()) for n in ns]) if ns else set()  # noqa: E731
        first_e, cur_e = ent(first), ent(current)
        first_g = {group_now.get(e, e) for e in first_e}
        new = [n for n in current if not (name_entities.get(n, set()) & first_e)
               and not ({group_now.get(e, e) for e in name_entities.get(n, set())} & first_g)]
        if not current or not new or not cur_e:
            add(first, first_role or "", None, None, "as shown", f"{first_role} as shown; no transfer shown")
            continue
        t, basis, why = infer(pk, new, first_dates.get(pk))
        kept = [n for n in first if name_entities.get(n, set()) & cur_e]
        gone = [n for n in first if n not in kept]
        add(kept, first_role or "", None, None, "as shown", "also the current assignee")
        if t is not None:
            add(gone, first_role or "", None, t, basis,
                f"first holder until the transfer to {', '.join(new)}; {why}")
        add(new, "current_assignee", t, None, basis, f"current assignee as shown; {why}")
    looped = pl.DataFrame(rows, schema=CHAIN_SCHEMA)
    if done.is_empty():
        return looped
    return pl.concat([done, looped]).sort("pub_key", "seq", maintain_order=True)


def _first_holders_only(party_rows: list[tuple[str, ...]], moving: set[str]) -> tuple[pl.DataFrame, set[str]]:
    """The chain rows of every publication without a current assignee and without an event that
    moves ownership, as the loop of :func:`build_chain` writes them (its first-role holders, as
    shown, each name once, in row order), and the pub_keys left for the loop."""
    parties = pl.DataFrame([r[:3] for r in party_rows], schema={"pub_key": pl.Utf8, "role": pl.Utf8, "name": pl.Utf8},
                           orient="row").with_row_index("order")
    loop = parties.filter((pl.col("role") == "current_assignee") | pl.col("pub_key").is_in(list(moving)))["pub_key"]
    rest = set(loop.unique().to_list())
    rank = pl.col("role").replace_strict({r: i for i, r in enumerate(FIRST_ROLES)}, default=None, return_dtype=pl.Int32)
    first = (parties.filter(~pl.col("pub_key").is_in(loop.implode()))
             .with_columns(rank=rank).filter(pl.col("rank").is_not_null())
             .filter(pl.col("rank") == pl.col("rank").min().over("pub_key"))
             .unique(["pub_key", "name"], keep="first", maintain_order=True)
             .sort("pub_key", "order"))
    out = first.select(
        "pub_key",
        seq=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("pub_key"),
        name_as_written="name", role="role",
        valid_from=pl.lit(None, dtype=pl.Date), valid_to=pl.lit(None, dtype=pl.Date),
        date_basis=pl.lit("as shown"),
        evidence=pl.format("{} as shown; no transfer shown", pl.col("role")),
        source=pl.lit("record"), flag=pl.lit(None, dtype=pl.Utf8), counted=pl.lit(True),
    )
    return out.cast(CHAIN_SCHEMA), rest  # type: ignore[arg-type]
