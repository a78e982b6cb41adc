"""The source registry: every source `ingest --all`, `status` and the CLI know, in one list.

A source is one module under ``patentscope/ingest/`` that declares

- ``OPTIONS: dict[str, Option]`` — the keys of its ``[sources.NAME]`` table in patentscope.toml
  (type, default, range, help); ``enabled`` is added for every source;
- ``run(job, options, res) -> None`` — one incremental run inside ``ingest --all``: ``job`` is the
  :class:`patentscope.jobs.Job` (warehouse, landscape, logger, saved position, clocks and
  transports for tests), ``options`` the validated table, ``res`` the step's
  :class:`patentscope.jobs.StepResult` (counts, notes, the new saved position);
- optionally ``check(options, where) -> None`` — cross-key rules, raising ConfigError.

and one line in :data:`SOURCES` below. The order of :data:`SOURCES` is the order a job runs
them: the worst-ranked first (warehouse/save.py SOURCE_RANK), bulk before the ODP search (its
default start is the bulk release's last grant date), the USPTO assignment files after it (their events attach to the
publications the sources before them loaded), the maintenance-fee file last (it keeps
the events of US patents already in the warehouse). docs/development.md walks through adding one.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class Option:
    """One key of a ``[sources.NAME]`` table."""

    kind: str                      # bool, int, float, str, date, strs, choice; any (checked by the source's check())
    default: Any = None
    lo: int | None = None
    hi: int | None = None
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class Source:
    name: str           # the [sources.NAME] table, the job step and the CLI's --source value
    ingest_source: str  # the ``source`` its ingestor writes in ingest_runs / ingest_state / publications
    module: str         # the module declaring OPTIONS and run()

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    def options(self) -> dict[str, Option]:
        opts: dict[str, Option] = self.load().OPTIONS
        return {"enabled": Option("bool", True), **opts}


# THE list of sources, in the order a job runs them. Adding a source = its module + one line here.
SOURCES: tuple[Source, ...] = (
    Source("sample", "sample", "patentscope.ingest.sample"),
    Source("file", "file", "patentscope.ingest.files"),
    Source("bigquery", "bigquery", "patentscope.ingest.bigquery_job"),
    Source("ops", "ops", "patentscope.ingest.ops"),
    Source("uspto_bulk", "bulk", "patentscope.ingest.us_bulk_job"),
    Source("uspto_odp", "odp", "patentscope.ingest.us_odp"),
    Source("assignments", "assignments", "patentscope.ingest.assignments"),
    Source("maintfee", "maintfee", "patentscope.ingest.maintfee"),
)

BY_NAME: dict[str, Source] = {s.name: s for s in SOURCES}
ORDER: tuple[str, ...] = tuple(s.name for s in SOURCES)
# configured source name -> the ``source`` its ingestor writes (the one copy of this map)
INGEST_SOURCE: dict[str, str] = {s.name: s.ingest_source for s in SOURCES}
