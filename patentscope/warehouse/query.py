"""Read-only SQL: ad hoc statements and the named queries in ``queries/*.sql``.

Three locks, any one of which stops a write:
1. only SELECT-like statements are accepted (checked per statement with DuckDB's own parser);
2. the connection is opened read-only (DuckDB refuses INSERT/UPDATE/DELETE/DDL);
3. file-system access is disabled and the configuration locked (no COPY ... TO, ATTACH,
   read_csv of local files, INSTALL/LOAD), see ``connection.open_reader``.

Values are always bound as DuckDB ``$name`` parameters, never formatted into the SQL text.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from ..errors import QueryError, ReadOnlyViolation

ALLOWED = {"SELECT", "EXPLAIN"}


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as e:
        raise QueryError(f"SQL does not parse: {str(e).splitlines()[0]}") from None
    if not statements:
        raise QueryError("no SQL statement given")
    for st in statements:
        kind = str(st.type).rsplit(".", 1)[-1]
        if kind not in ALLOWED:
            raise ReadOnlyViolation(
                f"refused: {kind} statements are not allowed here; `patentscope sql` and `query` are read-only "
                "(SELECT, WITH ... SELECT, EXPLAIN, DESCRIBE, SHOW). The warehouse changes only through "
                "`patentscope ingest`, `migrate` and `analyze`."
            )


def run_read_only(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run read-only SQL; returns the last statement's result as a polars frame."""
    check_read_only(con, sql)
    statements = con.extract_statements(sql)
    try:
        for st in statements[:-1]:
            con.execute(st.query, params or {}).fetchall()
        return con.sql(statements[-1].query, params=params or None).pl()
    except duckdb.InvalidInputException as e:
        msg = str(e).splitlines()[0]
        if "read-only" in msg:
            raise ReadOnlyViolation(f"refused: {msg}") from None
        raise QueryError(msg) from None
    except duckdb.PermissionException as e:
        raise ReadOnlyViolation(f"refused: {str(e).splitlines()[0]} (ad hoc SQL cannot touch files)") from None
    except duckdb.Error as e:
        raise QueryError(str(e).splitlines()[0]) from None


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
            q = parse_query_file(f.read_text(encoding="utf-8"), str(f))
            found.setdefault(q.name, q)
    return found


def get_query(name: str) -> NamedQuery:
    qs = load_queries()
    if name not in qs:
        raise QueryError(f"no query named {name!r}; `patentscope query --list` shows the {len(qs)} available")
    return qs[name]
