"""patentscope: a patent-landscape and licensing analyzer for NdFeB rare-earth permanent magnets.

For notebooks::

    import patentscope
    wh = patentscope.open("warehouse/patentscope.duckdb")   # read-only
    wh.publications            # polars DataFrame of a table or view
    wh.sql("SELECT country, count(*) AS n FROM publications GROUP BY ALL", )
    wh.close()

Importing patentscope creates no files and opens no connections.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import Warehouse, open  # noqa: E402,A004

__all__ = ["Warehouse", "open", "__version__"]
