"""The one place that opens the DuckDB file.

Writers (ingest, migrate, analyze) use :func:`open_writer`; readers (``sql``, ``query``,
``report``, ``export``, notebooks) use :func:`open_reader`, which is read-only and, for ad hoc
SQL, has file-system access switched off and its configuration locked.

Concurrency (DuckDB lets one process write a file, and while it has the file open other
processes cannot even read it):

- Writers take an exclusive advisory lock on ``<warehouse>.lock`` (fcntl) for the whole job, so
  a second writer waits up to ``wait`` seconds (PATENTSCOPE_LOCK_WAIT, default 60) and then
  fails with WarehouseLockedError naming the holder's PID and command — never two writers.
- Writers open the DuckDB file only for their transactions (fetching and normalizing happen
  with the file closed), so readers get in between batches; a reader that meets the file open
  retries for up to ``wait`` seconds (default 30). Readers never see half a batch: each batch
  commits in one transaction.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import re
import shutil
import struct
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator
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
        hint = ("close that reader (a notebook's connection, a DuckDB shell) or raise PATENTSCOPE_LOCK_WAIT" if mode == "writing"
                else "let the writer finish, or raise PATENTSCOPE_READ_WAIT")
        return WarehouseLockedError(f"warehouse {path} is locked by another patentscope/DuckDB process: "
                                    f"{describe_holder(path, pid.group(1) if pid else None)}; {hint}")
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


def _file_lock(path: Path) -> tuple[str | None, int]:
    """("read" | "write" | None, pid): the POSIX lock another process holds on the DuckDB file
    (DuckDB takes a shared lock for a read-only connection, an exclusive one to write)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None, 0
    try:
        probe = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0) + b"\0" * 4
        kind, _, _, _, pid = struct.unpack("hhqqi", fcntl.fcntl(fd, fcntl.F_GETLK, probe)[:28])
    except OSError:
        return None, 0
    finally:
        os.close(fd)
    return {fcntl.F_RDLCK: "read", fcntl.F_WRLCK: "write"}.get(kind), pid


def describe_holder(path: Path, pid: str | None) -> str:
    """Who holds the DuckDB file: its process id and command line, and whether it is a reader,
    the patentscope writer (it holds ``<warehouse>.lock``) or another writer."""
    kind, lock_pid = _file_lock(path)
    pid = pid or (str(lock_pid) if lock_pid else None)
    if pid is None:
        return "another process (DuckDB did not say which)"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        cmd = ""
    try:
        lock = path.with_name(path.name + ".lock").read_text(encoding="utf-8").strip()
    except OSError:
        lock = ""
    if lock.startswith(f"pid {pid}:"):
        role = f"the patentscope writer ({lock})"
    elif kind == "read":
        role = "a reader (it has the file open read-only: a notebook, a DuckDB shell, `patentscope sql`, ...)"
    elif kind == "write":
        role = "a writer outside patentscope's writer lock (it has the file open read-write: a DuckDB shell or another program)"
    else:
        role = "a reader or a writer (its lock could not be read)"
    return f"process {pid}{f' ({cmd[:120]})' if cmd else ''}, {role}"


def _wait_default(var: str, default: float) -> float:
    try:
        return float(os.environ.get(var, default))
    except ValueError:
        return default


def _is_lock_error(e: Exception) -> bool:
    return "Could not set lock" in str(e) or "Conflicting lock" in str(e)


def _engine_config() -> dict[str, Any]:
    """DuckDB settings of every connection patentscope opens for its own work, from the
    environment: worker threads from PATENTSCOPE_THREADS (default: DuckDB's own, one per core),
    for jobs that share a machine with other work (cron next to interactive use; the test
    suite's one worker per core), and DuckDB's memory cap from PATENTSCOPE_MEMORY_LIMIT
    (default: DuckDB's own, 80% of the machine's memory; DuckDB spills what does not fit to
    disk, slower: benchmarks/README.md has measured figures)."""
    out: dict[str, Any] = {}
    v = os.environ.get("PATENTSCOPE_THREADS", "").strip()
    if v:
        try:
            n = int(v)
        except ValueError:
            n = 0
        if n < 1:
            raise WarehouseError(f"PATENTSCOPE_THREADS={v!r}: give a whole number of threads (1 or more)")
        out["threads"] = n
    mem = os.environ.get("PATENTSCOPE_MEMORY_LIMIT", "").strip()
    if mem:
        from .query import parse_memory

        size = parse_memory(mem)
        if size is None:
            raise WarehouseError(f"PATENTSCOPE_MEMORY_LIMIT={mem!r}: give a memory size like 4GB or 512MB")
        out["memory_limit"] = size
    return out


def _connect_retrying(p: Path, wait: float, **kwargs: Any) -> duckdb.DuckDBPyConnection:
    engine = _engine_config()
    if engine:
        kwargs["config"] = {**engine, **(kwargs.get("config") or {})}
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(p), **kwargs)
        except duckdb.Error as e:
            if not _is_lock_error(e) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


Setup = Callable[[duckdb.DuckDBPyConnection], object]


def open_writer(path: str | Path, *, wait: float | None = None, setup: Setup | None = None,
                template: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse for writing, waiting up to ``wait`` seconds for
    readers to let go. Callers must close it; hold :func:`writer_lock` around a whole job.
    ``setup`` (e.g. applying the migrations) runs on a new file before it takes its real name
    (``template``: see :func:`create`)."""
    p = Path(path)
    wait = _wait_default("PATENTSCOPE_LOCK_WAIT", 60.0) if wait is None else wait
    try:
        if p.parent and not p.parent.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists():
            create(p, setup, template=template)
        return _connect_retrying(p, wait)
    except duckdb.Error as e:
        raise _translate(e, p, "writing") from None
    except OSError as e:
        raise WarehouseError(f"cannot create warehouse folder {p.parent}: {e.strerror}") from None


# template key -> an empty warehouse this process created with that setup, copied for the next one
_TEMPLATES: dict[str, Path] = {}


def _keep_template(key: str, created: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="patentscope-template-"))
    atexit.register(shutil.rmtree, folder, True)
    kept = folder / "template.duckdb"
    shutil.copyfile(created, kept)
    _TEMPLATES[key] = kept


def create(p: Path, setup: Setup | None = None, *, template: str | None = None) -> None:
    """Create a new warehouse file under a temporary name (``setup`` runs on it first), flush it
    to disk and rename it into place, so a crash or a full disk during creation never leaves a
    half-written file under the real name (DuckDB writes a new file's header in pieces). The one
    place a warehouse file is created.

    ``template``: a key naming what ``setup`` builds (e.g. the migrations' fingerprint). The first
    file created with a key is kept (in a private temporary folder, removed at exit) and later
    creates in the same process start from a copy of it, on which ``setup`` still runs: creating
    a migrated warehouse then costs a file copy instead of some hundred DDL statements (a process
    that builds many warehouses: the test suite, benchmarks)."""
    tmp = p.with_name(f".{p.name}.{os.getpid()}.creating")
    kept = _TEMPLATES.get(template) if template is not None else None
    try:
        if kept is not None:
            shutil.copyfile(kept, tmp)
        con = duckdb.connect(str(tmp), config=_engine_config())
        try:
            if setup is not None:
                setup(con)
            con.execute("CHECKPOINT").fetchall()
        finally:
            con.close()
        if template is not None and kept is None:
            _keep_template(template, tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, p)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            if leftover.exists():
                leftover.unlink()


@contextmanager
def writer_lock(path: str | Path, *, wait: float | None = None, command: str = "") -> Iterator[None]:
    """The single-writer lock: an exclusive fcntl lock on ``<warehouse>.lock``, held for a whole
    job. Re-entrant within one process (a job that opens the writer several times)."""
    p = Path(path)
    key = str(p.resolve())
    if key in _HELD:
        _HELD[key][1] += 1
        try:
            yield
        finally:
            _HELD[key][1] -= 1
        return
    wait = _wait_default("PATENTSCOPE_LOCK_WAIT", 60.0) if wait is None else wait
    p.parent.mkdir(parents=True, exist_ok=True)
    lock_path = p.with_name(p.name + ".lock")
    fh = open(lock_path, "a+")  # noqa: SIM115 - held open for the job's duration
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                fh.seek(0)
                holder = fh.read().strip() or "unknown process"
                fh.close()
                raise WarehouseLockedError(
                    f"another writer holds {p} ({holder}); waited {wait:.0f} s. Let it finish, or raise "
                    "PATENTSCOPE_LOCK_WAIT to wait longer"
                ) from None
            time.sleep(0.1)
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()}: {command or 'patentscope'}")
    fh.flush()
    _HELD[key] = [fh, 1]
    try:
        yield
    finally:
        _HELD.pop(key, None)
        fh.seek(0)
        fh.truncate()
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


_HELD: dict[str, list[Any]] = {}


def open_reader(path: str | Path, *, sandbox: bool = True, wait: float | None = None,
                max_memory: str | None = None) -> duckdb.DuckDBPyConnection:
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
    if sandbox:  # the SQL sandbox's settings: no temp directory, no extension autoload
        from .query import sandbox_config
        config.update(sandbox_config())
    wait = _wait_default("PATENTSCOPE_READ_WAIT", 30.0) if wait is None else wait
    try:
        con = _connect_retrying(p, wait, read_only=True, config=config)
        if sandbox:
            # connections in one process share the database instance: lock once
            locked = con.execute("SELECT current_setting('lock_configuration')").fetchall()[0][0]
            if not locked:
                if max_memory is not None:  # the memory cap of ad hoc SQL, set before the lock
                    from .query import resolve_max_memory
                    con.execute(f"SET memory_limit = '{resolve_max_memory(max_memory)}'").fetchall()
                con.execute("SET lock_configuration = true").fetchall()
        return con
    except duckdb.Error as e:
        raise _translate(e, p, "reading") from None


@contextmanager
def writer(path: str | Path, *, wait: float | None = None, command: str = "",
           setup: Setup | None = None, template: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The writer lock plus an open read-write connection, closed (and the lock released) at exit."""
    with writer_lock(path, wait=wait, command=command):
        con = open_writer(path, wait=wait, setup=setup, template=template)
        try:
            yield con
        finally:
            con.close()


@contextmanager
def reader(path: str | Path, *, sandbox: bool = True, wait: float | None = None,
           max_memory: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_reader(path, sandbox=sandbox, wait=wait, max_memory=max_memory)
    try:
        yield con
    finally:
        con.close()


_OPEN: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, list[bool]] = weakref.WeakKeyDictionary()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, or ROLLBACK on any exception; an inner ``transaction()`` joins the outer one.

    DuckDB has no SAVEPOINT, so nesting works like sqlite-utils' ``atomic()`` without the
    savepoint: an inner block's writes commit or roll back with the outermost block. If an
    inner block fails and the outer code carries on, the outer block rolls back anyway at its
    end and raises WarehouseError, so a caught inner failure never commits half its work.
    (A hand-written ``BEGIN`` inside an open transaction aborts it in DuckDB — one reason every
    writer goes through this function.) DuckDB turns a COMMIT after a failed statement into a
    silent rollback, so the rollback is explicit and the error re-raised."""
    state = _OPEN.get(con)
    if state is not None:  # join the outer transaction
        try:
            yield con
        except BaseException:
            state[0] = True  # doomed: the outer block must not commit
            raise
        return
    con.execute("BEGIN TRANSACTION").fetchall()
    state = _OPEN[con] = [False]
    try:
        yield con
        if state[0]:
            raise WarehouseError("an inner transaction failed, so the whole transaction was rolled back")
        con.execute("COMMIT").fetchall()
    except BaseException:
        try:
            con.execute("ROLLBACK").fetchall()
        except duckdb.Error:
            pass
        raise
    finally:
        _OPEN.pop(con, None)


def keys(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, list[str]]]:
    """The primary-key and unique constraints of a main-schema table: (type, columns) each."""
    rows = con.execute(
        "SELECT constraint_type, constraint_column_names FROM duckdb_constraints() "
        "WHERE schema_name = 'main' AND table_name = $t AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
        {"t": table}).fetchall()
    return [(str(t), list(c)) for t, c in rows]


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Names of the tables and views in the warehouse's main schema."""
    rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()
    return {r[0] for r in rows}


def require_patentscope(con: duckdb.DuckDBPyConnection, path: str | Path | None = None) -> None:
    """Refuse a DuckDB file that holds tables but is not a patentscope warehouse (it has no
    ``schema_migrations`` record), so ``status`` or ``migrate`` pointed at someone else's
    database says so instead of reporting it empty or adding patentscope's tables to it.
    An empty file (no tables) is fine: ``migrate`` sets it up."""
    names = tables(con)
    if not names or "schema_migrations" in names:
        return
    if path is None:
        row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
        path = row[0][0] if row and row[0][0] else "this DuckDB file"
    shown = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "")
    raise WarehouseError(
        f"{path} is a DuckDB file but not a patentscope warehouse (it has tables {shown} and no schema_migrations "
        "record); point --warehouse / PATENTSCOPE_WAREHOUSE at a patentscope warehouse, or at a new path "
        "to build one (`patentscope migrate`)"
    )


def in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con`` is inside a :func:`transaction` block."""
    return con in _OPEN


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Execute one statement and fetch everything (DuckDB 2 results stream and hold the
    connection until drained, so every call here drains)."""
    return con.execute(sql, params or {}).fetchall()


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run a query and return a polars frame."""
    return con.sql(sql, params=params or None).pl()


def register(con: duckdb.DuckDBPyConnection, name: str, data: Any) -> None:
    """Register ``data`` as the view ``name`` on ``con``: a polars frame as Arrow at polars'
    newest compatibility level, whose strings are Arrow string views that DuckDB reads as
    they are; anything else (a relation, an Arrow table or reader) as given. DuckDB's own
    conversion of a polars frame asks for the oldest level, which copies every string into a
    new buffer first: the expiry results at 1M SYNTHETIC publications (1.4M rows, ~1.7 GB of
    calculation logs) 3.1 s, against 0.07 s this way; same column types and values
    (tests/test_warehouse_toolkit.py)."""
    if isinstance(data, pl.DataFrame):
        data = data.to_arrow(compat_level=pl.CompatLevel.newest())
    con.register(name, data)
