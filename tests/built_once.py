"""Build a test warehouse once per test run, shared by every xdist worker.

A session fixture runs once per worker process, so on two workers every expensive read-only
warehouse (the sample, its analysis, its holders build) was built twice. ``built_once`` builds
it under an exclusive lock in the folder the workers share (the run's base temp folder: unique
to this run) and the other workers wait and reuse it, the pattern of pytest-xdist's docs
("Making session-scoped fixtures execute only once"). Without xdist it builds in the session's
own temp folder. Callers only read the file (or copy it and write the copy)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import pytest


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The path of ``name``/w.duckdb, made by ``build(path)`` on first use in this run."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "built-once"
    root.mkdir(parents=True, exist_ok=True)
    target = root / name / "w.duckdb"
    with open(root / f"{name}.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            if not target.exists():
                work = root / f"{name}.building.{os.getpid()}"
                work.mkdir()
                build(work / "w.duckdb")
                work.rename(target.parent)
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    return target
