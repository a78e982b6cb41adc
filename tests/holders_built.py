"""One holders build of the embedded sample shared by the holder test modules (the build takes
seconds; each module gets its own copy of the built file)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

_BUILT: dict[str, Path] = {}


def built_copy(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    if "path" not in _BUILT:
        path = tmp_path_factory.mktemp("holders-built") / "w.duckdb"
        shutil.copy(sample_warehouse, path)
        con = duckdb.connect(str(path))
        try:
            from patentscope.holders.build import refresh

            refresh(con)
        finally:
            con.close()
        _BUILT["path"] = path
    out = tmp_path_factory.mktemp(name) / "w.duckdb"
    shutil.copy(_BUILT["path"], out)
    return out
