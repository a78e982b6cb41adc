"""Shared fixtures: real sample data, migrated warehouses in tmp paths, the shared/ folder."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from patentscope.ingest.sample import ingest_sample_format, sample_folder
from patentscope.landscape import load_landscape
from patentscope.warehouse import migrations

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def landscape():
    return load_landscape()


@pytest.fixture()
def mem_con():
    con = duckdb.connect(":memory:")
    migrations.apply(con)
    yield con
    con.close()


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory, landscape) -> Path:
    """A warehouse file built once from the embedded sample (tests must only read it)."""
    path = tmp_path_factory.mktemp("sample") / "patentscope.duckdb"
    ingest_sample_format(path, sample_folder(), landscape, command="pytest")
    return path


@pytest.fixture(scope="session")
def sample_con(sample_warehouse):
    from patentscope.warehouse.connection import open_reader
    con = open_reader(sample_warehouse)  # same settings as every reader: DuckDB refuses mixed ones
    yield con
    con.close()
