"""The landscape: which records count as NdFeB, and every form it is asked in.

- :mod:`.model` — :class:`Landscape` (loaded from an editable TOML file, see
  ``patentscope/data/landscape.toml``), :meth:`Landscape.match`, :func:`fingerprint`.
- :mod:`.codes` — canonical CPC/IPC symbols and what a landscape code covers.
- the compilers, each giving the same answer as :meth:`Landscape.match` (a test runs them all
  on the same records): :mod:`.sql` (DuckDB SQL, for the bulk release), :mod:`.cql` (EPO OPS
  CQL), :mod:`.odp` (the USPTO ODP search query). A new source's query builder goes beside
  them (e.g. ``landscape/bigquery.py``) and joins the test.

Importing this package loads neither polars nor DuckDB.
"""

from __future__ import annotations

from .model import DEFAULT_PATH, Landscape, fingerprint, load_landscape

__all__ = ["DEFAULT_PATH", "Landscape", "fingerprint", "load_landscape"]
