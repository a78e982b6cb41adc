"""The report's HTML: sections present, every piece of patent text escaped, no external requests."""

import re
import shutil

import duckdb

from patentscope.links import check_link
from patentscope.report import build_context, public_page, render, write_report
from patentscope.warehouse.connection import reader
from patentscope.warehouse.query import load_queries, run_read_only

HOSTILE = "<img src=x onerror=alert(1)>"
SECTIONS = ("summary", "holders", "segments", "basic-patents", "expiry", "royalty", "records", "methodology")


def test_report_sections_and_caveat(sample_warehouse, landscape, tmp_path):
    out = write_report(sample_warehouse, landscape, tmp_path / "r.html")
    html = out.read_text(encoding="utf-8")
    for section in (*SECTIONS, "caveat"):
        assert f'id="{section}"' in html, section
    assert "147 real NdFeB patents" in html and "not a landscape" in html
    # records link to their source pages (two rows came from excerpts without a URL)
    assert html.count('rel="noopener noreferrer nofollow"') >= 135
    # self-contained: nothing is loaded from elsewhere at view time
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=\"https?:", html)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    # the only script is ours, bound to this render's nonce
    scripts = re.findall(r"<script[^>]*>", html)
    assert len(scripts) == 1 and re.fullmatch(r'<script nonce="[\w-]+">', scripts[0])
    nonce = re.search(r'nonce="([\w-]+)"', scripts[0]).group(1)
    assert f"script-src 'nonce-{nonce}'" in html


def test_sections_without_data_say_so(sample_warehouse, landscape):
    # the sample warehouse of this fixture is loaded but not analyzed
    ctx = build_context(sample_warehouse, landscape)
    html = render(ctx)
    assert "Segments have not been computed yet" in html
    # fields where two sources showed different values: as many as the named query lists
    with reader(sample_warehouse) as con:
        q = load_queries()["source_disagreements"]
        assert ctx["disagreements"] == run_read_only(con, q.sql, q.bind({})).select("pub_key", "field").unique().height > 3
    assert "Citation centrality has not been computed yet" in html
    assert "Expiry has not been computed yet" in html
    assert "No royalty scenario has been run" in html
    assert "Holder groups and concentration have not been computed yet" in html


def test_hostile_text_is_escaped(sample_warehouse, landscape, tmp_path):
    # SYNTHETIC security fixture: a copy of the real sample warehouse with text replaced
    wh = tmp_path / "hostile.duckdb"
    shutil.copy(sample_warehouse, wh)
    con = duckdb.connect(str(wh))
    con.execute("UPDATE publications SET title = $t, source_url = 'javascript:alert(2)' WHERE pub_key = 'US-4770723'", {"t": HOSTILE}).fetchall()
    con.execute("UPDATE parties SET name_as_written = $t WHERE pub_key = 'US-4770723' AND role = 'original_assignee'",
                {"t": '"><script>alert(3)</script>'}).fetchall()
    con.close()
    html = render(build_context(wh, landscape))
    assert HOSTILE not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>alert(3)</script>" not in html
    assert "javascript:" not in html  # non-http links are dropped, the number shows as text
    assert len(re.findall(r"<script", html)) == 1


def test_empty_warehouse_report_says_so(tmp_path, landscape):
    from patentscope.warehouse import migrations
    wh = tmp_path / "empty.duckdb"
    con = duckdb.connect(str(wh))
    migrations.apply(con)
    con.close()
    html = render(build_context(wh, landscape))
    for s in SECTIONS:
        assert f'id="{s}"' in html
    assert "No royalty scenario has been run" in html


def test_public_page_links():
    # the canonical page is built from the number, whatever page the record was transcribed from
    assert public_page("US-4770723-A", "http://example.org/p") == "https://patents.google.com/patent/US4770723A/en"
    assert public_page("US-4770723-A", "javascript:alert(1)") == "https://patents.google.com/patent/US4770723A/en"
    assert public_page("US-4770723-A") == "https://patents.google.com/patent/US4770723A/en"


def test_no_report_link_goes_to_a_proxy_or_look_alike_host(sample_warehouse, landscape, tmp_path):
    html = write_report(sample_warehouse, landscape, tmp_path / "r.html").read_text(encoding="utf-8")
    links = re.findall(r'href="(https?://[^"]+)"', html)
    assert len(links) > 300
    bad = [u for u in links if check_link(u.replace("&amp;", "&"))[0] == "other"]
    assert bad == []
    for host in ("veesta.com", "79.170.44.78", "cloudfrontnetl.store", "glgoo.top"):
        assert f'href="http://{host}' not in html and f'href="https://{host}' not in html
    # the proxied record links to its canonical pages and names its source host with a warning
    row = html[html.index('<tr id="rec-US-4770723">'):]
    row = row[: row.index("</tr>")]
    assert 'href="https://patents.google.com/patent/US4770723A/en"' in row
    assert 'href="https://ppubs.uspto.gov/pubwebapp/external.html?q=4770723.pn."' in row
    assert "source: veesta.com ⚠" in row and "web proxy or mirror" in row
    assert "patentscope show US4770723A" in row
    # one anchor per record, each unique
    anchors = re.findall(r'<tr id="(rec-[^"]+)"', html)
    assert len(anchors) == len(set(anchors)) == html.count("<tr id=\"rec-")


def test_analyzed_but_empty_warehouse_does_not_say_run_analyze(tmp_path, landscape):
    from patentscope.analyze import analyze
    from patentscope.warehouse import migrations
    wh = tmp_path / "empty.duckdb"
    con = duckdb.connect(str(wh))
    migrations.apply(con)
    con.close()
    assert "run <code>patentscope analyze</code>" in render(build_context(wh, landscape))
    analyze(wh)
    html = render(build_context(wh, landscape))
    assert "run <code>patentscope analyze</code>" not in html
    assert "analyze ran (" in html and "no publication to classify" in html
