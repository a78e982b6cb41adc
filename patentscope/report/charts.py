"""Inline SVG charts for the report: no script, no external file, readable in print.

Every function returns ``markupsafe.Markup``; every piece of text that goes into the SVG is
escaped here, so patent text (holder names as labels) cannot inject markup.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from markupsafe import Markup, escape

PALETTE = ["#2f6f9f", "#c4572a", "#4e9a3a", "#8a4bb0", "#b8860b", "#008b8b", "#b03060", "#556b2f", "#6a5acd", "#808080"]


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def _fmt(v: float) -> str:
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if v == int(v):
        return f"{v:.0f}"
    return f"{v:.3g}"


def _axes(out: list[str], *, left: float, top: float, pw: float, ph: float, x0: float, x1: float, ymax: float,
          X: Callable[[float], float], Y: Callable[[float], float], y_label: str, fmt_y: Callable[[float], str]) -> None:
    """Horizontal grid lines with y labels, year ticks on x, and the rotated y-axis label."""
    for i in range(5):
        yv = ymax * i / 4
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{Y(yv):.1f}" y2="{Y(yv):.1f}" class="grid"/>')
        out.append(f'<text x="{left - 6}" y="{Y(yv) + 4:.1f}" text-anchor="end" class="ax">{escape(fmt_y(yv))}</text>')
    step = max(1, round((x1 - x0) / 8))
    xv = math.ceil(x0)
    while xv <= x1:
        out.append(f'<text x="{X(xv):.1f}" y="{top + ph + 16}" text-anchor="middle" class="ax">{int(xv)}</text>')
        xv += step
    out.append(f'<text x="14" y="{top + ph / 2:.0f}" transform="rotate(-90 14 {top + ph / 2:.0f})" text-anchor="middle" '
               f'class="ax">{escape(y_label)}</text>')


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    y_label: str,
    bands: Sequence[tuple[float, float, str]] = (),
    markers: Sequence[tuple[float, str]] = (),
    y_max: float | None = None,
    percent: bool = False,
    width: int = 760,
    height: int = 280,
) -> Markup:
    """Lines over x (years). ``bands``: horizontal (y0, y1, label) shaded areas (e.g. the HHI
    > 1,800 band); ``markers``: vertical (x, label) dotted lines (e.g. cliffs, today)."""
    pts = [p for s in series.values() for p in s]
    if not pts:
        return Markup(f'<p class="empty">No data for “{escape(title)}”.</p>')
    left, right, top, bottom = 56, 170, 26, 34
    xs = [p[0] for p in pts]
    x0, x1 = min(xs), max(xs)
    if x0 == x1:
        x0, x1 = x0 - 1, x1 + 1
    ymax = y_max if y_max is not None else _nice_max(max(p[1] for p in pts))
    pw, ph = width - left - right, height - top - bottom

    def X(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def Y(y: float) -> float:
        return top + ph - min(y, ymax) / ymax * ph

    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
           f'<text x="{left}" y="16" class="ct">{escape(title)}</text>']
    for y0, y1, label in bands:
        ya, yb = Y(min(y1, ymax)), Y(y0)
        out.append(f'<rect x="{left}" y="{ya:.1f}" width="{pw}" height="{max(0.0, yb - ya):.1f}" class="band"/>')
        out.append(f'<text x="{left + 4}" y="{ya + 12:.1f}" class="bl">{escape(label)}</text>')
    _axes(out, left=left, top=top, pw=pw, ph=ph, x0=x0, x1=x1, ymax=ymax, X=X, Y=Y, y_label=y_label,
          fmt_y=(lambda v: f"{v * 100:.0f}%") if percent else _fmt)
    for k, (x, label) in enumerate(markers):
        if x0 <= x <= x1:
            out.append(f'<line x1="{X(x):.1f}" x2="{X(x):.1f}" y1="{top}" y2="{top + ph}" class="mark"/>')
            right_half = X(x) > left + pw / 2
            out.append(f'<text x="{X(x) + (-3 if right_half else 3):.1f}" y="{top + 10 + 12 * k}" '
                       f'text-anchor="{"end" if right_half else "start"}" class="ml">{escape(label)}</text>')
    for i, (name, s) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        s = sorted(s)
        if len(s) == 1:
            out.append(f'<circle cx="{X(s[0][0]):.1f}" cy="{Y(s[0][1]):.1f}" r="3" fill="{color}"/>')
        else:
            d = " ".join(f"{'M' if j == 0 else 'L'}{X(x):.1f},{Y(y):.1f}" for j, (x, y) in enumerate(s))
            out.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2"/>')
        ly = top + 6 + i * 16
        out.append(f'<rect x="{left + pw + 10}" y="{ly}" width="10" height="10" fill="{color}"/>')
        short = name if len(name) <= 24 else name[:23] + "…"
        out.append(f'<text x="{left + pw + 24}" y="{ly + 9}" class="lg"><title>{escape(name)}</title>{escape(short)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def band_chart(
    x: Sequence[float], p5: Sequence[float], p50: Sequence[float], p95: Sequence[float], *,
    title: str, y_label: str, percent: bool = True, markers: Sequence[tuple[float, str]] = (),
    width: int = 760, height: int = 240,
) -> Markup:
    """A median line inside its P5-P95 band."""
    if not x:
        return Markup(f'<p class="empty">No data for “{escape(title)}”.</p>')
    left, right, top, bottom = 56, 40, 26, 34
    x0, x1 = min(x), max(x)
    if x0 == x1:
        x0, x1 = x0 - 1, x1 + 1
    ymax = _nice_max(max(p95) if max(p95) > 0 else 0.01)
    pw, ph = width - left - right, height - top - bottom

    def X(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * pw

    def Y(v: float) -> float:
        return top + ph - v / ymax * ph

    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
           f'<text x="{left}" y="16" class="ct">{escape(title)}</text>']
    _axes(out, left=left, top=top, pw=pw, ph=ph, x0=x0, x1=x1, ymax=ymax, X=X, Y=Y, y_label=y_label,
          fmt_y=(lambda v: f"{v * 100:.1f}%") if percent else _fmt)
    pts = sorted(zip(x, p5, p50, p95, strict=True))
    upper = " ".join(f"L{X(a):.1f},{Y(d):.1f}" for a, _b, _c, d in pts)
    lower = " ".join(f"L{X(a):.1f},{Y(b):.1f}" for a, b, _c, _d in reversed(pts))
    out.append(f'<path d="M{upper[1:]} {lower} Z" class="pband"/>')
    med = " ".join(f"{'M' if j == 0 else 'L'}{X(a):.1f},{Y(c):.1f}" for j, (a, _b, c, _d) in enumerate(pts))
    out.append(f'<path d="{med}" fill="none" stroke="#2f6f9f" stroke-width="2"/>')
    for xm, label in markers:
        if x0 <= xm <= x1:
            out.append(f'<line x1="{X(xm):.1f}" x2="{X(xm):.1f}" y1="{top}" y2="{top + ph}" class="mark"/>')
            out.append(f'<text x="{X(xm) + 3:.1f}" y="{top + 10}" class="ml">{escape(label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def citation_core(nodes: Sequence[dict[str, object]], edges: Sequence[tuple[str, str]], *, title: str,
                  width: int = 760, height: int = 320) -> Markup:
    """The citation core: families placed by year (x) and centrality rank (y); an arrow from a
    citing to a cited family. ``nodes``: {id, label, year, rank}."""
    placed = [n for n in nodes if isinstance(n.get("year"), int)]
    if not placed:
        return Markup(f'<p class="empty">No data for “{escape(title)}”.</p>')
    left, right, top, bottom = 40, 150, 26, 30
    years = [int(n["year"]) for n in placed]  # type: ignore[call-overload]
    x0, x1 = min(years) - 1, max(years) + 1
    n = len(placed)
    pw, ph = width - left - right, height - top - bottom
    pos = {}
    for i, nd in enumerate(placed):
        x = left + (int(nd["year"]) - x0) / (x1 - x0) * pw  # type: ignore[call-overload]
        y = top + (i + 0.5) / n * ph
        pos[str(nd["id"])] = (x, y)
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
           '<defs><marker id="arr" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">'
           '<path d="M 0 0 L 10 5 L 0 10 z" fill="#888"/></marker></defs>',
           f'<text x="{left}" y="16" class="ct">{escape(title)}</text>']
    for a, b in edges:
        if a in pos and b in pos:
            (xa, ya), (xb, yb) = pos[a], pos[b]
            out.append(f'<line x1="{xa:.1f}" y1="{ya:.1f}" x2="{xb:.1f}" y2="{yb:.1f}" stroke="#999" stroke-width="1" marker-end="url(#arr)"/>')
    for nd in placed:
        x, y = pos[str(nd["id"])]
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#c4572a"><title>{escape(str(nd["label"]))}</title></circle>')
        lab = str(nd["label"])
        out.append(f'<text x="{x + 8:.1f}" y="{y + 4:.1f}" class="lg">{escape(lab if len(lab) <= 28 else lab[:27] + "…")}</text>')
    step = max(1, round((x1 - x0) / 8))
    for yv in range(x0 + 1, x1, step):
        xx = left + (yv - x0) / (x1 - x0) * pw
        out.append(f'<text x="{xx:.1f}" y="{height - 8}" text-anchor="middle" class="ax">{yv}</text>')
    out.append("</svg>")
    return Markup("".join(out))
