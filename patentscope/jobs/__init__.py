"""``patentscope ingest --all``: every configured source, incrementally, then ``analyze`` (for cron).

What a job does, in order (docs/jobs.md is the user's page):

1. Reads the ``[sources.*]`` tables of patentscope.toml (:func:`load_plan`) and refuses the whole
   job, before touching the warehouse, when one is malformed (unknown source or key, wrong type):
   exit 2.
2. Takes the single-writer lock ``<warehouse>.lock`` (:func:`~patentscope.warehouse.connection.writer_lock`)
   for the whole job, waiting up to ``PATENTSCOPE_LOCK_WAIT`` (or ``[jobs] lock_wait``) seconds:
   exit 4 when another writer keeps it. The DuckDB file itself is opened only for writes (the
   job's own bookkeeping and each ingestor's batches), so readers get in between.
3. Runs each enabled source in the order of :data:`ORDER` (worst-ranked source first, so a
   better source's values are written last): ``sample`` and ``file`` reload a folder or file
   only when its content (or the landscape) changed; ``ops`` and ``uspto_odp`` search a date
   window that starts ``overlap_days`` before the end of the last completed window (upserts
   on natural keys make the overlap safe) and resume an interrupted window from the
   ingestor's own cursor; ``uspto_bulk`` and ``maintfee`` load the newest release or file and
   skip one already loaded. A source that fails is recorded and the job goes on.
4. Runs ``analyze`` unless ``--no-analyze`` (or ``[jobs] analyze = false``) or every source failed.

Exit codes (:func:`run_all`): 0 ok; 1 every source failed; 2 configuration error (the file is
invalid, or a source's key is missing or refused: the other sources still ran); 3 the
warehouse cannot be opened or migrated; 4 another writer holds the lock; 6 partial failure
(some steps failed, the others are saved).

Every step writes one log line on stderr (plain text, or one JSON object per line with
``--json``: ts, level, source, step, status, counts, duration, error, message); on a terminal
the ingestors' progress messages update one transient line. The run is recorded in
``job_runs`` / ``job_steps`` (migration 0012) beside the ingestors' own ``ingest_runs`` rows.
Nothing secret reaches a log line or the warehouse: messages pass through :func:`scrub`.

The package: :mod:`.plan` (the config tables, validated against each source's declared
options), :mod:`.log` (the log lines and :func:`scrub`), :mod:`.run` (bookkeeping, the steps,
the exit code). Each source's own work is its ``run`` in ``patentscope/ingest/<source>.py``,
found through ``patentscope/ingest/registry.py``.
"""

from __future__ import annotations

from .log import JobLog, scrub
from .plan import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_WAREHOUSE,
    INGEST_SOURCE,
    JOB_KEYS,
    ORDER,
    RETIRED,
    Plan,
    SourcePlan,
    load_plan,
)
from .run import Job, StepFailed, StepResult, _kind, run_all

__all__ = ["EXIT_CONFIG", "EXIT_FAILED", "EXIT_LOCKED", "EXIT_OK", "EXIT_PARTIAL", "EXIT_WAREHOUSE", "INGEST_SOURCE",
           "JOB_KEYS", "ORDER", "RETIRED", "Job", "JobLog", "Plan", "SourcePlan", "StepFailed", "StepResult", "_kind",
           "load_plan", "run_all", "scrub"]
