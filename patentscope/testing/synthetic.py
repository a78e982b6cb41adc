"""SYNTHETIC warehouses for scale tests, browser tests and benchmarks — never patent facts.

Every title starts with "SYNTHETIC", every holder is "Synthetic Holder NN Co., Ltd.", every
row's source is 'synthetic' and its family id starts with "SYN"; numbers are taken from high
ranges (US from 90,000,000) so that they are unlikely to coincide with real documents, but the
labels above, not the numbers, are what mark a row as synthetic.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from ..landscape import Landscape, load_landscape
from ..normalize.batch import Batch
from ..warehouse import migrations
from ..warehouse.connection import writer
from ..warehouse.save import finish_run, save_batch, start_run

SOURCE = "synthetic"
CPC_POOL = ["H01F1/0577", "H01F1/0578", "H01F1/0576", "H01F1/0573", "H01F41/0293", "H01F1/0579", "C22C38/005", "B22F9/04"]
OFFICES = [("US", "B2", 90_000_000), ("EP", "B1", 9_000_000), ("JP", "B2", 9_000_000), ("CN", "B", 900_000_000), ("KR", "B1", 9_000_000)]


def make_batch(n: int, *, seed: int = 1, holders: int = 40, cites_per_pub: float = 4.0) -> Batch:
    """``n`` SYNTHETIC granted publications in n // 2 families, Zipf-distributed holders,
    CPC symbols from the NdFeB groups, citations from newer to older (preferential attachment)."""
    rnd = random.Random(seed)
    batch = Batch(source=SOURCE)
    weights = [1.0 / (k + 1) for k in range(holders)]
    names = [f"Synthetic Holder {k:02d} Co., Ltd." for k in range(holders)]
    pubs = []
    for i in range(n):
        cc, kind, base = OFFICES[i % len(OFFICES)]
        filing = dt.date(1985, 1, 1) + dt.timedelta(days=int(rnd.random() * 38 * 365))
        grant = filing + dt.timedelta(days=600 + int(rnd.random() * 1500))
        pub_key = f"{cc}-{base + i}"
        fam = f"SYN{i // 2:08d}"
        pubs.append((pub_key, filing))
        batch.publications.append({
            "pub_key": pub_key, "pub_number": f"{pub_key}-{kind}", "number_as_received": f"{cc}{base + i}{kind}",
            "country": cc, "doc_number": str(base + i), "kind": kind, "kinds_seen": [kind], "is_grant": True,
            "title": f"SYNTHETIC record {i}: R-T-B sintered magnet variant {rnd.randint(1, 999)}",
            "abstract": "SYNTHETIC test data, not a patent.", "application_number": f"{cc}SYN{i}",
            "filing_date": filing, "priority_date": filing, "publication_date": filing + dt.timedelta(days=550),
            "grant_date": grant, "family_id": fam, "family_id_source": "docdb", "in_landscape": True,
            "landscape_reason": "synthetic", "relevance": None, "source": SOURCE,
            "source_url": None,
        })
        h = rnd.choices(range(holders), weights=weights)[0]
        batch.parties.append({"pub_key": pub_key, "role": "original_assignee", "seq": 1, "name_as_written": names[h],
                              "country": ["JP", "CN", "US", "DE", "KR"][h % 5], "source": SOURCE, "source_field": "synthetic"})
        for s, sym in enumerate(rnd.sample(CPC_POOL, k=rnd.randint(1, 3)), start=1):
            batch.classifications.append({"pub_key": pub_key, "scheme": "CPC", "symbol": sym, "symbol_as_written": sym,
                                          "position": s, "version": None, "source": SOURCE})
    order = sorted(range(n), key=lambda k: pubs[k][1])
    indeg = [1] * n
    for pos, k in enumerate(order[1:], start=1):
        older = order[:pos]
        m = min(len(older), max(0, int(rnd.expovariate(1 / cites_per_pub))))
        cited = set(rnd.choices(older, weights=[indeg[j] for j in older], k=m)) if m else set()
        for j in cited:
            indeg[j] += 1
            batch.citations.append({"citing_pub_key": pubs[k][0], "cited_as_written": pubs[j][0], "cited_pub_key": pubs[j][0],
                                    "cited_year": pubs[j][1].year, "category": None, "reference_type": "patent",
                                    "cited_by": None, "source": SOURCE, "source_url": None})
    batch.families = [{"family_id": f, "id_source": "docdb", "source": SOURCE, "note": "SYNTHETIC"}
                      for f in sorted({p["family_id"] for p in batch.publications})]
    batch.rows_read = n
    return batch


def build_warehouse(path: Path, n: int, *, seed: int = 1, landscape: Landscape | None = None) -> Path:
    """A migrated warehouse holding ``n`` SYNTHETIC publications (not analyzed)."""
    _ = landscape or load_landscape()
    batch = make_batch(n, seed=seed)
    with writer(path, command="synthetic warehouse") as con:
        migrations.apply(con)
        run_id = start_run(con, SOURCE, f"synthetic warehouse n={n} seed={seed}")
        save_batch(con, batch, run_id=run_id)
        finish_run(con, run_id, "ok", read=n, loaded=n)
    return path
