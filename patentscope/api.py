"""Python access for notebooks and other tools: read-only polars frames of the warehouse."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import polars as pl

from .config import load_settings
from .warehouse.connection import open_reader
from .warehouse.query import run_read_only


class Warehouse:
    """A read-only handle on a warehouse file. Tables and views are attributes::

        wh.publications, wh.parties, wh.publication_overview, wh["family_overview"]
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._con = open_reader(self.path)

    def names(self) -> list[str]:
        """Every table and view a user can read."""
        rows = self._con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name"
        ).fetchall()
        return [r[0] for r in rows]

    def table(self, name: str) -> pl.DataFrame:
        if name not in self.names():
            raise KeyError(f"no table or view {name!r}; available: {', '.join(self.names())}")
        return self._con.sql(f'SELECT * FROM "{name}"').pl()

    def sql(self, query: str, **params: Any) -> pl.DataFrame:
        """Run read-only SQL with ``$name`` parameters bound from keyword arguments."""
        return run_read_only(self._con, query, params or None)

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
        self._con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open(path: str | Path | None = None) -> Warehouse:  # noqa: A001 - mirrors builtins.open on purpose
    """Open a warehouse read-only (default: the configured one, see patentscope.config)."""
    return Warehouse(path if path is not None else load_settings().warehouse)
