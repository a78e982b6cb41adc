"""Context of the report's opening findings section (templates/_findings.html.j2): the same
three blocks as `patentscope findings` (patentscope/findings.py), plus their charts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from ..errors import PatentscopeError
from ..warehouse.connection import tables


def findings_context(con: duckdb.DuckDBPyConnection, at: dt.date) -> dict[str, Any]:
    """``{"available", "at", "blocks", "charts", "reason"}``; never raises for a warehouse that
    lacks a step (the section then says which command to run)."""
    from ..findings import findings
    from .charts_findings import cliff_timeline, families_by_country, rate_variant_bands

    have = tables(con)
    try:
        f = findings(con, at)
    except PatentscopeError as e:
        return {"available": False, "at": at.isoformat(), "reason": str(e), "blocks": [], "charts": {}}
    charts = {"bands": rate_variant_bands(con, have), "countries": families_by_country(con, have),
              "cliffs": cliff_timeline(con, have)}
    return {"available": True, "at": f["at"], "min_families": f["min_families"], "blocks": f["blocks"], "charts": charts,
            "reason": None}
