"""Export tables and views to Parquet or CSV files for other tools (read-only on the warehouse)."""

from __future__ import annotations

from pathlib import Path

from ..errors import PatentscopeError
from .connection import reader


def export(warehouse: Path, out_dir: Path, fmt: str, names: list[str] | None = None) -> list[Path]:
    if fmt not in ("parquet", "csv"):
        raise PatentscopeError(f"unknown export format {fmt!r}; use parquet or csv")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    # sandbox=False: COPY ... TO needs the file system; the SQL below is ours, not a user's
    with reader(warehouse, sandbox=False) as con:
        available = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name"
        ).fetchall()]
        wanted = names or available
        missing = [n for n in wanted if n not in available]
        if missing:
            raise PatentscopeError(f"no table or view {', '.join(missing)}; available: {', '.join(available)}")
        for name in wanted:
            target = out_dir / f"{name}.{fmt}"
            tmp = out_dir / f".{name}.{fmt}.part"
            options = "(FORMAT parquet, COMPRESSION zstd)" if fmt == "parquet" else "(FORMAT csv, HEADER true)"
            # identifiers come from the catalog above, paths are bound as parameters
            con.execute(f'COPY (SELECT * FROM "{name}") TO $path {options}', {"path": str(tmp)}).fetchall()
            tmp.replace(target)
            written.append(target)
    return written
