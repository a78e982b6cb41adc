"""Named, ordered migrations, recorded in the database; each commits with its record or not at all.

A migration is a file ``NNNN_name.sql`` in this folder. ``schema_migrations`` records the name,
when it was applied and the SHA-256 of its text. A migration runs inside one transaction with
the insert of its record: if any statement fails, the transaction rolls back, earlier
migrations stay applied, and MigrationError names the migration and the statement.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass
from importlib import resources

import duckdb

from ...errors import MigrationError
from ..connection import require_patentscope, tables, transaction

_RECORD_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name        VARCHAR PRIMARY KEY,
    applied_at  TIMESTAMP NOT NULL,
    sha256      VARCHAR NOT NULL
)"""


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class MigrationStatus:
    name: str
    state: str  # 'applied', 'pending', 'changed' (applied, but the file differs now), 'unknown'
    applied_at: dt.datetime | None


def builtin_migrations() -> list[Migration]:
    return list(_builtin())


@functools.cache
def _builtin() -> tuple[Migration, ...]:
    """The packaged migration files, read once per process (every writer open asks for them)."""
    folder = resources.files(__package__)
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql") and f.name[:4].isdigit()), key=lambda f: f.name)
    return tuple(Migration(f.name[:-4], f.read_text(encoding="utf-8")) for f in files)


def fingerprint(migrations: list[Migration] | None = None) -> str:
    """One SHA-256 over the names and texts of ``migrations`` (default: the builtin ones): two
    warehouses migrated with the same fingerprint have the same schema."""
    migrations = builtin_migrations() if migrations is None else migrations
    h = hashlib.sha256()
    for m in migrations:
        h.update(f"{m.name}\0{m.sha256}\0".encode())
    return h.hexdigest()


def restamp(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Record every applied migration as applied now (for a new file copied from an empty migrated
    one, see :func:`..connection.create`); returns their names in order."""
    rows = con.execute(
        "UPDATE schema_migrations SET applied_at = $at RETURNING name",
        {"at": dt.datetime.now(dt.UTC).replace(tzinfo=None)},
    ).fetchall()
    return sorted(r[0] for r in rows)


def _applied(con: duckdb.DuckDBPyConnection, *, create: bool = True) -> dict[str, tuple[dt.datetime, str]]:
    if "schema_migrations" not in tables(con):
        if not create:
            return {}
        con.execute(_RECORD_TABLE).fetchall()
    rows = con.execute("SELECT name, applied_at, sha256 FROM schema_migrations").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def status(con: duckdb.DuckDBPyConnection, migrations: list[Migration] | None = None) -> list[MigrationStatus]:
    migrations = builtin_migrations() if migrations is None else migrations
    applied = _applied(con, create=False)  # works on read-only connections
    out = []
    for m in migrations:
        if m.name in applied:
            at, sha = applied[m.name]
            out.append(MigrationStatus(m.name, "applied" if sha == m.sha256 else "changed", at))
        else:
            out.append(MigrationStatus(m.name, "pending", None))
    known = {m.name for m in migrations}
    for name, (at, _) in sorted(applied.items()):
        if name not in known:
            out.append(MigrationStatus(name, "unknown", at))
    return out


def apply(con: duckdb.DuckDBPyConnection, migrations: list[Migration] | None = None) -> list[str]:
    """Apply every pending migration in order; returns the names applied."""
    migrations = builtin_migrations() if migrations is None else migrations
    names = [m.name for m in migrations]
    if names != sorted(names) or len(set(names)) != len(names):
        raise MigrationError(f"migrations must have unique names in order, got {names}")
    require_patentscope(con)
    applied = _applied(con)
    changed = [m.name for m in migrations if m.name in applied and applied[m.name][1] != m.sha256]
    if changed:
        raise MigrationError(
            f"migration(s) {', '.join(changed)} were applied to this warehouse with a different text; it was built "
            "by another version of patentscope. Rebuild it (re-run the ingests) or use the version that built it"
        )
    done: list[str] = []
    for m in migrations:
        if m.name in applied:
            continue
        statements = con.extract_statements(m.sql)
        try:
            with transaction(con):
                for st in statements:
                    con.execute(st.query).fetchall()
                con.execute(
                    "INSERT INTO schema_migrations VALUES ($name, $at, $sha)",
                    {"name": m.name, "at": dt.datetime.now(dt.UTC).replace(tzinfo=None), "sha": m.sha256},
                ).fetchall()
        except duckdb.Error as e:
            first_line = str(e).splitlines()[0]
            raise MigrationError(
                f"migration {m.name} failed and was rolled back ({first_line}); "
                f"{len(done)} earlier migration(s) in this run stay applied"
            ) from None
        done.append(m.name)
    return done
