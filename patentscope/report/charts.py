"""Inline SVG charts for the report: no script, no external file, readable on a phone, a
projector and in print.

Every chart is a ``<figure>``: its title and legend are HTML (they wrap, and legends show every
name in full), the plot is an SVG with a viewBox (it scales with its box) drawn twice — a wide
layout and a narrow one that CSS swaps below 720 px, so axis text stays at a readable size —
and a link downloads the chart's data as CSV from a ``data:`` URI (no request). Counts get
integer ticks; vertical marker labels are packed into rows so they never overlap.

Every function returns ``markupsafe.Markup``; every piece of text that goes into the SVG or the
HTML is escaped here, so patent text (holder names as labels) cannot inject markup.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import quote

from markupsafe import Markup, escape

PALETTE = ["#2f6f9f", "#c4572a", "#4e9a3a", "#8a4bb0", "#b8860b", "#008b8b", "#b03060", "#556b2f", "#6a5acd", "#808080"]
WIDE = (760, 280)      # viewBox of the wide layout (shown from 720 px up)
NARROW = (400, 260)    # viewBox of the narrow layout (phones): about 1 viewBox unit per CSS pixel
CHAR_W = 7.0           # upper bound of the average width of an 11 px label character (DejaVu Sans), for packing labels


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def _ticks(vmax: float, integer: bool = False, n: int = 4) -> tuple[float, list[float]]:
    """(axis maximum, tick values) from 0: integer steps for counts (never 0.5 of a family)."""
    if not integer:
        top = _nice_max(vmax)
        return top, [top * i / n for i in range(n + 1)]
    vmax = max(1.0, math.ceil(vmax))
    raw = vmax / n
    exp = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next((m * exp for m in (1, 2, 5, 10) if m * exp >= raw), 10 * exp)
    step = max(1, int(step))
    top = step * math.ceil(vmax / step)
    return float(top), [float(v) for v in range(0, int(top) + 1, step)]


def _fmt(v: float) -> str:
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if v == int(v):
        return f"{v:.0f}"
    return f"{v:.3g}"


def _axes(out: list[str], *, left: float, top: float, pw: float, ph: float, x0: float, x1: float, ymax: float,
          X: Callable[[float], float], Y: Callable[[float], float], y_label: str, fmt_y: Callable[[float], str],
          y_ticks: Sequence[float] | None = None, max_x_ticks: int = 8) -> None:
    """Horizontal grid lines with y labels, year ticks on x, and the rotated y-axis label."""
    for yv in (y_ticks if y_ticks is not None else [ymax * i / 4 for i in range(5)]):
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{Y(yv):.1f}" y2="{Y(yv):.1f}" class="grid"/>')
        out.append(f'<text x="{left - 6}" y="{Y(yv) + 4:.1f}" text-anchor="end" class="ax">{escape(fmt_y(yv))}</text>')
    step = max(1, math.ceil((x1 - x0) / max_x_ticks))
    xv = math.ceil(x0)
    while xv <= x1:
        out.append(f'<text x="{X(xv):.1f}" y="{top + ph + 16}" text-anchor="middle" class="ax">{int(xv)}</text>')
        xv += step
    out.append(f'<text x="12" y="{top + ph / 2:.0f}" transform="rotate(-90 12 {top + ph / 2:.0f})" text-anchor="middle" '
               f'class="ax">{escape(y_label)}</text>')


def pack_labels(items: Sequence[tuple[float, str]], *, left: float, right: float, gap: float = 6.0) -> list[tuple[float, int, str]]:
    """Place labels (x, text) in rows so that none overlaps another: ``(x, row, anchor)`` each,
    anchor "start" or "end" (labels near the right edge end at their line)."""
    rows: list[list[tuple[float, float]]] = []
    placed = []
    for x, text in sorted(items, key=lambda t: t[0]):
        w = CHAR_W * len(text) + 4
        anchor = "end" if x + w > right else "start"
        a, b = (x - w, x) if anchor == "end" else (x, x + w)
        a = max(a, left)
        for r, spans in enumerate(rows):
            if all(b + gap <= s or a >= e + gap for s, e in spans):
                spans.append((a, b))
                placed.append((x, r, anchor))
                break
        else:
            rows.append([(a, b)])
            placed.append((x, len(rows) - 1, anchor))
    return placed


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "chart"


def csv_link(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Markup:
    """A link that downloads ``rows`` as CSV from a data: URI (the page makes no request)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    href = "data:text/csv;charset=utf-8," + quote(buf.getvalue(), safe="")
    return Markup(f'<a class="csv" download="{escape(_slug(title))}.csv" href="{href}">Download the data (CSV)</a>')


def _legend(items: Sequence[tuple[str, str]]) -> str:
    """HTML legend: every name in full, wrapping as the box narrows. ``items``: (swatch css, name)."""
    if not items:
        return ""
    lis = "".join(f'<li><span class="sw" style="{escape(css)}"></span>{escape(name)}</li>' for css, name in items)
    return f'<ul class="legend">{lis}</ul>'


def _figure(title: str, svgs: Sequence[str], legend: str, link: Markup, extra_class: str = "") -> Markup:
    cls = f"chart-fig {extra_class}".strip()
    return Markup(f'<figure class="{cls}"><div class="ct">{escape(title)}</div>{"".join(svgs)}'
                  f'<figcaption>{legend}{link}</figcaption></figure>')


def _svg_open(width: int, height: int, title: str, layout: str) -> str:
    return (f'<svg class="chart {layout}" viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet" role="img" '
            f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">')


def _line_svg(series: Mapping[str, Sequence[tuple[float, float]]], *, title: str, y_label: str, layout: str,
              size: tuple[int, int], bands: Sequence[tuple[float, float, str]], markers: Sequence[tuple[float, str]],
              y_max: float | None, percent: bool, integer: bool, x_range: tuple[float, float]) -> str:
    width, height = size
    narrow = layout == "narrow"
    left, right, bottom = (54, 18, 30) if narrow else (60, 18, 32)
    x0, x1 = x_range
    mk = [(x, label) for x, label in markers if x0 <= x <= x1]
    pts = [p for s in series.values() for p in s]
    if y_max is not None:
        ymax, ticks = y_max, [y_max * i / 4 for i in range(5)]
    else:
        ymax, ticks = _ticks(max(p[1] for p in pts), integer)
    pw = width - left - right
    placed = pack_labels([(left + (x - x0) / (x1 - x0) * pw, label) for x, label in mk], left=left, right=left + pw)
    n_rows = 1 + max((r for _, r, _ in placed), default=-1)
    top = 8 + 15 * n_rows
    ph = height - top - bottom

    def X(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def Y(y: float) -> float:
        return top + ph - min(y, ymax) / ymax * ph

    out = [_svg_open(width, height, title, layout)]
    for y0, y1, label in bands:
        ya, yb = Y(min(y1, ymax)), Y(y0)
        out.append(f'<rect x="{left}" y="{ya:.1f}" width="{pw}" height="{max(0.0, yb - ya):.1f}" class="band"/>')
        out.append(f'<text x="{left + 4}" y="{ya + 12:.1f}" class="bl">{escape(label)}</text>')
    _axes(out, left=left, top=top, pw=pw, ph=ph, x0=x0, x1=x1, ymax=ymax, X=X, Y=Y, y_label=y_label,
          fmt_y=(lambda v: f"{v * 100:.0f}%") if percent else _fmt, y_ticks=ticks, max_x_ticks=5 if narrow else 10)
    for (x, label), (lx, row, anchor) in zip(sorted(mk, key=lambda t: t[0]), placed, strict=True):
        out.append(f'<line x1="{X(x):.1f}" x2="{X(x):.1f}" y1="{top}" y2="{top + ph}" class="mark"/>')
        out.append(f'<text x="{lx + (-3 if anchor == "end" else 3):.1f}" y="{11 + 15 * row}" text-anchor="{anchor}" '
                   f'class="ml">{escape(label)}</text>')
    for i, (_name, s) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        s = sorted(s)
        if len(s) == 1:
            out.append(f'<circle cx="{X(s[0][0]):.1f}" cy="{Y(s[0][1]):.1f}" r="3" fill="{color}"/>')
        elif s:
            d = " ".join(f"{'M' if j == 0 else 'L'}{X(x):.1f},{Y(y):.1f}" for j, (x, y) in enumerate(s))
            out.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2"/>')
    out.append("</svg>")
    return "".join(out)


def _x_range(xs: Sequence[float]) -> tuple[float, float]:
    x0, x1 = min(xs), max(xs)
    return (x0 - 1, x1 + 1) if x0 == x1 else (x0, x1)


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    y_label: str,
    bands: Sequence[tuple[float, float, str]] = (),
    markers: Sequence[tuple[float, str]] = (),
    y_max: float | None = None,
    percent: bool = False,
    integer: bool = False,
    width: int = WIDE[0],
    height: int = WIDE[1],
) -> Markup:
    """Lines over x (years). ``bands``: horizontal (y0, y1, label) shaded areas (e.g. the HHI
    > 1,800 band); ``markers``: vertical (x, label) dotted lines (e.g. cliffs, today);
    ``integer``: the values are counts (integer ticks)."""
    pts = [p for s in series.values() for p in s]
    if not pts:
        return Markup(f'<p class="empty">No data for “{escape(title)}”.</p>')
    xr = _x_range([p[0] for p in pts])
    kw = dict(title=title, y_label=y_label, bands=bands, markers=markers, y_max=y_max, percent=percent, integer=integer,
              x_range=xr)
    svgs = [_line_svg(series, layout="wide", size=(width, height), **kw),  # type: ignore[arg-type]
            _line_svg(series, layout="narrow", size=NARROW, **kw)]  # type: ignore[arg-type]
    legend = _legend([(f"background:{PALETTE[i % len(PALETTE)]}", name) for i, name in enumerate(series)] +
                     [("border-top:2px dashed #777;height:0", f"{label} ({int(x) if x == int(x) else x})")
                      for x, label in markers if xr[0] <= x <= xr[1]])
    rows = [(x, name, y) for name, s in series.items() for x, y in sorted(s)]
    return _figure(title, svgs, legend, csv_link(title, ["x", "series", "value"], rows))


def small_multiples(
    series: Mapping[str, Sequence[tuple[float, float]]], *, title: str, y_label: str, integer: bool = True,
    width: int = 260, height: int = 150,
) -> Markup:
    """One small chart per series on a shared x range and y scale, in a grid that reflows with
    the page (instead of one chart with a tangle of lines)."""
    pts = [p for s in series.values() for p in s]
    if not pts:
        return Markup(f'<p class="empty">No data for “{escape(title)}”.</p>')
    x0, x1 = _x_range([p[0] for p in pts])
    ymax, ticks = _ticks(max(p[1] for p in pts), integer, n=2)
    left, right, top, bottom = 34, 8, 22, 24
    pw, ph = width - left - right, height - top - bottom

    def X(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def Y(y: float) -> float:
        return top + ph - min(y, ymax) / ymax * ph

    cells = []
    for i, (name, s) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        out = [_svg_open(width, height, f"{title}: {name}", "multiple"),
               f'<text x="{left}" y="14" class="st">{escape(name)}</text>']
        _axes(out, left=left, top=top, pw=pw, ph=ph, x0=x0, x1=x1, ymax=ymax, X=X, Y=Y, y_label="", fmt_y=_fmt,
              y_ticks=ticks, max_x_ticks=3)
        s = sorted(s)
        if len(s) > 1:
            d = " ".join(f"{'M' if j == 0 else 'L'}{X(x):.1f},{Y(y):.1f}" for j, (x, y) in enumerate(s))
            out.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2"/>')
        elif s:
            out.append(f'<circle cx="{X(s[0][0]):.1f}" cy="{Y(s[0][1]):.1f}" r="3" fill="{color}"/>')
        out.append("</svg>")
        cells.append(f'<div class="multiple-cell">{"".join(out)}</div>')
    rows = [(x, name, y) for name, s in series.items() for x, y in sorted(s)]
    note = f'<p class="small muted">{escape(y_label)}; same scale in every panel.</p>'
    return _figure(title, [f'<div class="multiples">{"".join(cells)}</div>'], note,
                   csv_link(title, ["x", "series", "value"], rows), "multiples-fig")


def _band_svg(pts: Sequence[tuple[float, float, float, float]], *, title: str, y_label: str, layout: str,
              size: tuple[int, int], percent: bool, markers: Sequence[tuple[float, str]]) -> str:
    width, height = size
    narrow = layout == "narrow"
    left, right, bottom = (58, 18, 30) if narrow else (62, 18, 32)
    x0, x1 = _x_range([p[0] for p in pts])
    mk = [(x, label) for x, label in markers if x0 <= x <= x1]
    pw = width - left - right
    placed = pack_labels([(left + (x - x0) / (x1 - x0) * pw, label) for x, label in mk], left=left, right=left + pw)
    top = 8 + 15 * (1 + max((r for _, r, _ in placed), default=-1))
    ph = height - top - bottom
    hi = max(p[3] for p in pts)
    ymax = _nice_max(hi if hi > 0 else 0.01)

    def X(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * pw

    def Y(v: float) -> float:
        return top + ph - v / ymax * ph

    out = [_svg_open(width, height, title, layout)]
    _axes(out, left=left, top=top, pw=pw, ph=ph, x0=x0, x1=x1, ymax=ymax, X=X, Y=Y, y_label=y_label,
          fmt_y=(lambda v: f"{v * 100:.1f}%") if percent else _fmt, max_x_ticks=5 if narrow else 10)
    upper = " ".join(f"L{X(a):.1f},{Y(d):.1f}" for a, _b, _c, d in pts)
    lower = " ".join(f"L{X(a):.1f},{Y(b):.1f}" for a, b, _c, _d in reversed(pts))
    out.append(f'<path d="M{upper[1:]} {lower} Z" class="pband"/>')
    med = " ".join(f"{'M' if j == 0 else 'L'}{X(a):.1f},{Y(c):.1f}" for j, (a, _b, c, _d) in enumerate(pts))
    out.append(f'<path d="{med}" fill="none" stroke="#2f6f9f" stroke-width="2"/>')
    for (xm, label), (lx, row, anchor) in zip(sorted(mk, key=lambda t: t[0]), placed, strict=True):
        out.append(f'<line x1="{X(xm):.1f}" x2="{X(xm):.1f}" y1="{top}" y2="{top + ph}" class="mark"/>')
        out.append(f'<text x="{lx + (-3 if anchor == "end" else 3):.1f}" y="{11 + 15 * row}" text-anchor="{anchor}" '
                   f'class="ml">{escape(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def band_chart(
    x: Sequence[float], p5: Sequence[float], p50: Sequence[float], p95: Sequence[float], *,
    title: str, y_label: str, percent: bool = True, markers: Sequence[tuple[float, str]] = (),
    width: int = WIDE[0], height: int = 240,
) -> Markup:
    """A median line inside its P5-P95 band."""
    if not x:
        return Markup(f'<p class="empty">No data for “{escape(title)}”.</p>')
    pts = sorted(zip(x, p5, p50, p95, strict=True))
    kw = dict(title=title, y_label=y_label, percent=percent, markers=markers)
    svgs = [_band_svg(pts, layout="wide", size=(width, height), **kw),  # type: ignore[arg-type]
            _band_svg(pts, layout="narrow", size=(NARROW[0], 230), **kw)]  # type: ignore[arg-type]
    legend = _legend([("background:#2f6f9f", "median (P50)"), ("background:rgba(47,111,159,.25)", "P5–P95 band")])
    return _figure(title, svgs, legend, csv_link(title, ["x", "p5", "p50", "p95"], pts))


def citation_core(nodes: Sequence[dict[str, object]], edges: Sequence[tuple[str, str]], *, title: str,
                  width: int = WIDE[0], height: int = 320) -> Markup:
    """The citation core: families placed by year (x) and centrality rank (y); an arrow from a
    citing to a cited family. ``nodes``: {id, label, year}. Each node carries its rank number;
    the legend below names every family in full."""
    placed = [n for n in nodes if isinstance(n.get("year"), int)]
    if not placed:
        return Markup(f'<p class="empty">No data for “{escape(title)}”.</p>')
    years = [int(n["year"]) for n in placed]  # type: ignore[call-overload]
    x0, x1 = min(years) - 1, max(years) + 1
    svgs = []
    for layout, (w, h) in (("wide", (width, height)), ("narrow", (NARROW[0], 300))):
        left, right, top, bottom = 30, 30, 10, 26
        pw, ph = w - left - right, h - top - bottom
        pos = {}
        for i, nd in enumerate(placed):
            x = left + (int(nd["year"]) - x0) / (x1 - x0) * pw  # type: ignore[call-overload]
            pos[str(nd["id"])] = (x, top + (i + 0.5) / len(placed) * ph)
        out = [_svg_open(w, h, title, layout),
               f'<defs><marker id="arr-{layout}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
               'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#888"/></marker></defs>']
        for a, b in edges:
            if a in pos and b in pos:
                (xa, ya), (xb, yb) = pos[a], pos[b]
                out.append(f'<line x1="{xa:.1f}" y1="{ya:.1f}" x2="{xb:.1f}" y2="{yb:.1f}" stroke="#999" stroke-width="1" '
                           f'marker-end="url(#arr-{layout})"/>')
        for i, nd in enumerate(placed):
            x, y = pos[str(nd["id"])]
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#c4572a"><title>{escape(str(nd["label"]))}</title></circle>')
            out.append(f'<text x="{x + 8:.1f}" y="{y + 4:.1f}" class="lg">{i + 1}</text>')
        step = max(1, math.ceil((x1 - x0) / (5 if layout == "narrow" else 10)))
        for yv in range(x0 + 1, x1, step):
            xx = left + (yv - x0) / (x1 - x0) * pw
            out.append(f'<text x="{xx:.1f}" y="{h - 8}" text-anchor="middle" class="ax">{yv}</text>')
        out.append("</svg>")
        svgs.append("".join(out))
    legend = '<ol class="legend numbered">' + "".join(f"<li>{escape(str(n['label']))} ({n['year']})</li>" for n in placed) + "</ol>"
    rows = [(i + 1, n["id"], n["label"], n["year"], "") for i, n in enumerate(placed)] + \
           [("", a, "", "", b) for a, b in edges]
    return _figure(title, svgs, legend, csv_link(title, ["rank", "family_id", "label", "year", "cites_family_id"], rows))
