"""Python access for notebooks and other tools: read-only polars frames of the warehouse.

A :class:`Warehouse` handle never keeps the DuckDB file open: each attribute, ``sql()`` or
``names()`` call opens the file read-only, runs its query, copies the result into a polars
frame and closes the file again. So a handle left open in a notebook never blocks the nightly
``ingest --all`` or ``analyze`` (DuckDB lets no writer in while any other process has the
file open). Each call reads one consistent, committed state: writers commit each batch in one
transaction, so a call never sees half a batch; two calls may see different states when a
writer committed in between (re-run both, or export to Parquet for a frozen copy). A call that
meets a writer's transaction retries for up to ``PATENTSCOPE_READ_WAIT`` seconds (default 30).
"""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import polars as pl

from .config import load_settings
from .warehouse.connection import reader, tables
from .warehouse.query import run_read_only


class Warehouse:
    """A read-only handle on a warehouse file. Tables and views are attributes::

        wh.publications, wh.parties, wh.publication_overview, wh["family_overview"]
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with reader(self.path):  # fail now, with one line, if the file is missing or unreadable
            pass

    def names(self) -> list[str]:
        """Every table and view a user can read."""
        with reader(self.path) as con:
            return _names(con)

    def table(self, name: str) -> pl.DataFrame:
        with reader(self.path) as con:
            names = _names(con)
            if name not in names:
                raise KeyError(f"no table or view {name!r}; available: {', '.join(names)}")
            return con.sql(f'SELECT * FROM "{name}"').pl()  # identifier checked against the catalog above

    def sql(self, query: str, **params: Any) -> pl.DataFrame:
        """Run read-only SQL with ``$name`` parameters bound from keyword arguments."""
        with reader(self.path) as con:
            return run_read_only(con, query, params or None)

    def __getitem__(self, name: str) -> pl.DataFrame:
        return self.table(name)

    def __getattr__(self, name: str) -> pl.DataFrame:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.table(name)
        except KeyError as e:
            raise AttributeError(str(e)) from None

    def __dir__(self) -> builtins.list[str]:
        return [*super().__dir__(), *self.names()]

    def close(self) -> None:
        """Nothing to release: the file is open only during each call (kept for ``with`` blocks)."""

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _names(con: Any) -> builtins.list[str]:
    return sorted(tables(con))


def open(path: str | Path | None = None) -> Warehouse:  # noqa: A001 - mirrors builtins.open on purpose
    """Open a warehouse read-only (default: the configured one, see patentscope.config)."""
    return Warehouse(path if path is not None else load_settings().warehouse)
