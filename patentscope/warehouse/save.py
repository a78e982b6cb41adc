"""Saving normalized batches: the only code that writes patent rows.

One batch = one transaction: child rows of the batch's source for the batch's publications
are replaced, publications are upserted on their natural key, quarantined rows, the raw
landing record and the source's cursor are written with them, and it all commits together
or not at all. Saving the same batch twice leaves the warehouse as saving it once did.

Across sources a publication row carries the values of the best-ranked source that has them
(``SOURCE_RANK``; lower wins): a better or equal source's non-empty values replace the row's,
a worse one only fills fields that are still empty; no save empties a field. Each source's own child rows are kept apart
(``source`` is part of every child table's key).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import duckdb
import polars as pl

from ..errors import RowError, WarehouseError
from ..normalize.batch import CHILD_TABLES, Batch, Row
from ..redact import scrub as _scrub  # run records never hold a secret
from .connection import keys, register, transaction

# Lower rank wins when two sources disagree on a publication field.
SOURCE_RANK = {"bulk": 1, "odp": 1, "ops": 2, "file": 3, "bigquery": 3, "sample": 4}

_DUCK_TO_POLARS: dict[str, Any] = {
    "VARCHAR": pl.Utf8, "DATE": pl.Date, "BOOLEAN": pl.Boolean, "INTEGER": pl.Int32,
    "BIGINT": pl.Int64, "TIMESTAMP": pl.Datetime("us"), "VARCHAR[]": pl.List(pl.Utf8), "DOUBLE": pl.Float64,
}


class Laps:
    """Seconds per named part of a run, added up into ``timings`` (None: nothing measured); each
    call ends the part that began at the previous call (or at creation)."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings, self.start = timings, time.perf_counter()

    def __call__(self, name: str) -> None:
        end = time.perf_counter()
        if self.timings is not None:
            self.timings[name] = round(self.timings.get(name, 0.0) + end - self.start, 3)
        self.start = end


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    # duckdb_columns() is information_schema.columns without its view layer: the same rows, half the time
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE table_name = $t AND schema_name = 'main' AND NOT internal ORDER BY column_index",
        {"t": table},
    ).fetchall()
    if not rows:
        raise WarehouseError(f"table {table} does not exist; run `patentscope migrate` first")
    return [(r[0], r[1]) for r in rows]


def to_frame(con: duckdb.DuckDBPyConnection, table: str, rows: list[Row]) -> pl.DataFrame:
    """Rows -> a polars frame typed exactly like the warehouse table (missing keys are NULL)."""
    cols = table_columns(con, table)
    schema = {name: _DUCK_TO_POLARS.get(typ, pl.Utf8) for name, typ in cols}
    unknown = {k for r in rows for k in r} - schema.keys()
    if unknown:
        raise WarehouseError(f"rows for {table} carry unknown column(s) {sorted(unknown)}")
    data = {name: [r.get(name) for r in rows] for name in schema}
    return pl.DataFrame(data, schema=schema)


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[Row] | str, conflict: str = "", *,
            replaced: str | set[str] | None = None) -> None:
    """Insert dict rows, or the rows of a staged table or view (by column name), into ``table``;
    a child table's key is checked first (:func:`require_keys` with ``replaced``)."""
    if not rows:
        return
    if table in CHILD_KEYS:
        require_keys(con, table, rows, replaced=replaced)
    if isinstance(rows, str):
        have = _staged_columns(con, rows)
        cols = ", ".join(c for c, _ in table_columns(con, table) if c in have)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {rows} {_key_order(con, table, have)} {conflict}"
                    ).fetchall()
        return
    frame = to_frame(con, table, rows)
    cols = ", ".join(frame.columns)
    register(con, "_incoming", frame)
    try:
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _incoming {conflict}").fetchall()
    finally:
        con.unregister("_incoming")


def landscape_expr(column: str, wins: str) -> str:
    """ON CONFLICT expression for ``in_landscape`` / ``landscape_reason``: membership follows the
    landscape as the same or a better source last computed it (so a narrowed landscape takes
    records out), except that a curator's flag (reason 'curated:...', set by the sample format)
    survives other sources; a worse source can only add a record."""
    curated = "(coalesce(publications.landscape_reason, '') LIKE 'curated:%' AND excluded.source <> 'sample')"
    if column == "in_landscape":
        return (f"CASE WHEN {wins} THEN excluded.in_landscape OR {curated} "
                "ELSE publications.in_landscape OR excluded.in_landscape END")
    return (f"CASE WHEN {wins} THEN CASE WHEN excluded.in_landscape THEN excluded.landscape_reason "
            f"WHEN {curated} THEN publications.landscape_reason ELSE excluded.landscape_reason END "
            "ELSE coalesce(publications.landscape_reason, excluded.landscape_reason) END")


def _publication_sets(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """The ``ON CONFLICT (pub_key) DO UPDATE SET`` list of the precedence upsert (:func:`publication_sets`)."""
    return publication_sets([c for c, _ in table_columns(con, "publications")], source)


def publication_sets(cols: list[str], source: str, *, snapshot: bool = False) -> str:
    """The ``ON CONFLICT (pub_key) DO UPDATE SET`` list of the precedence upsert over ``cols``. A
    better- or equally-ranked source (the same source included): its values win, and where it has
    none the row keeps what it had. A worse-ranked source fills only what is empty. So nothing a
    source supplied is lost by a later save (a source cannot clear a value it showed before; every
    value stays in field_values). ``in_landscape`` and ``landscape_reason`` follow the
    same-or-better source's latest judgement (so a narrowed landscape takes records out); a worse
    source can only add a record to the landscape.

    ``snapshot``: the source delivers complete snapshots (the bulk release): on rows it already
    carries, the new values replace the old ones, empty ones included."""
    existing_rank = "CASE publications.source " + " ".join(
        f"WHEN '{s}' THEN {r}" for s, r in SOURCE_RANK.items()) + " ELSE 9 END"
    wins = f"({SOURCE_RANK.get(source, 9)} <= {existing_rank})"
    same = "WHEN publications.source = excluded.source THEN excluded.{c} " if snapshot else ""
    sets = []
    for c in cols:
        if c == "pub_key":
            continue
        if c in ("in_landscape", "landscape_reason"):
            expr = landscape_expr(c, wins)
        elif c == "source":
            expr = f"CASE WHEN {wins} THEN excluded.source ELSE publications.source END"
        else:
            expr = (f"CASE {same.format(c=c)}WHEN {wins} THEN coalesce(excluded.{c}, publications.{c}) "
                    f"ELSE coalesce(publications.{c}, excluded.{c}) END")
        sets.append(f"{c} = {expr}")
    return ", ".join(sets)


def _upsert_publications(con: duckdb.DuckDBPyConnection, staged: str, source: str) -> None:
    """Upsert the staged publications on pub_key with the precedence of :func:`_publication_sets`.
    Rows the warehouse already holds go through ``ON CONFLICT``; the others (all of them on a
    first load) through a plain ``INSERT`` (the same rows, several times faster in DuckDB)."""
    names = ", ".join(c for c, _ in table_columns(con, "publications") if c in _staged_columns(con, staged))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _pub_known AS SELECT * FROM {staged} SEMI JOIN publications USING (pub_key)"
                ).fetchall()
    try:
        con.execute(f"INSERT INTO publications ({names}) SELECT {names} FROM _pub_known "
                    f"ON CONFLICT (pub_key) DO UPDATE SET {_publication_sets(con, source)}").fetchall()
        con.execute(f"INSERT INTO publications ({names}) SELECT {names} FROM {staged} "
                    "ANTI JOIN _pub_known USING (pub_key) ORDER BY pub_key").fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS _pub_known").fetchall()


def _key_order(con: duckdb.DuckDBPyConnection, table: str, have: set[str]) -> str:
    """``ORDER BY`` the table's primary key (when the staged rows carry it): DuckDB maintains the
    key's index faster for rows that arrive in key order (about a quarter less time for 1M
    citation-like rows; benchmarks/README.md, bigquery_landing.py)."""
    key = next((cols for kind, cols in keys(con, table) if kind == "PRIMARY KEY"), [])
    return "ORDER BY " + ", ".join(key) if key and set(key) <= have else ""


def _staged_columns(con: duckdb.DuckDBPyConnection, staged: str) -> set[str]:
    return {d[0] for d in con.execute(f"SELECT * FROM {staged} LIMIT 0").description}


def quarantine_rows(errors: list[RowError], run_id: int, source: str) -> list[Row]:
    return [
        {"run_id": run_id, "source": source, "file": e.file, "line": e.line, "col": e.column,
         "reason": e.reason, "raw_row": None}
        for e in errors
    ]


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[Row], conflict: str = "") -> None:
    """Insert dict rows into a warehouse table (typed like the table), inside the caller's
    transaction; ``conflict`` is an optional ``ON CONFLICT ...`` clause."""
    _insert(con, table, rows, conflict)


FAMILIES_CONFLICT = "ON CONFLICT (family_id) DO NOTHING"
LICENSING_CONFLICT = (
    "ON CONFLICT (fact_id) DO UPDATE SET subject = excluded.subject, statement = excluded.statement, "
    "date_of_statement = excluded.date_of_statement, source_url = excluded.source_url, source_type = excluded.source_type")
DECLARED_CONFLICT = (
    "ON CONFLICT (holder, number_as_written) DO UPDATE SET office = excluded.office, pub_key = excluded.pub_key, "
    "source_url = excluded.source_url, source_statement = excluded.source_statement")
# The key of each child table: no two rows share one. The tables carry no index for it (an
# index costs DuckDB more than the insert; migration 0020_child_keys): every write checks it
# with require_keys, inside its transaction.
CHILD_KEYS: dict[str, tuple[str, ...]] = {
    "field_values": ("pub_key", "field", "source", "source_record"),
    "parties": ("pub_key", "role", "source", "seq"),
    "classifications": ("pub_key", "scheme", "symbol", "source"),
    "citations": ("citing_pub_key", "cited_as_written", "source"),
    "priority_claims": ("pub_key", "source", "seq"),
    "legal_events": ("pub_key", "jurisdiction", "event_date", "event_code", "source"),
    "related_publications": ("pub_key", "related_as_written", "relation", "source"),
    "term_inputs": ("pub_key", "source"),
}


def require_keys(con: duckdb.DuckDBPyConnection, table: str, rows: str | list[Row], *,
                 replaced: str | set[str] | None = None, compare: bool = True) -> None:
    """Refuse rows about to be inserted into the child ``table`` (dict rows, or the name of a table
    or view on ``con``) when two of them share its key (:data:`CHILD_KEYS`) or one shares it with
    a row the table keeps.

    Call it inside the write's transaction, after the rows the write replaces were deleted.
    ``replaced``: the publications whose rows of this source were deleted (a relation with their
    ``pub_key``, or for dict rows the set of keys): their new rows cannot collide with old ones,
    the other rows are compared with the table. ``compare=False``: the caller deleted every row
    of the source (nothing to compare). Raises WarehouseError naming the table, the key and one
    offending key value."""
    key = CHILD_KEYS[table]
    cols = ", ".join(key)
    pub = CHILD_TABLES[table]
    if isinstance(rows, str):
        dup = con.execute(f"SELECT {cols}, count(*) FROM {rows} GROUP BY ALL HAVING count(*) > 1 LIMIT 1").fetchall()
        dups = (tuple(dup[0][:-1]), dup[0][-1]) if dup else None
    else:  # a batch of dict rows is small: counted here, without a query per table
        seen: dict[tuple[Any, ...], int] = {}
        for r in rows:
            k = tuple(r.get(c) for c in key)
            seen[k] = seen.get(k, 0) + 1
        dups = next(((k, n) for k, n in seen.items() if n > 1), None)
    if dups:
        raise WarehouseError(f"{table}: {dups[1]} rows of one write share the key ({cols}) = {dups[0]!r}; "
                             "a key must be unique")
    if not compare:
        return
    if isinstance(rows, str):
        outside = f"SELECT {cols} FROM {rows}" + (f" WHERE {pub} NOT IN (SELECT pub_key FROM {replaced})"
                                                  if replaced else "")
        if replaced and not con.execute(f"SELECT count(*) FROM ({outside})").fetchall()[0][0]:
            return  # the usual case: every row belongs to a publication of the write
        _require_no_clash(con, table, outside)
        return
    others = [r for r in rows if not isinstance(replaced, set) or r.get(pub) not in replaced]
    if others:
        register(con, "_others", to_frame(con, table, others).select(key))
        try:
            _require_no_clash(con, table, "SELECT * FROM _others")
        finally:
            con.unregister("_others")


def _require_no_clash(con: duckdb.DuckDBPyConnection, table: str, rows: str) -> None:
    """The part of :func:`require_keys` that compares rows (a query) with the rows ``table`` keeps."""
    cols = ", ".join(CHILD_KEYS[table])
    pub = CHILD_TABLES[table]
    clash = con.execute(
        f"SELECT {cols} FROM ({rows}) SEMI JOIN (SELECT {cols} FROM {table} "
        f"WHERE {pub} IN (SELECT {pub} FROM ({rows}))) USING ({cols}) LIMIT 1").fetchall()
    if clash:
        raise WarehouseError(f"{table}: a row of this write has the key ({cols}) = {tuple(clash[0])!r} of a row the "
                             "warehouse keeps (its publication is not among the write's publications)")


# every table a batch can carry, in the order of Batch.counts()
BATCH_TABLES = ("publications", *CHILD_TABLES, "families", "licensing_facts", "holder_declared_patents")


def save_batch(
    con: duckdb.DuckDBPyConnection,
    batch: Batch,
    *,
    run_id: int,
    cursor: dict[str, Any] | None = None,
    landing: list[Row] | None = None,
    state_key: str | None = None,
    extra: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> dict[str, int]:
    """Write one batch of dict rows in one transaction; returns row counts written per table.

    ``state_key``: the ingest_state key of the cursor (default: the batch's source).
    ``extra``: more writes of the same batch (e.g. a source's own tables, with
    :func:`insert_rows`), run inside the same transaction before the cursor is written."""
    source = batch.source
    for name in CHILD_TABLES:
        if any(r.get("source", source) != source for r in batch.table(name)):
            raise WarehouseError(f"batch of source {source} carries {name} rows of another source")
    data: dict[str, list[Row] | str] = {name: batch.table(name) for name in BATCH_TABLES if name != "publications"}
    if batch.publications:
        register(con, "_batch_publications", to_frame(con, "publications", batch.publications))
        data["publications"] = "_batch_publications"
    try:
        _write(con, source, data, run_id=run_id, rejected=batch.rejected, cursor=cursor, landing=landing,
               state_key=state_key, extra=extra)
    finally:
        if batch.publications:
            con.unregister("_batch_publications")
    return batch.counts()


def save_frames(
    con: duckdb.DuckDBPyConnection,
    source: str,
    staged: Mapping[str, str],
    *,
    run_id: int,
    rejected: list[RowError] | None = None,
    cursor: dict[str, Any] | None = None,
    landing: list[Row] | None = None,
    state_key: str | None = None,
    extra: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    timings: dict[str, float] | None = None,
) -> dict[str, int]:
    """:func:`save_batch` for a batch held as staged relations (set operations only, no Python
    per row); returns row counts per table.

    ``staged``: warehouse table -> the name of a table or view on ``con`` with (some of) its
    columns, matched by name: publications, the CHILD_TABLES, families, licensing_facts,
    holder_declared_patents (a table left out has no rows). The rules are those of
    :func:`save_batch` (the same code writes both): the source's child rows of the staged
    publications are replaced, publications upserted with the precedence of ``SOURCE_RANK``,
    families added when new; quarantine, landing records, ``extra`` and the cursor commit with
    them or not at all. ``timings`` receives seconds per part (``write_<table>``, ``write_commit``)."""
    unknown = set(staged) - set(BATCH_TABLES)
    if unknown:
        raise WarehouseError(f"save_frames cannot write table(s) {sorted(unknown)}")
    for name in CHILD_TABLES:
        if name in staged and con.execute(f"SELECT count(*) FROM {staged[name]} WHERE source IS DISTINCT FROM $s",
                                          {"s": source}).fetchall()[0][0]:
            raise WarehouseError(f"batch of source {source} carries {name} rows of another source")
    counts = {name: int(con.execute(f"SELECT count(*) FROM {staged[name]}").fetchall()[0][0]) if name in staged else 0
              for name in BATCH_TABLES}
    _write(con, source, dict(staged), run_id=run_id, rejected=rejected, cursor=cursor, landing=landing,
           state_key=state_key, extra=extra, timings=timings)
    return counts


def _write(
    con: duckdb.DuckDBPyConnection,
    source: str,
    data: Mapping[str, list[Row] | str],
    *,
    run_id: int,
    rejected: list[RowError] | None,
    cursor: dict[str, Any] | None,
    landing: list[Row] | None,
    state_key: str | None,
    extra: Callable[[duckdb.DuckDBPyConnection], None] | None,
    timings: dict[str, float] | None = None,
) -> None:
    """The one transaction of a save; ``data`` maps a table to dict rows or a staged relation
    (publications always staged, so the replaced child rows are one DELETE per table)."""
    lap = Laps(timings)
    with transaction(con):
        pubs = data.get("publications")
        if isinstance(pubs, str):
            for name, key in CHILD_TABLES.items():
                con.execute(f"DELETE FROM {name} WHERE source = $s AND {key} IN (SELECT pub_key FROM {pubs})",
                            {"s": source}).fetchall()
            lap("write_delete")
            _upsert_publications(con, pubs, source)
            lap("write_publications")
        # the publications whose child rows were replaced (none without staged publications): the
        # staged relation, or for dict rows (checked in Python) its keys, read once
        keyset: set[str] | None = None
        for name in CHILD_TABLES:
            rows = data.get(name) or []
            replaced: str | set[str] | None = None
            if isinstance(pubs, str) and isinstance(rows, list) and rows:
                if keyset is None:
                    keyset = {r[0] for r in con.execute(f"SELECT pub_key FROM {pubs}").fetchall()}
                replaced = keyset
            elif isinstance(pubs, str):
                replaced = pubs
            _insert(con, name, rows, replaced=replaced)
            if data.get(name):
                lap(f"write_{name}")
        _insert(con, "families", data.get("families") or [], FAMILIES_CONFLICT)
        _insert(con, "licensing_facts", data.get("licensing_facts") or [], LICENSING_CONFLICT)
        _insert(con, "holder_declared_patents", data.get("holder_declared_patents") or [], DECLARED_CONFLICT)
        if extra is not None:
            extra(con)
        _insert(con, "quarantine", quarantine_rows(rejected or [], run_id, source))
        _insert(con, "raw_landing", landing or [], "ON CONFLICT (payload_sha256) DO NOTHING")
        if cursor is not None:
            write_cursor(con, state_key or source, cursor, run_id)
        lap("write_rest")
    lap("write_commit")


def write_cursor(con: duckdb.DuckDBPyConnection, key: str, cursor: dict[str, Any], run_id: int) -> None:
    """Store a source's incremental cursor; call it inside the transaction of the rows it describes."""
    con.execute(
        "INSERT INTO ingest_state VALUES ($s, $c, $t, $r) ON CONFLICT (source) DO UPDATE SET "
        "cursor = excluded.cursor, updated_at = excluded.updated_at, run_id = excluded.run_id",
        {"s": key, "c": json.dumps(cursor, sort_keys=True, default=str), "t": now(), "r": run_id},
    ).fetchall()


def read_cursor(con: duckdb.DuckDBPyConnection, key: str, *, version: object = None) -> dict[str, Any] | None:
    """A source's stored cursor (what :func:`write_cursor` saved), or None when there is none, it
    is not a JSON object, or ``version`` is given and the cursor carries another one (a cursor of
    an older layout is not trusted: the source starts over, and its upserts make that safe)."""
    rows = con.execute("SELECT cursor FROM ingest_state WHERE source = $s", {"s": key}).fetchall()
    if not rows or not rows[0][0]:
        return None
    try:
        data = json.loads(rows[0][0])
    except ValueError:
        return None
    if not isinstance(data, dict) or (version is not None and data.get("version") != version):
        return None
    return data


def start_run(con: duckdb.DuckDBPyConnection, source: str, command: str) -> int:
    rows = con.execute(
        "INSERT INTO ingest_runs (source, command, started_at, status) VALUES ($s, $c, $t, 'running') RETURNING run_id",
        {"s": source, "c": command, "t": now()},
    ).fetchall()
    return int(rows[0][0])


def finish_run(
    con: duckdb.DuckDBPyConnection, run_id: int, status: str, *, read: int = 0, loaded: int = 0,
    rejected: int = 0, message: str | None = None,
) -> None:
    con.execute(
        "UPDATE ingest_runs SET finished_at = $t, status = $st, rows_read = $r, rows_loaded = $l, "
        "rows_rejected = $x, message = $m WHERE run_id = $id",
        {"t": now(), "st": status, "r": read, "l": loaded, "x": rejected, "m": _scrub(message) if message else message,
         "id": run_id},
    ).fetchall()
