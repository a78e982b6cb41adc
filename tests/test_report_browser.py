"""The report in a real browser (headless Chromium through Playwright): no console errors,
every section present, hostile text inert, sortable tables work. Screenshots are saved under
pytest's tmp folder (the path is printed). Skipped, with the reason, where Chromium or
Playwright is not installed; `.ci/run` installs both."""

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from patentscope.analyze import analyze
from patentscope.report import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[browser]')")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (apt-get install chromium)")

SECTIONS = ["summary", "holders", "segments", "basic-patents", "expiry", "royalty", "records", "methodology"]
HOSTILE = "<img src=x onerror=\"window.__pwned=1\">"


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def open_report(browser, path: Path, shot: Path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems, requests = [], []
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:", "about:")) else None)
    page.goto(path.as_uri())
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    return page, problems, requests


@pytest.fixture(scope="module")
def demo_report(sample_warehouse, landscape, tmp_path_factory):
    d = tmp_path_factory.mktemp("browser")
    wh = d / "w.duckdb"
    shutil.copy(sample_warehouse, wh)
    con = duckdb.connect(str(wh))  # SYNTHETIC security probe: one title replaced by hostile markup
    con.execute("UPDATE publications SET title = $t WHERE pub_key = 'US-4770723'", {"t": HOSTILE}).fetchall()
    con.close()
    analyze(wh, at=dt.date(2026, 11, 28), today=dt.date(2026, 11, 28))
    from patentscope.ingest.sample import sample_folder
    from patentscope.metrics.royalty import load_scenario, run_scenario
    from patentscope.warehouse.connection import writer
    with writer(wh) as con:
        run_scenario(con, load_scenario(sample_folder().parent / "royalty" / "example_scenario.toml"))
    return write_report(wh, landscape, d / "demo.html"), d


def test_demo_report_in_browser(browser, demo_report):
    path, d = demo_report
    page, problems, requests = open_report(browser, path, d / "demo.png")
    assert problems == [] and requests == []
    for s in SECTIONS:
        assert page.locator(f"section#{s}").count() == 1, s
        assert page.locator(f"section#{s} h2").inner_text()
    assert page.evaluate("window.__pwned") is None          # the hostile title did not run
    assert page.get_by_text(HOSTILE).count() >= 1            # ... and shows as text
    assert page.locator("section#royalty svg.chart").count() >= 2
    # sorting: a click on "earliest date" sorts ascending, a second click descending
    header = page.locator("#records-table thead th", has_text="earliest date")

    def dates():
        cells = page.locator("#records-table tbody tr td:nth-child(4)").all_inner_texts()
        return [c for c in cells if c]

    header.click()
    asc = dates()
    header.click()
    desc = dates()
    assert asc == sorted(asc) and desc == sorted(desc, reverse=True) and asc[0] != desc[0]
    # filtering narrows the table
    page.fill("input.filter", "Sagawa-not-a-title-xyz")
    assert page.locator("#records-table tbody tr:visible").count() == 0
    page.fill("input.filter", "")
    assert page.locator("#records-table tbody tr:visible").count() > 100


def test_synthetic_warehouse_report_in_browser(browser, landscape, tmp_path):
    from patentscope.testing.synthetic import build_warehouse
    wh = build_warehouse(tmp_path / "syn.duckdb", 3000, seed=5)
    analyze(wh, at=dt.date(2026, 11, 28), today=dt.date(2026, 11, 28))
    path = write_report(wh, landscape, tmp_path / "synthetic.html")
    size = path.stat().st_size
    print(f"synthetic report: 3000 publications -> {size:,} bytes")
    assert size < 3_000_000
    page, problems, requests = open_report(browser, path, tmp_path / "synthetic.png")
    assert problems == [] and requests == []
    for s in SECTIONS:
        assert page.locator(f"section#{s}").count() == 1
    assert page.locator("section#royalty .empty").count() == 1  # no scenario run: the section says so
    assert page.locator("#records-table tbody tr").count() == 1000  # capped; the note says how many more
    assert "1000 most recent of 3000" in page.locator("section#records").inner_text()
