"""The README's quick start: two commands that work on a stock Debian/Ubuntu Python (PEP 668).

The fast tests check the README's text against .ci/run and pyproject.toml; the slow test runs
both commands, exactly as written, in a throwaway copy of the repository with a Python whose
pip refuses installs outside a virtual environment (the "externally-managed-environment" marker).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def quickstart_commands(readme: str | None = None) -> list[str]:
    """The shell blocks of the README's "Quick start" section, in order (one command each)."""
    text = readme if readme is not None else (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return [b.strip() for b in blocks if "venv" in b]


def test_readme_has_two_quickstart_commands_each_making_or_reusing_a_venv() -> None:
    demo, tests = quickstart_commands()
    for cmd in (demo, tests):
        assert "\n" not in cmd
        assert cmd.startswith("python3 -m venv .venv && .venv/bin/pip install ")
        # nothing is installed with the system interpreter's pip
        assert "python3 -m pip" not in cmd and not re.search(r"(^|&& )pip ", cmd)
    assert demo.endswith(".venv/bin/patentscope demo")
    assert "'.[test]'" in tests and tests.endswith(".venv/bin/python -m pytest")


def test_ci_runs_the_readme_test_command_exactly() -> None:
    _, tests = quickstart_commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in [line.strip() for line in ci], f".ci/run must contain the README's test command: {tests}"
    # the browser extras go into the same environment the tests then run in
    assert any(".venv/bin/pip install" in line and "[browser]" in line for line in ci)
    assert not any(re.match(r"\s*python3 -m (pip|pytest|ruff|mypy)\b", line) for line in ci)


def test_readme_names_the_duckdb_that_reads_the_warehouse_and_the_parquet_route() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    spec = re.search(r'"duckdb([^"]+)"', pyproject)
    assert spec is not None
    assert f"duckdb{spec.group(1)}" in readme, "README must state the DuckDB version range pyproject pins"
    assert "DuckDB 1.x cannot open it" in readme
    assert "export --format parquet" in readme.split("## Using it")[0]


def _externally_managed_python() -> str | None:
    """A base (non-venv) python3 whose stdlib carries pip's EXTERNALLY-MANAGED marker, with venv."""
    for cand in ("/usr/bin/python3", shutil.which("python3") or ""):
        if not cand or not Path(cand).exists():
            continue
        probe = subprocess.run(
            [cand, "-c", "import sys, sysconfig, ensurepip, venv; "
             "print(sysconfig.get_path('stdlib')); print(sys.prefix == sys.base_prefix)"],
            capture_output=True, text=True,
        )
        if probe.returncode != 0:
            continue
        stdlib, is_base = probe.stdout.split()
        if is_base == "True" and (Path(stdlib) / "EXTERNALLY-MANAGED").exists():
            return cand
    return None


@pytest.mark.slow
def test_quickstart_commands_run_on_an_externally_managed_python(tmp_path: Path) -> None:
    py = _externally_managed_python()
    if py is None:
        pytest.skip(f"no python3 with pip's EXTERNALLY-MANAGED marker here (this one: {sysconfig.get_path('stdlib')})")
    repo = tmp_path / "clone"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for rel in filter(None, files.split("\0")):
        src = ROOT / rel
        if src.is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / rel)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python3").symlink_to(py)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PIP_BREAK", "PYTHON", "PATENTSCOPE_"))}
    env["PATH"] = f"{bindir}{os.pathsep}/usr/bin{os.pathsep}/bin"
    env["HOME"] = str(tmp_path)

    # the marker is in force: the old quick start's `python3 -m pip install` is refused
    # (a dry run of a package that does not exist, so nothing could be installed either way)
    refused = subprocess.run(["python3", "-m", "pip", "install", "--dry-run", "--no-index", "no-such-package-x"],
                             cwd=repo, env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "externally-managed-environment" in refused.stdout + refused.stderr

    demo, tests = quickstart_commands((repo / "README.md").read_text(encoding="utf-8"))
    r = subprocess.run(["sh", "-c", demo], cwd=repo, env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (repo / "patentscope-demo" / "report.html").is_file()
    assert "patentscope-demo/report.html" in r.stdout + r.stderr

    # the exact test command, reusing .venv; the inner run is narrowed to this file's fast tests
    # through the environment so the suite does not run itself twice over
    env["PYTEST_ADDOPTS"] = "tests/test_quickstart.py -m 'not slow'"
    r = subprocess.run(["sh", "-c", tests], cwd=repo, env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert re.search(r"\b3 passed\b", r.stdout), r.stdout[-2000:]
