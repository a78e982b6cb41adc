"""One analyzed copy of the embedded sample per test session, shared by the show and report tests
(analyze takes seconds; building it once keeps each test well under a second)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from built_once import built_once

TODAY = dt.date(2026, 11, 28)


def analyzed_sample(tmp_path_factory: pytest.TempPathFactory, sample_warehouse: Path) -> Path:
    """The path of an analyzed copy of ``sample_warehouse`` (built on first use; tests only read it)."""
    from patentscope.analyze import analyze

    def build(path: Path) -> None:
        shutil.copy(sample_warehouse, path)
        analyze(path, at=TODAY, today=TODAY)

    return built_once(tmp_path_factory, "analyzed-sample", build)
