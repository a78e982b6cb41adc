"""patentscope: a patent-landscape and licensing analyzer for NdFeB rare-earth permanent magnets.

For notebooks::

    import patentscope
    wh = patentscope.open("warehouse/patentscope.duckdb")   # read-only
    wh.publications            # polars DataFrame of a table or view
    wh.sql("SELECT country, count(*) AS n FROM publications GROUP BY ALL", )
    wh.close()

Importing patentscope creates no files, opens no connections and loads neither polars nor
DuckDB: ``open`` and ``Warehouse`` come from :mod:`patentscope.api` on first use, so importing a
light submodule (``patentscope.normalize.numbers``, ``patentscope.errors``) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import Warehouse, open  # noqa: A004

__all__ = ["Warehouse", "open", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Warehouse", "open"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'patentscope' has no attribute {name!r}")
