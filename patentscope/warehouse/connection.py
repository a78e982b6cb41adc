"""The one place that opens the DuckDB file.

Writers (ingest, migrate, analyze) use :func:`open_writer`; readers (``sql``, ``query``,
``report``, ``export``, notebooks) use :func:`open_reader`, which is read-only and, for ad hoc
SQL, has file-system access switched off and its configuration locked.

DuckDB lets one process write a file at a time, and a writer's lock also keeps other
processes' readers out until it closes: both failures come back as WarehouseLockedError with
the PID holding the lock and what to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from ..errors import WarehouseError, WarehouseLockedError


def _translate(e: Exception, path: Path, mode: str) -> WarehouseError:
    msg = str(e)
    if "Could not set lock" in msg or "Conflicting lock" in msg:
        pid = re.search(r"PID (\d+)", msg)
        who = f" (process {pid.group(1)})" if pid else ""
        return WarehouseLockedError(
            f"warehouse {path} is locked by another patentscope/DuckDB process{who}; "
            "wait for it to finish (an ingest holds the lock while it writes) and try again"
        )
    if "database does not exist" in msg or ("No such file" in msg and mode == "read"):
        return WarehouseError(
            f"no warehouse at {path}; build one with `patentscope demo` or `patentscope migrate`, "
            "or point --warehouse / PATENTSCOPE_WAREHOUSE at an existing file"
        )
    if "different configuration" in msg:
        return WarehouseError(
            f"this process already has {path} open with other settings (e.g. a patentscope.open() "
            "handle or a writer); close that connection first"
        )
    if "not a valid DuckDB database" in msg or "Serialization" in msg or "storage version" in msg.lower():
        return WarehouseError(f"{path} is not a DuckDB warehouse this version can read ({msg.splitlines()[0]})")
    if "Permission denied" in msg or "Permission" in type(e).__name__:
        return WarehouseError(f"cannot open {path} for {mode}: permission denied; check the file's permissions")
    return WarehouseError(f"cannot open warehouse {path} for {mode}: {msg.splitlines()[0]}")


def open_writer(path: str | Path) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse for writing. Callers must close it."""
    p = Path(path)
    try:
        if p.parent and not p.parent.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(p))
    except duckdb.Error as e:
        raise _translate(e, p, "writing") from None
    except OSError as e:
        raise WarehouseError(f"cannot create warehouse folder {p.parent}: {e.strerror}") from None


def open_reader(path: str | Path, *, sandbox: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-only.

    ``sandbox=True`` (ad hoc SQL, notebooks) also disables every file-system access beyond the
    warehouse itself (no read_csv of local files, no ATTACH, no COPY ... TO, no extension
    installs) and locks the configuration so a query cannot turn it back on.
    """
    p = Path(path)
    if not p.exists():
        raise WarehouseError(
            f"no warehouse at {p}; build one with `patentscope demo` or `patentscope migrate`, "
            "or point --warehouse / PATENTSCOPE_WAREHOUSE at an existing file"
        )
    config: dict[str, Any] = {"enable_external_access": False} if sandbox else {}
    try:
        con = duckdb.connect(str(p), read_only=True, config=config)
        if sandbox:
            # connections in one process share the database instance: lock once
            locked = con.execute("SELECT current_setting('lock_configuration')").fetchall()[0][0]
            if not locked:
                con.execute("SET lock_configuration = true").fetchall()
        return con
    except duckdb.Error as e:
        raise _translate(e, p, "reading") from None


@contextmanager
def writer(path: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_writer(path)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def reader(path: str | Path, *, sandbox: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_reader(path, sandbox=sandbox)
    try:
        yield con
    finally:
        con.close()


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Execute one statement and fetch everything (DuckDB 2 results stream and hold the
    connection until drained, so every call here drains)."""
    return con.execute(sql, params or {}).fetchall()


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run a query and return a polars frame."""
    return con.sql(sql, params=params or None).pl()
