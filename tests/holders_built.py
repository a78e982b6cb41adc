"""One holders build of the embedded sample shared by the holder test modules (the build takes
seconds; each module gets its own copy of the built file)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from built_once import built_once


def built_copy(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    def build(path: Path) -> None:
        shutil.copy(sample_warehouse, path)
        con = duckdb.connect(str(path))
        try:
            from patentscope.holders.build import refresh

            refresh(con)
        finally:
            con.close()

    out = tmp_path_factory.mktemp(name) / "w.duckdb"
    shutil.copy(built_once(tmp_path_factory, "holders-built", build), out)
    return out
