import pytest

import patentscope
from patentscope.config import load_settings, secret
from patentscope.errors import ConfigError, WarehouseError
from patentscope.landscape import load_landscape


def test_settings_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("PATENTSCOPE_WAREHOUSE", raising=False)
    monkeypatch.delenv("PATENTSCOPE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert str(load_settings().warehouse) == "warehouse/patentscope.duckdb"
    (tmp_path / "patentscope.toml").write_text('warehouse = "data/w.duckdb"\n', encoding="utf-8")
    assert load_settings().warehouse == tmp_path / "data/w.duckdb"
    monkeypatch.setenv("PATENTSCOPE_WAREHOUSE", "/env/w.duckdb")
    assert str(load_settings().warehouse) == "/env/w.duckdb"
    assert str(load_settings(warehouse="/flag/w.duckdb").warehouse) == "/flag/w.duckdb"


def test_secret_names_the_variable(monkeypatch):
    monkeypatch.delenv("USPTO_ODP_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="USPTO_ODP_API_KEY is not set"):
        secret("USPTO_ODP_API_KEY")
    monkeypatch.setenv("USPTO_ODP_API_KEY", "k")
    assert secret("USPTO_ODP_API_KEY") == "k"


def test_default_landscape_matches(landscape):
    assert "H01F1/057" in landscape.core_codes
    assert landscape.match(["H01F1/0577"], None) == "cpc:H01F1/0577"
    assert landscape.match([], "R-T-B based sintered magnet") == "keyword:R-T-B"
    assert landscape.match(["B22F9/04"], "jet milling of neodymium alloy") == "cpc+keyword:B22F9/04+neodymium"
    assert landscape.match(["B22F9/04"], "jet milling of ceramics") is None
    assert landscape.match([], "Permanent magnet materials") is None


def test_landscape_file_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("not = [toml", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_landscape(bad)
    empty = tmp_path / "empty.toml"
    empty.write_text('name = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="needs"):
        load_landscape(empty)
    with pytest.raises(ConfigError, match="cannot read"):
        load_landscape(tmp_path / "missing.toml")


def test_python_api_read_only_frames(sample_warehouse):
    with patentscope.open(sample_warehouse) as wh:
        assert "publication_overview" in wh.names()
        assert wh.publications.height == 147
        df = wh.sql("SELECT name_as_written FROM parties WHERE pub_key = $k AND role = 'inventor' ORDER BY seq", k="US-4770723")
        assert df["name_as_written"].to_list() == ["Masato Sagawa", "Setsuo Fujimura", "Yutaka Matsuura"]
        with pytest.raises(AttributeError):
            _ = wh.no_such_table


def test_open_missing(tmp_path):
    with pytest.raises(WarehouseError, match="no warehouse"):
        patentscope.open(tmp_path / "none.duckdb")


def test_import_creates_nothing(tmp_path):
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-c", "import patentscope, patentscope.cli, patentscope.report, patentscope.ingest.sample"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert list(tmp_path.iterdir()) == []


def test_landscape_errors_name_file_line_and_key(tmp_path):
    f = tmp_path / "l.toml"
    f.write_text('name = "x"\n[classification]\ncore = ["H01F1/057", "H01F 1/0X7"]\n[keywords]\nstorng = ["a"]\n',
                 encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_landscape(f)
    msg = str(e.value)
    assert f"{f}:3: classification.core" in msg and "'H01F 1/0X7' is not a CPC/IPC symbol" in msg
    assert f"{f}:5: keywords.storng: unknown key; did you mean 'strong'?" in msg
