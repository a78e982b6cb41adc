"""How commands print: tables, CSV and JSON on stdout, the row count on stderr.

:func:`cell` is the one place a value becomes the text of a table cell (swap in a number
formatter there: money with its currency, percentages, float noise shown as 0)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click
import polars as pl


def cell(v: Any, width: int | None) -> str:
    if v is None:
        s = ""
    elif isinstance(v, (list, tuple)):
        s = " ".join(str(x) for x in v)
    elif isinstance(v, float):
        s = f"{v:.6g}"
    else:
        s = str(v)
    s = s.replace("\n", " ")
    if width and len(s) > width:
        s = s[: width - 1] + "…"
    return s


def _json_default(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


def emit(df: pl.DataFrame, fmt: str, max_width: int | None = 60) -> None:
    """Print a frame as an aligned text table, CSV or JSON (one array of objects)."""
    if fmt == "json":
        click.echo(json.dumps(df.to_dicts(), default=_json_default, ensure_ascii=False, indent=1))
        return
    if fmt == "csv":
        flat = df.with_columns(
            [pl.col(c).map_elements(lambda x: " ".join(map(str, x)), return_dtype=pl.Utf8)
             for c, t in df.schema.items() if isinstance(t, pl.List)]
        )
        from ..warehouse.export import neutralise_frame  # no spreadsheet formulas, no secrets in CSV

        click.echo(neutralise_frame(flat).write_csv(), nl=False)
        return
    cols = df.columns
    rows = [[cell(v, max_width) for v in row] for row in df.iter_rows()]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(cols)]
    numeric = [df.schema[c].is_numeric() for c in cols]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cells, widths, numeric, strict=True)).rstrip()

    click.echo(line(cols))
    click.echo("  ".join("-" * w for w in widths))
    for r in rows:
        click.echo(line(r))
    click.echo(f"({df.height} row{'s' if df.height != 1 else ''})", err=True)


FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
                      show_default=True, help="Output format.")
CSV = click.option("--csv", "as_csv", is_flag=True, help="Shorthand for --format csv.")
JSON = click.option("--json", "as_json", is_flag=True, help="Shorthand for --format json.")


def _fmt(fmt: str, as_csv: bool, as_json: bool) -> str:
    return "csv" if as_csv else "json" if as_json else fmt


def _params(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for p in pairs:
        if "=" not in p:
            raise click.BadParameter(f"{p!r} is not NAME=VALUE", param_hint="--param")
        k, v = p.split("=", 1)
        out[k.strip()] = v
    return out



_cell = cell  # the name command modules of other owners still use
