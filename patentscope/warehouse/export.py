"""Export tables and views to Parquet or CSV files for other tools (read-only on the warehouse).

Two things happen on the way out:

* **Secrets are scrubbed** (:mod:`patentscope.redact`): in every text column the values of the
  secret environment variables and of tokens registered at run time are replaced by
  ``[REDACTED]`` (in SQL, so large tables stay fast), and the bookkeeping tables where server
  messages land (:data:`LOG_TABLES`) also go through the full pattern scrubber (bearer
  headers, ``token=...``, URL passwords).
* **Spreadsheet formulas are neutralised in CSV** (:func:`neutralise_cell`): a text cell that
  begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be run as a formula
  by Excel, LibreOffice or Google Sheets ("CSV injection", OWASP); such a cell is written with a
  leading single quote (``'=HYPERLINK(...)``), which spreadsheets show as text. Numbers are
  numeric columns and are never touched; a text cell like ``-5`` does get the quote. Opt out
  with ``patentscope export --keep-formulas`` (or ``keep_formulas=True``), and for ``--csv``
  table output with ``PATENTSCOPE_CSV_KEEP_FORMULAS=1``. Parquet is typed and not changed.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from ..errors import PatentscopeError
from ..redact import REDACTED, scrub, secret_literals
from .cells import FORMULA_STARTS, keep_formulas_from_env, neutralise_cell, neutralise_frame, scrub_frame
from .connection import reader, tables

__all__ = ["FORMULA_STARTS", "LOG_TABLES", "export", "keep_formulas_from_env", "neutralise_cell", "neutralise_frame", "scrub_frame"]

LOG_TABLES = frozenset({"ingest_runs", "job_runs", "job_steps", "ingest_state", "quarantine"})


def _columns(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' AND table_name = $t "
        "ORDER BY ordinal_position", {"t": name}).fetchall()]


def _q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def _select(name: str, cols: list[tuple[str, str]], n_lits: int, csv: bool, keep_formulas: bool) -> str:
    """SELECT list scrubbing literal secrets ($s0, $s1...) and, for CSV, quoting formula cells."""
    parts = []
    for col, dtype in cols:
        expr = _q(col)
        if dtype.upper() == "VARCHAR":
            for i in range(n_lits):
                expr = f"replace({expr}, $s{i}, '{REDACTED}')"
            if csv and not keep_formulas:
                expr = f"CASE WHEN regexp_matches({expr}, '^[=+\\-@\\t\\r]') THEN '''' || {expr} ELSE {expr} END"
        parts.append(f"{expr} AS {_q(col)}")
    return f"SELECT {', '.join(parts) or '*'} FROM {_q(name)}"


def _write_log_table(con: duckdb.DuckDBPyConnection, name: str, tmp: Path, fmt: str, keep_formulas: bool) -> None:
    df = con.sql(f"SELECT * FROM {_q(name)}").pl()
    df = df.with_columns([pl.col(c).map_elements(scrub, return_dtype=pl.Utf8) for c, t in df.schema.items() if t == pl.Utf8])
    if fmt == "parquet":
        df.write_parquet(tmp, compression="zstd")
        return
    flat = df.with_columns([pl.col(c).map_elements(lambda x: " ".join(map(str, x)), return_dtype=pl.Utf8)
                            for c, t in df.schema.items() if isinstance(t, pl.List)])
    neutralise_frame(flat, keep_formulas=keep_formulas).write_csv(tmp)


def export(warehouse: Path, out_dir: Path, fmt: str, names: list[str] | None = None, *,
           keep_formulas: bool = False) -> list[Path]:
    if fmt not in ("parquet", "csv"):
        raise PatentscopeError(f"unknown export format {fmt!r}; use parquet or csv")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PatentscopeError(f"cannot create the export folder {out_dir}: {e.strerror}") from None
    written: list[Path] = []
    lits = secret_literals()
    params = {f"s{i}": v for i, v in enumerate(lits)}
    # sandbox=False: COPY ... TO needs the file system; the SQL below is ours, not a user's
    with reader(warehouse, sandbox=False) as con:
        available = sorted(tables(con))
        wanted = names or available
        missing = [n for n in wanted if n not in available]
        if missing:
            raise PatentscopeError(f"no table or view {', '.join(missing)}; available: {', '.join(available)}")
        for name in wanted:
            target = out_dir / f"{name}.{fmt}"
            tmp = out_dir / f".{name}.{fmt}.part"
            try:
                if name in LOG_TABLES:
                    _write_log_table(con, name, tmp, fmt, keep_formulas)
                else:
                    options = "(FORMAT parquet, COMPRESSION zstd)" if fmt == "parquet" else "(FORMAT csv, HEADER true)"
                    select = _select(name, _columns(con, name), len(lits), fmt == "csv", keep_formulas)
                    # identifiers come from the catalog above, paths and secrets are bound as parameters
                    con.execute(f"COPY ({select}) TO $path {options}", {"path": str(tmp), **params}).fetchall()
                tmp.replace(target)
            except (OSError, duckdb.IOException) as e:
                tmp.unlink(missing_ok=True)
                raise PatentscopeError(f"cannot write {target}: {getattr(e, 'strerror', None) or str(e).splitlines()[0]}; "
                                       "check the folder given by --out (space, permissions)") from None
            written.append(target)
    return written
