"""The demo report: sections present, every piece of patent text escaped, no external requests."""

import re
import shutil

import duckdb

from patentscope.report import build_context, render, write_report

HOSTILE = "<img src=x onerror=alert(1)>"


def test_report_sections_and_caveat(sample_warehouse, landscape, tmp_path):
    out = write_report(sample_warehouse, landscape, tmp_path / "r.html")
    html = out.read_text(encoding="utf-8")
    for section in ("summary", "holders", "years", "records", "provenance", "caveat"):
        assert f'id="{section}"' in html
    assert "147 real NdFeB patents" in html and "not a landscape" in html
    # every record links to its source page
    assert html.count('rel="noopener noreferrer nofollow"') == 145  # two rows came from excerpts without a URL
    # self-contained: no external resources are loaded at view time
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=\"https?:", html)
    assert "Content-Security-Policy" in html


def test_hostile_text_is_escaped(sample_warehouse, landscape, tmp_path):
    # SYNTHETIC security fixture: a copy of the real sample warehouse with one title replaced
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
    assert "<script" not in html


def test_empty_warehouse_report_says_so(tmp_path, landscape):
    from patentscope.warehouse import migrations
    wh = tmp_path / "empty.duckdb"
    con = duckdb.connect(str(wh))
    migrations.apply(con)
    con.close()
    html = render(build_context(wh, landscape))
    assert "No publications in the landscape yet." in html and "No dated publications yet." in html
