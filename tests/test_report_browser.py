"""The report in a real browser (headless Chromium through Playwright): no console errors,
every section present, hostile text inert, sortable tables work. Screenshots are saved under
pytest's tmp folder (the path is printed). Skipped, with the reason, where Chromium or
Playwright is not installed; `.ci/run` installs both and runs them with the integration tests."""

import datetime as dt
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from patentscope.analyze import analyze
from patentscope.report import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[browser]')")
# a real browser per test: integration tests (`pytest -m integration`; .ci/run runs them after the default suite)
pytestmark = [pytest.mark.browser, pytest.mark.integration,
              pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (apt-get install chromium)")]

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


MEASURE = """() => {
  const vw = document.documentElement.clientWidth;
  const boxOf = (el) => { let e = el.parentElement;
    while (e && e !== document.body) { const s = getComputedStyle(e);
      if (s.overflowX === 'auto' || s.overflowX === 'scroll') return e.getBoundingClientRect(); e = e.parentElement; }
    return el.getBoundingClientRect(); };
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const tables = [...document.querySelectorAll('table')].filter(visible);
  const svgs = [...document.querySelectorAll('svg.chart')].filter(visible);
  const texts = svgs.flatMap(s => [...s.querySelectorAll('text')].map(t => ({t, s})));
  const px = texts.map(({t, s}) => parseFloat(getComputedStyle(t).fontSize) * s.getBoundingClientRect().width / s.viewBox.baseVal.width);
  const overlaps = [];
  for (const s of svgs) { const labels = [...s.querySelectorAll('text.ml')].map(t => t.getBoundingClientRect());
    for (let i = 0; i < labels.length; i++) for (let j = i + 1; j < labels.length; j++) { const a = labels[i], b = labels[j];
      if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) overlaps.push(s.getAttribute('aria-label')); } }
  return {vw, scrollWidth: document.documentElement.scrollWidth, tables: tables.length,
          overflowing: tables.filter(t => boxOf(t).right > vw + 0.5).length,
          svgs: svgs.length, svgWider: svgs.filter(s => s.getBoundingClientRect().right > vw + 0.5).length,
          minFont: Math.min(...px), overlaps};
}"""


@pytest.mark.parametrize("width", [420, 1400])
def test_report_fits_phone_and_projector(browser, demo_report, width):
    path, d = demo_report
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.goto(path.as_uri())
    page.screenshot(path=str(d / f"w{width}.png"), full_page=True)
    m = page.evaluate(MEASURE)
    print(f"{width} px: {m}")
    assert problems == []
    assert m["scrollWidth"] <= width          # the page is never wider than the screen
    assert m["tables"] >= 10 and m["overflowing"] == 0   # wide tables scroll inside their box
    assert m["svgs"] >= 5 and m["svgWider"] == 0
    assert m["minFont"] >= 9.5, m["minFont"]  # chart text stays readable
    assert m["overlaps"] == []                # marker labels (today, cliffs) never overlap
    # one layout of each chart is shown, chosen by the width
    shown = "narrow" if width < 720 else "wide"
    assert page.locator(f"svg.chart.{shown}").first.is_visible()
    assert not page.locator(f"svg.chart.{'wide' if shown == 'narrow' else 'narrow'}").first.is_visible()
    page.close()


def test_report_charts_read_right(browser, demo_report):
    path, _d = demo_report
    page = browser.new_page(viewport={"width": 420, "height": 900})
    page.goto(path.as_uri())
    # segments: small multiples, one panel per segment (no tangle of lines in one chart)
    panels = page.locator("section#segments .multiples svg")
    names = [t.strip() for t in page.locator("section#segments .multiples svg text.st").all_text_contents()]
    table_segments = {r.split("\t")[0] for r in page.locator("section#segments table").first.locator("tbody tr").all_inner_texts()}
    assert panels.count() == len(names) >= 5 and set(names) == table_segments - {"unclassified"}
    # counts get integer ticks
    for sel in ("section#segments .multiples svg", "section#expiry svg.chart.narrow"):
        ticks = [t for t in page.locator(f"{sel} text.ax").all_text_contents() if t.strip()]
        values = [float(t.replace(",", "")) for t in ticks if t.replace(",", "").replace(".", "").isdigit()]
        assert values and all(v == int(v) for v in values), (sel, ticks)
    # full legends: every holder group of the expiry chart by its full name
    legend = page.locator("section#expiry figure ul.legend li").all_inner_texts()
    assert legend and not any("…" in x for x in legend)
    # timestamps: local time with a zone, to the minute
    header = page.locator("header .muted").inner_text()
    assert re.search(r"generated \d{4}-\d{2}-\d{2} \d{2}:\d{2} (UTC|\S+ \(UTC[+-]\d\d:\d\d\)|UTC[+-]\d\d:\d\d)", header), header
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d+", page.content())
    # each chart downloads its data as CSV from a data: URI
    figures = page.locator("figure.chart-fig")
    assert figures.count() == page.locator("figure.chart-fig a.csv").count() >= 5
    with page.expect_download() as dl:
        page.locator("section#expiry a.csv").first.click()
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0] == "x,series,value" and len(text.splitlines()) > 10
    page.close()
