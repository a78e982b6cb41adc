"""Benchmark (not a test): the holder chain with recorded assignments, on SYNTHETIC events.

Builds N SYNTHETIC publications (pub keys US-9xxxxxxx, names "SYNTHETIC HOLDER k", no real
record), each with an original assignee and K ownership events (one transfer to a new
SYNTHETIC holder, the others security interests and releases of the same holder), then times

1. the chain without events (the record's first holders only, the pre-0019 path);
2. the chain with the events (holders/ownership.py ``build_chain(..., events=...)``);

and parses the recorded tests/fixtures/uspto_assignment/assignment_3.xml R times.

    python benchmarks/ownership_chain.py                      # 100k publications, 3 events each
    python benchmarks/ownership_chain.py --publications 20000 --events 5

Prints times, rows per second and the ratio with events / without.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from patentscope.holders.lineage import load_lineage
from patentscope.holders.ownership import build_chain
from patentscope.normalize.assignments import parse_assignment_xml

XML = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "uspto_assignment" / "assignment_3.xml"


def synthetic(n: int, k: int) -> tuple[list[tuple[str, str, str]], dict[str, list[dict]], dict[str, set[str]]]:
    parties, events, ents = [], {}, {}
    for i in range(n):
        pk = f"US-9{i:07d}"
        a, b = f"SYNTHETIC HOLDER {i % 5000}", f"SYNTHETIC BUYER {i % 7000}"
        ents[a], ents[b] = {f"H:A{i % 5000}"}, {f"H:B{i % 7000}"}
        parties.append((pk, "original_assignee", a))
        evs = [{"reel_frame": f"{i:06d}/0001", "conveyance": "ASSIGNMENT OF ASSIGNORS INTEREST", "conveyance_class": "transfer",
                "moves_ownership": True, "assignors": [a], "assignees": [b], "effective_date": dt.date(2015, 1, 1 + i % 28),
                "recorded_date": dt.date(2015, 3, 1), "date_basis": "executed", "source": "assignments",
                "source_record": f"synthetic.xml:{i}"}]
        for j in range(1, k):
            cls = "security" if j % 2 else "release"
            evs.append({**evs[0], "reel_frame": f"{i:06d}/{j + 1:04d}", "conveyance": cls.upper(), "conveyance_class": cls,
                        "moves_ownership": False, "assignors": [b], "assignees": ["SYNTHETIC BANK"],
                        "effective_date": dt.date(2016 + j, 1, 1)})
        events[pk] = evs
    return parties, events, ents


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--publications", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=3)
    ap.add_argument("--parse-repeats", type=int, default=20)
    a = ap.parse_args()
    lineage = load_lineage()
    parties, events, ents = synthetic(a.publications, a.events)
    t0 = time.perf_counter()
    plain = build_chain(parties, {}, {}, ents, {}, lineage)
    t1 = time.perf_counter()
    chained = build_chain(parties, {}, {}, ents, {}, lineage, events=events)
    t2 = time.perf_counter()
    data = XML.read_bytes()
    t3 = time.perf_counter()
    for _ in range(a.parse_repeats):
        docs, _bad = parse_assignment_xml(data, XML.name)
    t4 = time.perf_counter()
    n_ev = a.publications * a.events
    print(f"SYNTHETIC: {a.publications:,} publications, {n_ev:,} events")
    print(f"chain without events: {t1 - t0:.2f} s ({plain.height:,} links)")
    print(f"chain with events:    {t2 - t1:.2f} s ({chained.height:,} links, {n_ev / (t2 - t1):,.0f} events/s)")
    print(f"ratio with / without: {(t2 - t1) / (t1 - t0):.2f}")
    per = (t4 - t3) / a.parse_repeats
    print(f"parse {XML.name} ({len(data):,} bytes, {len(docs)} recordings): {per * 1000:.1f} ms "
          f"({len(data) / per / 1e6:.1f} MB/s)")


if __name__ == "__main__":
    main()
