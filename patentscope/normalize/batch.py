"""The canonical rows every normalizer produces and the warehouse saves.

A :class:`Batch` holds plain dict rows per warehouse table (column names as in
``warehouse/migrations/0001_core.sql``) plus the rows that were rejected. Normalizers are pure:
payload in, Batch out; only ``warehouse.save`` writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import RowError

Row = dict[str, Any]

# Child tables replaced per (source, pub_key) on save, with the key column naming the pub.
CHILD_TABLES: dict[str, str] = {
    "field_values": "pub_key",
    "parties": "pub_key",
    "classifications": "pub_key",
    "citations": "citing_pub_key",
    "priority_claims": "pub_key",
    "legal_events": "pub_key",
    "related_publications": "pub_key",
    "term_inputs": "pub_key",
}


@dataclass
class Batch:
    source: str
    publications: list[Row] = field(default_factory=list)
    field_values: list[Row] = field(default_factory=list)
    parties: list[Row] = field(default_factory=list)
    classifications: list[Row] = field(default_factory=list)
    citations: list[Row] = field(default_factory=list)
    priority_claims: list[Row] = field(default_factory=list)
    legal_events: list[Row] = field(default_factory=list)
    related_publications: list[Row] = field(default_factory=list)
    term_inputs: list[Row] = field(default_factory=list)
    families: list[Row] = field(default_factory=list)
    licensing_facts: list[Row] = field(default_factory=list)
    holder_declared_patents: list[Row] = field(default_factory=list)
    rejected: list[RowError] = field(default_factory=list)
    rows_read: int = 0

    def table(self, name: str) -> list[Row]:
        rows: list[Row] = getattr(self, name)
        return rows

    def counts(self) -> dict[str, int]:
        names = ["publications", *CHILD_TABLES, "families", "licensing_facts", "holder_declared_patents"]
        return {n: len(self.table(n)) for n in names}
