"""Read-only SQL: ad hoc statements and the named queries in ``queries/*.sql``.

The sandbox (what ``patentscope sql``/``query`` and notebooks run in); any one lock stops a write
or an escape, and they are all on:

1. *Statements*: only SELECT-like statements (SELECT, WITH, VALUES, FROM-first, TABLE, DESCRIBE,
   SHOW, SUMMARIZE) and EXPLAIN [ANALYZE] of one of them; checked per statement with DuckDB's own
   parser. ``EXPLAIN ANALYZE`` executes what it wraps, so the wrapped statement is checked as if
   it stood alone (``EXPLAIN ANALYZE COPY ...`` is a COPY and refused).
2. *Functions and file names*: every statement is parsed into DuckDB's syntax tree
   (``json_serialize_sql``) and walked. Table functions are allowed only from
   :data:`ALLOWED_TABLE_FUNCTIONS` (series, unnest, JSON walkers, catalog listings); every
   file reader (read_blob, read_text, read_csv*, read_json*, read_ndjson*, read_parquet,
   parquet_scan, parquet_metadata..., glob, sniff_csv, read_duckdb), ``query``/``query_table``
   (SQL in a string), the Arrow/pandas pointer scans, secret, logging, profiling and
   checkpoint functions are refused, and so are scalar functions in :data:`REFUSED_FUNCTIONS`
   (e.g. ``json_execute_serialized_sql``, which would run a plan the checks never saw). A
   table name that looks like a path (``FROM '/etc/passwd'``, ``FROM "x.csv"``) is refused
   before DuckDB's replacement scan could read it. This also covers the warehouse file and its
   WAL, which DuckDB's external-access switch always leaves readable.
3. *The connection* (``connection.open_reader`` with :func:`sandbox_config`): read-only,
   ``enable_external_access = false``, **no temporary directory at all** (``temp_directory =
   ''``, so ``<warehouse>.tmp/`` is neither created nor allowed; a symlink placed there leads
   nowhere), no extension autoload/autoinstall, and ``lock_configuration = true`` so a query
   cannot turn any of it back on.
4. *Limits*: each call stops after ``timeout`` seconds (``--timeout``,
   ``PATENTSCOPE_SQL_TIMEOUT``, default :data:`DEFAULT_TIMEOUT`), DuckDB's memory is capped
   (``--max-memory``, ``PATENTSCOPE_SQL_MAX_MEMORY``, default :data:`DEFAULT_MAX_MEMORY`; without
   a temp directory nothing spills to disk), and a result larger than ``max_rows``
   (``PATENTSCOPE_SQL_MAX_ROWS``, default :data:`DEFAULT_MAX_ROWS`) is refused rather than
   pulled into memory. Each limit fails with a message naming the flag to raise.

Values are always bound as DuckDB ``$name`` parameters, never formatted into the SQL text.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from ..errors import ConfigError, QueryError, ReadOnlyViolation
from ..inputs import read_text

ALLOWED = {"SELECT", "EXPLAIN"}

DEFAULT_TIMEOUT = 60.0          # seconds
DEFAULT_MAX_MEMORY = "2GB"      # DuckDB memory_limit for ad hoc SQL
DEFAULT_MAX_ROWS = 5_000_000    # rows one ad hoc result may have

# Table functions ad hoc SQL may call: generators, JSON walkers and read-only catalog listings.
ALLOWED_TABLE_FUNCTIONS = frozenset({
    "range", "generate_series", "unnest", "repeat", "json_each", "json_tree", "summary",
    "duckdb_columns", "duckdb_constraints", "duckdb_databases", "duckdb_dependencies", "duckdb_functions",
    "duckdb_indexes", "duckdb_keywords", "duckdb_schemas", "duckdb_sequences", "duckdb_tables", "duckdb_types",
    "duckdb_views", "pragma_table_info", "pragma_show", "pragma_version", "pragma_database_size",
    "pg_timezone_names", "icu_calendar_names", "test_all_types",
})
# Scalar/aggregate functions refused wherever they appear.
REFUSED_FUNCTIONS = frozenset({
    "json_execute_serialized_sql", "json_serialize_plan", "copy_database", "add_parquet_key", "enable_profile",
    "disable_profile", "write_log", "getenv", "which_secret", "query", "query_table", "glob", "sniff_csv",
    "read_blob", "read_text", "read_csv", "read_csv_auto", "read_json", "read_json_auto", "read_ndjson",
    "read_ndjson_auto", "read_parquet", "parquet_scan", "read_duckdb",
})
_REFUSED_PATTERN = re.compile(r"^(read_|parquet_|iceberg_|delta_|__internal|sqlite_|postgres_|mysql_)|(_scan|_secrets?)$")
_PATHLIKE = re.compile(r"[/\\.:*?~]")


def _env(var: str, default: Any) -> str:
    return os.environ.get(var, "").strip() or str(default)


def resolve_timeout(timeout: float | str | None = None) -> float:
    """The query time limit in seconds: the flag, else PATENTSCOPE_SQL_TIMEOUT, else the default."""
    raw = timeout if timeout is not None else _env("PATENTSCOPE_SQL_TIMEOUT", DEFAULT_TIMEOUT)
    try:
        val = float(raw)
    except (TypeError, ValueError):
        val = math.nan
    if not (math.isfinite(val) and 0 < val <= 86_400):
        raise ConfigError(f"--timeout / PATENTSCOPE_SQL_TIMEOUT: {raw!r} is not a number of seconds in (0, 86400]")
    return val


_MEM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)?\s*$", re.I)


def parse_memory(raw: str) -> str | None:
    """A memory size as DuckDB's memory_limit takes it ("2GB", "512MIB"), or None if ``raw`` is none."""
    m = _MEM.match(str(raw))
    if not m or float(m.group(1)) <= 0:
        return None
    return f"{m.group(1)}{(m.group(2) or 'B').upper()}"


def resolve_max_memory(max_memory: str | None = None) -> str:
    """The DuckDB memory cap ("2GB", "512MiB"): the flag, else PATENTSCOPE_SQL_MAX_MEMORY, else the default."""
    raw = max_memory if max_memory is not None else _env("PATENTSCOPE_SQL_MAX_MEMORY", DEFAULT_MAX_MEMORY)
    size = parse_memory(str(raw))
    if size is None:
        raise ConfigError(f"--max-memory / PATENTSCOPE_SQL_MAX_MEMORY: {raw!r} is not a memory size like 2GB or 512MB")
    return size


def resolve_max_rows(max_rows: int | str | None = None) -> int:
    raw = max_rows if max_rows is not None else _env("PATENTSCOPE_SQL_MAX_ROWS", DEFAULT_MAX_ROWS)
    try:
        val = int(raw)
    except (TypeError, ValueError):
        val = 0
    if val < 1:
        raise ConfigError(f"PATENTSCOPE_SQL_MAX_ROWS: {raw!r} is not a positive whole number of rows")
    return val


def sandbox_config() -> dict[str, Any]:
    """DuckDB settings of a sandboxed read-only connection (see the module docstring, lock 3).

    The same for every sandboxed reader, so readers in one process share one database instance;
    the memory cap is set with SET before the configuration is locked (``open_reader``)."""
    return {
        "enable_external_access": False,
        "temp_directory": "",
        "autoload_known_extensions": False,
        "autoinstall_known_extensions": False,
    }


def _kind(st: Any) -> str:
    return str(st.type).rsplit(".", 1)[-1]


_LEADING_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*\n?|/\*.*?\*/)*", re.S)
_EXPLAIN = re.compile(r"^EXPLAIN\b\s*(?:\(\s*[^)]*\)\s*)?(?:ANALY[SZ]E\b\s*)?(?:\(\s*[^)]*\)\s*)?", re.I)


def _refuse_kind(kind: str) -> ReadOnlyViolation:
    return ReadOnlyViolation(
        f"refused: {kind} statements are not allowed here; `patentscope sql` and `query` are read-only "
        "(SELECT, WITH ... SELECT, EXPLAIN, DESCRIBE, SHOW). The warehouse changes only through "
        "`patentscope ingest`, `migrate` and `analyze`."
    )


def _selects(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    """The SELECT statements ``sql`` runs (EXPLAIN unwrapped); raises for anything else."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as e:
        raise QueryError(f"SQL does not parse: {str(e).splitlines()[0]}") from None
    if not statements:
        raise QueryError("no SQL statement given")
    out: list[str] = []
    for st in statements:
        kind = _kind(st)
        if kind == "EXPLAIN":
            body = _LEADING_COMMENTS.sub("", st.query, count=1)
            m = _EXPLAIN.match(body)
            inner = body[m.end():] if m else ""
            try:
                wrapped = con.extract_statements(inner) if inner.strip() else []
            except duckdb.Error:
                wrapped = []
            if len(wrapped) != 1:
                raise QueryError("refused: EXPLAIN must wrap exactly one statement the sandbox can check")
            if _kind(wrapped[0]) != "SELECT":
                raise _refuse_kind(f"EXPLAIN of {_kind(wrapped[0])}")
            out.append(wrapped[0].query)
        elif kind == "SELECT":
            out.append(st.query)
        else:
            raise _refuse_kind(kind)
    return out


def _tree(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    try:
        raw = con.execute("SELECT json_serialize_sql($q)", {"q": sql}).fetchall()[0][0]
        doc = json.loads(raw)
    except RecursionError:
        raise QueryError("refused: the statement is nested too deeply to check") from None
    except duckdb.Error as e:
        raise QueryError(f"SQL does not parse: {str(e).splitlines()[0]}") from None
    if doc.get("error"):
        raise QueryError(f"SQL cannot be checked: {doc.get('error_message', 'unknown parser error')}")
    return doc


def _check_tree(doc: Any) -> None:
    """Walk a serialized statement (iteratively) and refuse file access and unsafe functions."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        ntype = node.get("type")
        if ntype == "TABLE_FUNCTION":
            fn = node.get("function") or {}
            name = str(fn.get("function_name", "")).lower()
            if name and name not in ALLOWED_TABLE_FUNCTIONS:
                raise ReadOnlyViolation(
                    f"refused: table function {name}() is not allowed (ad hoc SQL cannot touch files or run "
                    f"SQL hidden in strings); table functions allowed: {', '.join(sorted(ALLOWED_TABLE_FUNCTIONS))}")
        elif ntype == "BASE_TABLE":
            name = str(node.get("table_name", ""))
            if _PATHLIKE.search(name):
                raise ReadOnlyViolation(
                    f"refused: {name!r} looks like a file path (ad hoc SQL cannot touch files); it reads only the "
                    "warehouse's tables and views, see docs/schema.md")
        fname = node.get("function_name")
        if isinstance(fname, str) and node.get("class") == "FUNCTION":
            low = fname.lower()
            if low in REFUSED_FUNCTIONS or _REFUSED_PATTERN.search(low):
                raise ReadOnlyViolation(f"refused: function {low}() is not allowed (ad hoc SQL cannot touch files or "
                                        "secrets, nor run SQL the sandbox has not checked)")
        stack.extend(v for v in node.values() if isinstance(v, (dict, list)))


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    """Refuse anything but sandbox-safe reads; returns the statements' SQL, EXPLAIN unwrapped."""
    selects = _selects(con, sql)
    for q in selects:
        _check_tree(_tree(con, q))
    return selects


class _Deadline:
    """Interrupt the connection after ``seconds`` (DuckDB has no statement timeout of its own)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, seconds: float):
        self.fired = False
        self._con = con
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        self._con.interrupt()

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def run_read_only(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None, *,
                  timeout: float | None = None, max_rows: int | None = None) -> pl.DataFrame:
    """Run read-only SQL in the sandbox; returns the last statement's result as a polars frame."""
    check_read_only(con, sql)
    limit = resolve_timeout(timeout)
    rows_cap = resolve_max_rows(max_rows)
    statements = con.extract_statements(sql)
    deadline = _Deadline(con, limit)
    try:
        with deadline:
            for st in statements[:-1]:
                con.execute(st.query, params or {}).fetchall()
            df = con.sql(statements[-1].query, params=params or None).limit(rows_cap + 1).pl()
    except duckdb.InterruptException:
        raise QueryError(f"the query was stopped after {limit:g} s (the time limit); make it cheaper (a LIMIT, "
                         "a WHERE) or raise it with --timeout / PATENTSCOPE_SQL_TIMEOUT") from None
    except duckdb.OutOfMemoryException:
        mem = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        raise QueryError(f"the query ran out of memory (limit {mem}); make it cheaper (avoid cross joins, add a "
                         "WHERE) or raise the cap with --max-memory / PATENTSCOPE_SQL_MAX_MEMORY") from None
    except duckdb.InvalidInputException as e:
        msg = str(e).splitlines()[0]
        if "read-only" in msg:
            raise ReadOnlyViolation(f"refused: {msg}") from None
        raise QueryError(msg) from None
    except duckdb.PermissionException as e:
        raise ReadOnlyViolation(f"refused: {str(e).splitlines()[0]} (ad hoc SQL cannot touch files)") from None
    except duckdb.Error as e:
        if deadline.fired:
            raise QueryError(f"the query was stopped after {limit:g} s (the time limit); raise it with --timeout / "
                             "PATENTSCOPE_SQL_TIMEOUT") from None
        raise QueryError(str(e).splitlines()[0]) from None
    except RecursionError:
        raise QueryError("the statement is nested too deeply to run") from None
    if df.height > rows_cap:
        raise QueryError(f"the result has more than {rows_cap} rows; add a LIMIT or aggregate, use `patentscope export` "
                         "for whole tables, or raise PATENTSCOPE_SQL_MAX_ROWS")
    from .cells import scrub_frame

    return scrub_frame(df)  # a secret that reached a table by another road is still not shown


# --------------------------------------------------------------------------------------------
# named queries

_TYPES: dict[str, Any] = {"text": str, "int": int, "float": float, "date": dt.date.fromisoformat, "bool": None}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: str | None
    help: str

    @property
    def required(self) -> bool:
        return self.default is None

    def convert(self, raw: str) -> Any:
        if self.type == "bool":
            low = raw.strip().lower()
            if low in ("1", "true", "yes", "y"):
                return True
            if low in ("0", "false", "no", "n"):
                return False
            raise QueryError(f"parameter {self.name}: expected true/false, got {raw!r}")
        try:
            return _TYPES[self.type](raw)
        except (ValueError, TypeError):
            example = {"int": "42", "float": "0.5", "date": "2014-07-08", "text": "abc"}[self.type]
            raise QueryError(f"parameter {self.name}: expected {self.type} (e.g. {example}), got {raw!r}") from None


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    params: tuple[Param, ...]
    sql: str
    path: str

    def bind(self, given: dict[str, str]) -> dict[str, Any]:
        known = {p.name for p in self.params}
        unknown = sorted(set(given) - known)
        if unknown:
            raise QueryError(
                f"query {self.name} has no parameter(s) {', '.join(unknown)}; it takes: "
                + (", ".join(p.name for p in self.params) or "none")
            )
        out: dict[str, Any] = {}
        for p in self.params:
            if p.name in given:
                out[p.name] = p.convert(given[p.name])
            elif p.default is not None:
                out[p.name] = None if p.default.lower() == "null" else p.convert(p.default)
            else:
                raise QueryError(f"query {self.name} needs --param {p.name}=... ({p.type}: {p.help})")
        return out


_PARAM_RE = re.compile(r"^(?P<name>[a-z_][a-z0-9_]*)\s+(?P<type>text|int|float|date|bool)(?:\s*=\s*(?P<default>\S+))?\s*(?:--\s*(?P<help>.*))?$")


def parse_query_file(text: str, path: str) -> NamedQuery:
    name = description = None
    params: list[Param] = []
    for line in text.splitlines():
        if not line.startswith("--"):
            if line.strip():
                break
            continue
        body = line[2:].strip()
        if body.startswith("name:"):
            name = body[5:].strip()
        elif body.startswith("description:"):
            description = body[12:].strip()
        elif body.startswith("param:"):
            m = _PARAM_RE.match(body[6:].strip())
            if not m:
                raise QueryError(f"{path}: bad param header {body!r}; write '-- param: NAME TYPE [= DEFAULT] -- help'")
            params.append(Param(m["name"], m["type"], m["default"], (m["help"] or "").strip()))
        elif description is not None and not body.startswith(("name:", "param:")) and not params:
            description += " " + body
    if not name or not description:
        raise QueryError(f"{path}: a query file needs '-- name:' and '-- description:' header lines")
    return NamedQuery(name, description, tuple(params), text, path)


def queries_dirs() -> list[Path]:
    """Where named queries live: $PATENTSCOPE_QUERIES, the installed package copy, the checkout."""
    out: list[Path] = []
    env = os.environ.get("PATENTSCOPE_QUERIES")
    if env:
        out.append(Path(env))
    pkg = resources.files("patentscope").joinpath("queries")
    if pkg.is_dir():
        out.append(Path(str(pkg)))
    checkout = Path(__file__).resolve().parents[2] / "queries"
    if checkout.is_dir():
        out.append(checkout)
    return out


def load_queries() -> dict[str, NamedQuery]:
    found: dict[str, NamedQuery] = {}
    for d in queries_dirs():
        for f in sorted(d.glob("*.sql")):
            q = parse_query_file(read_text(f, what="query file"), str(f))
            found.setdefault(q.name, q)
    return found


def get_query(name: str) -> NamedQuery:
    qs = load_queries()
    if name not in qs:
        raise QueryError(f"no query named {name!r}; `patentscope query --list` shows the {len(qs)} available")
    return qs[name]
