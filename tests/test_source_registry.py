"""The source registry: every registered source module declares its options and run(), and the
jobs, `status` and the config checks all read the one list."""

from __future__ import annotations

import inspect

import pytest

from patentscope import jobs
from patentscope.cli.commands import status
from patentscope.config import load_settings
from patentscope.errors import ConfigError
from patentscope.ingest import registry


@pytest.mark.parametrize("source", registry.SOURCES, ids=lambda s: s.name)
def test_each_source_module_declares_options_and_run(source):
    mod = source.load()
    assert list(inspect.signature(mod.run).parameters) == ["job", "opts", "res"]
    opts = source.options()
    assert opts["enabled"] == registry.Option("bool", True)
    assert all(isinstance(o, registry.Option) for o in opts.values())
    assert all(o.kind in ("bool", "int", "float", "str", "date", "strs", "choice", "any") for o in opts.values())
    if any(o.kind == "any" for o in opts.values()):  # a value of several kinds is validated by the module
        assert callable(getattr(mod, "check", None))


def test_one_name_map_and_order():
    assert status.INGEST_SOURCE is registry.INGEST_SOURCE is jobs.INGEST_SOURCE
    assert jobs.ORDER == tuple(s.name for s in registry.SOURCES)
    assert registry.INGEST_SOURCE["uspto_bulk"] == "bulk" and registry.INGEST_SOURCE["uspto_odp"] == "odp"


def test_plan_reads_the_declared_options(tmp_path):
    cfg = tmp_path / "patentscope.toml"
    cfg.write_text('[sources.ops]\npage_size = 50\n[sources.uspto_bulk]\ndownload = true\n', encoding="utf-8")
    plan = jobs.load_plan(load_settings(config=cfg, warehouse=tmp_path / "w.duckdb"))
    assert [s.name for s in plan.sources] == ["ops", "uspto_bulk"]  # registry order, not file order
    ops = plan.sources[0].options
    assert ops["page_size"] == 50 and ops["group_size"] == 20 and ops["overlap_days"] == 30
    cfg.write_text('[sources.ops]\npage_sise = 50\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"patentscope.toml:2: unknown key 'page_sise' in \[sources.ops\]; "
                                          r"did you mean 'page_size'\?; known: enabled, since"):
        jobs.load_plan(load_settings(config=cfg, warehouse=tmp_path / "w.duckdb"))
    cfg.write_text('[sources.uspto_bulk]\n', encoding="utf-8")  # the module's check()
    with pytest.raises(ConfigError, match="give either directory"):
        jobs.load_plan(load_settings(config=cfg, warehouse=tmp_path / "w.duckdb"))
