"""The warehouse toolkit: every table idiom written once (the DuckDB counterpart of sqlite-utils'
``Database``).

- :func:`tables` / :func:`require_tables` — which tables and views exist; a clear error naming
  the missing ones and the migration that creates them.
- :func:`transaction` — BEGIN ... COMMIT / ROLLBACK; an inner ``transaction()`` joins the outer
  one (DuckDB has no SAVEPOINT; see :func:`patentscope.warehouse.connection.transaction`).
- :func:`replace_tables` — replace the rows of several tables from polars frames or DuckDB
  relations in one transaction (all of them or none).
- :func:`filling` — replace every row of one table with rows a block inserts piece by piece
  (results computed in batches), without staging them all in memory first.
- :func:`recorded_run` — the ``ingest_runs`` record of one run: started on entry, finished on
  exit with its counts, 'failed' with the error's message when the block raises.
- :func:`writer` — the single-writer lock, an open read-write connection and, by default, the
  pending migrations applied.

Everything that writes the warehouse uses these; hand-written ``BEGIN``/``COMMIT`` is a bug
(a second ``BEGIN`` inside an open DuckDB transaction aborts it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from ..errors import WarehouseError
from . import connection
from .connection import in_transaction, keys, register, tables, transaction
from .save import finish_run, start_run

__all__ = ["Run", "filling", "in_transaction", "recorded_run", "replace_tables", "require_tables", "tables",
           "transaction", "writer"]


def require_tables(con: duckdb.DuckDBPyConnection, names: Iterable[str], *, migration: str | None = None) -> None:
    """Raise WarehouseError naming every table of ``names`` the warehouse lacks (and the
    migration that creates them, when given), with what to do: run ``patentscope migrate``."""
    have = tables(con)
    missing = [n for n in names if n not in have]
    if missing:
        which = f" (migration {migration} not applied)" if migration else ""
        raise WarehouseError(f"the warehouse has no {', '.join(missing)} table(s){which}; run `patentscope migrate` first")


def replace_tables(
    con: duckdb.DuckDBPyConnection,
    frames: Mapping[str, pl.DataFrame | duckdb.DuckDBPyRelation],
    *,
    where: str | None = None,
    params: dict[str, object] | None = None,
    what: str | None = None,
) -> dict[str, int]:
    """Replace the rows of each table with its frame (columns matched by name; columns the frame
    lacks get their defaults or NULL), all in one transaction: either every table is replaced or
    none is. ``where`` (with bound ``params``) limits the rows deleted, e.g. ``"scenario = $s"``
    to replace one scenario's rows. Inside an outer :func:`transaction` it joins that one.
    Returns the rows inserted per table. A failed statement raises WarehouseError naming
    ``what`` (default: the tables) and saying it was rolled back."""
    require_tables(con, frames)
    counts: dict[str, int] = {}
    views: list[str] = []
    try:
        with transaction(con):
            for table, data in frames.items():
                view = f"_replace_{table}"
                # the frame is read once into a temporary table: every statement below reads it,
                # and a registered relation runs again on each read
                register(con, f"{view}_frame", data)
                views.append(view)
                try:
                    con.execute(f"CREATE OR REPLACE TEMP TABLE {view} AS SELECT * FROM {view}_frame").fetchall()
                finally:
                    con.unregister(f"{view}_frame")
                key = _replace_key(con, table, view) if where is None else None
                if key:
                    # same result as DELETE + INSERT, without DuckDB's slow path for re-inserting
                    # keys deleted in the same transaction (300k rows: 11.4 s -> 0.3 s)
                    con.execute(f"INSERT OR REPLACE INTO {table} BY NAME SELECT * FROM {view}").fetchall()
                    on = " AND ".join(f'{table}."{c}" = _gone."{c}"' for c in key)
                    cols = ", ".join(f'"{c}"' for c in key)
                    con.execute(f"DELETE FROM {table} USING (SELECT {cols} FROM {table} ANTI JOIN {view} USING ({cols})) "
                                f"AS _gone WHERE {on}").fetchall()
                elif where is not None or not _swap(con, table, view):
                    con.execute(f"DELETE FROM {table}" + (f" WHERE {where}" if where else ""), params or {}).fetchall()
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}").fetchall()
                counts[table] = int(con.execute(f"SELECT count(*) FROM {view}").fetchall()[0][0])
    except duckdb.Error as e:
        label = what or f"replacing {', '.join(frames)}"
        raise WarehouseError(f"{label} failed and was rolled back ({str(e).splitlines()[0]})") from None
    finally:
        for view in views:
            try:
                con.execute(f"DROP TABLE IF EXISTS temp.{view}").fetchall()
            except duckdb.Error:
                pass
    return counts


# below this many rows DELETE + INSERT is as fast as the swap and takes fewer statements
SWAP_MIN_ROWS = 20_000


def _swap(con: duckdb.DuckDBPyConnection, table: str, view: str) -> bool:
    """Replace all rows of a keyed ``table`` by filling a new table made from its own DDL and
    renaming it into place (inside the caller's transaction: a failure rolls the swap back too).
    For tables the upsert path cannot take (nested columns): DELETE + INSERT of the same keys in
    one transaction takes DuckDB's slow path (expiry_results, 148k SYNTHETIC rows: 5 s at COMMIT).
    Views read the table by name, so they see the new one. Not taken (False) for fewer than
    :data:`SWAP_MIN_ROWS` rows, for a table without a key (DELETE + INSERT is fast there) or one
    :func:`_twin` cannot copy."""
    table_keys = keys(con, table)
    if not table_keys or con.execute(f"SELECT count(*) FROM {view}").fetchall()[0][0] < SWAP_MIN_ROWS:
        return False
    new = _twin(con, table)
    if new is None:
        return False
    key = next((c for kind, c in table_keys if kind == "PRIMARY KEY"), [])
    view_cols = {r[0] for r in con.execute(f"DESCRIBE {view}").fetchall()}
    order = " ORDER BY " + ", ".join(f'"{c}"' for c in key) if key and set(key) <= view_cols else ""
    con.execute(f"INSERT INTO {new} BY NAME SELECT * FROM {view}{order}").fetchall()
    _take_name(con, table, new)
    return True


def _twin(con: duckdb.DuckDBPyConnection, table: str, new: str | None = None) -> str | None:
    """A new empty table ``new`` (default ``main._swap_<table>``) made from ``table``'s own DDL
    (columns, defaults, constraints), its qualified name; None for a DDL this cannot read, and,
    for the default name (a table that takes the old one's place), for a table with an index
    of its own (it would be lost)."""
    if new is None and con.execute("SELECT count(*) FROM duckdb_indexes() WHERE schema_name = 'main' "
                                   "AND table_name = $t", {"t": table}).fetchall()[0][0]:
        return None
    row = con.execute("SELECT sql FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = $t AND NOT temporary",
                      {"t": table}).fetchall()
    m = re.match(rf'CREATE TABLE ("?){re.escape(table)}\1\s*\(', row[0][0]) if row else None
    if m is None:
        return None
    new = new or f"main._swap_{table}"
    con.execute(f"DROP TABLE IF EXISTS {new}").fetchall()
    con.execute(("CREATE TEMP TABLE " if new.startswith("temp.") else "CREATE TABLE ") + new.split(".", 1)[-1] + "("
                + row[0][0][m.end():]).fetchall()
    return new


def _take_name(con: duckdb.DuckDBPyConnection, table: str, new: str) -> None:
    con.execute(f"DROP TABLE main.{table}").fetchall()
    con.execute(f"ALTER TABLE {new} RENAME TO {table}").fetchall()


@contextmanager
def filling(con: duckdb.DuckDBPyConnection, table: str, *, what: str | None = None) -> Iterator[str]:
    """Replace every row of ``table`` with the rows the block inserts into the table whose name
    it yields (``INSERT INTO {name} BY NAME ...``, as many statements as it likes), in one
    transaction (joining an outer one): the old rows stay until the block ends without error.

    For results computed in batches: each batch goes straight into a new table made from
    ``table``'s DDL, which takes the name at the end (as :func:`replace_tables`' swap), instead
    of every batch first staged in memory and then copied (expiry_results at 1M SYNTHETIC
    publications: about 2 GB of calculation logs held twice). A table the swap cannot take (an
    index of its own) is filled through a staged copy and DELETE + INSERT. A failed statement
    raises WarehouseError naming ``what``."""
    require_tables(con, [table])
    label = what or f"replacing {table}"
    try:
        with transaction(con):
            new = _twin(con, table)
            if new is not None:
                yield new
                _take_name(con, table, new)
                return
            staged = _twin(con, table, f"temp._filling_{table}")
            if staged is None:  # a DDL _twin cannot read: a plain copy of the columns
                staged = f"temp._filling_{table}"
                con.execute(f"CREATE OR REPLACE TEMP TABLE _filling_{table} AS SELECT * FROM main.{table} LIMIT 0").fetchall()
            try:
                yield staged
                con.execute(f"DELETE FROM main.{table}").fetchall()
                con.execute(f"INSERT INTO main.{table} BY NAME SELECT * FROM {staged}").fetchall()
            finally:
                try:
                    con.execute(f"DROP TABLE IF EXISTS {staged}").fetchall()
                except duckdb.Error:
                    pass  # an aborted transaction: the rollback removes it
    except duckdb.Error as e:
        raise WarehouseError(f"{label} failed and was rolled back ({str(e).splitlines()[0]})") from None


def _replace_key(con: duckdb.DuckDBPyConnection, table: str, view: str) -> list[str] | None:
    """The primary-key columns of ``table`` when a whole-table replace may run as upsert + delete
    of the keys the frame lacks: the table has a primary key and no other unique constraint, no
    nested column, and the frame carries every column (so no column keeps an old value a fresh
    insert would reset) with no key twice."""
    rows = keys(con, table)
    if len(rows) != 1 or rows[0][0] != "PRIMARY KEY":
        return None
    described = con.execute(f"DESCRIBE {table}").fetchall()
    table_cols = {r[0] for r in described}
    view_cols = {r[0] for r in con.execute(f"DESCRIBE {view}").fetchall()}
    if not table_cols <= view_cols:
        return None
    if any(t in str(r[1]) for r in described for t in ("[]", "STRUCT", "MAP", "UNION")):
        # DuckDB updates nested values slowly: an upsert of expiry_results (list and struct
        # columns; 15k SYNTHETIC rows) took 5.5 s against 0.1 s for DELETE + INSERT
        return None
    key = list(rows[0][1])
    cols = ", ".join(f'"{c}"' for c in key)
    # INSERT OR REPLACE would keep one of two frame rows with the same key where INSERT fails:
    # such a frame takes the plain path, which raises the key violation
    dup = con.execute(f"SELECT count(*) > count(DISTINCT ({cols})) FROM {view}").fetchall()[0][0]
    return None if dup else key


@dataclass
class Run:
    """One ``ingest_runs`` row being written: set the counts (and ``status``/``message``) in the
    block; the record is finished with them on exit. ``status`` None means 'partial' when rows
    were rejected, else 'ok'."""

    run_id: int
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    message: str | None = None
    status: str | None = None


def failure_message(e: BaseException) -> str:
    """What ``ingest_runs.message`` says about an error that ended a run."""
    if not isinstance(e, Exception):  # KeyboardInterrupt, SystemExit
        return f"interrupted: {type(e).__name__}" + (f": {e}"[:500] if str(e) else "")
    return str(e)[:500] or type(e).__name__


@contextmanager
def recorded_run(
    target: duckdb.DuckDBPyConnection | Path | str,
    source: str,
    command: str,
) -> Iterator[Run]:
    """Record one run of ``source`` in ``ingest_runs``: 'running' on entry, then 'ok'/'partial'
    (or the ``status`` set on the :class:`Run`) with its counts on exit, or 'failed' with the
    error's message when the block raises (the error is re-raised; a failure to write the
    record never hides it).

    ``target`` is an open writable connection, or the warehouse path for runs that open the
    file only for their saves (the record is then written through short writer sessions, under
    the writer lock the caller holds)."""

    def write(fn: Callable[[duckdb.DuckDBPyConnection], int | None]) -> int | None:
        if isinstance(target, duckdb.DuckDBPyConnection):
            return fn(target)
        with connection.writer(target) as con:
            return fn(con)

    run_id = write(lambda con: start_run(con, source, command))
    assert run_id is not None
    run = Run(run_id)
    try:
        yield run
    except BaseException as e:
        message = failure_message(e)
        try:
            write(lambda con: finish_run(con, run_id, "failed", read=run.read, loaded=run.loaded, rejected=run.rejected,
                                         message=message))
        except Exception:  # noqa: BLE001 - the original failure matters more than its record
            pass
        raise
    status = run.status or ("partial" if run.rejected else "ok")
    write(lambda con: finish_run(con, run_id, status, read=run.read, loaded=run.loaded, rejected=run.rejected,
                                 message=run.message))


@contextmanager
def writer(
    path: str | Path,
    *,
    migrate: bool = True,
    wait: float | None = None,
    command: str = "",
    log: Callable[[str], None] | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The writer lock plus an open read-write connection with, when ``migrate``, every pending
    migration applied (``log`` hears which). A missing file is created atomically, already
    migrated, so a kill during creation leaves no stub (see :func:`connection.create`)."""
    from . import migrations

    applied: list[str] = []

    def setup(con: duckdb.DuckDBPyConnection) -> None:
        # a new file: migrated here, or a copy of the one this process migrated first (then nothing
        # is pending, and the copy's records are stamped as applied now, to this file)
        applied.extend(migrations.apply(con) or migrations.restamp(con))

    with connection.writer(path, wait=wait, command=command, setup=setup if migrate else None,
                           template=migrations.fingerprint() if migrate else None) as con:
        if migrate:
            applied.extend(migrations.apply(con))
            if applied and log is not None:
                log(f"migrated {path}: {', '.join(applied)}")
        yield con
