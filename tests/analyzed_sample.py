"""One analyzed copy of the embedded sample per test session, shared by the show and report tests
(analyze takes seconds; building it once keeps each test well under a second)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

TODAY = dt.date(2026, 11, 28)


def analyzed_sample(tmp_path_factory: pytest.TempPathFactory, sample_warehouse: Path) -> Path:
    """The path of an analyzed copy of ``sample_warehouse`` (built on first use; tests only read it)."""
    from patentscope.analyze import analyze

    target = tmp_path_factory.getbasetemp() / "analyzed-sample" / "w.duckdb"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name("building.duckdb")
        shutil.copy(sample_warehouse, tmp)
        analyze(tmp, at=TODAY, today=TODAY)
        tmp.replace(target)
    return target
