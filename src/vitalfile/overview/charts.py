"""Inline SVG pictures for the console: a waterfall of match weights, bar charts (plain and
stacked) and a person's time line. Drawing only: the figures come from library calls.

Every chart carries a <title> and a text table beside it on the page (the same numbers), so a
screen reader and a printout lose nothing; labels are measured so they fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

__all__ = ["bars", "stacked", "timeline", "waterfall"]

_CHAR = 7.0  # px per character at 12px system font (a safe over-estimate)
_BLUE, _RED, _GREY, _INK = "#1d6fa5", "#c0392b", "#5b6770", "#1d2327"
PALETTE = ("#1d6fa5", "#c0392b", "#2e8540", "#8e5ea2", "#d35400", "#5b6770")


def _fit(text: str, width: float) -> str:
    """The text, shortened with an ellipsis to fit `width` pixels."""
    room = max(int(width / _CHAR), 3)
    return text if len(text) <= room else text[: room - 1] + "…"


def _svg(width: float, height: float, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'font-family="system-ui, sans-serif" font-size="12">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def waterfall(
    steps: Sequence[tuple[str, float]], *, title: str, total_label: str = "total"
) -> Markup:
    """Horizontal waterfall: each step from the running sum, the total last (a full bar)."""
    label_w = min(max((len(s) for s, _ in [*steps, (total_label, 0)]), default=8) * _CHAR, 230)
    plot_w, row_h = 360.0, 22.0
    run, lo, hi = 0.0, 0.0, 0.0
    spans: list[tuple[str, float, float, float]] = []
    for name, w in steps:
        spans.append((name, run, run + w, w))
        run += w
        lo, hi = min(lo, run, run - w), max(hi, run, run - w)
    spans.append((total_label, 0.0, run, run))
    lo, hi = min(lo, run), max(hi, run)
    span = (hi - lo) or 1.0
    x0 = label_w + 10

    def x(v: float) -> float:
        return x0 + (v - lo) / span * plot_w

    height = row_h * len(spans) + 30
    body = [
        f'<line x1="{x(0):.1f}" y1="4" x2="{x(0):.1f}" y2="{height - 22:.1f}" '
        f'stroke="{_GREY}" stroke-dasharray="3 3"/>'
    ]
    for i, (name, a, b, w) in enumerate(spans):
        y = 6 + i * row_h
        last = i == len(spans) - 1
        colour = _INK if last else (_BLUE if w >= 0 else _RED)
        left, right = sorted((x(a), x(b)))
        bold = ' font-weight="600"' if last else ""
        body.append(
            f'<text x="{label_w:.0f}" y="{y + 13:.0f}" text-anchor="end" fill="{_INK}"'
            f"{bold}>{escape(_fit(name, label_w))}</text>"
            f'<rect x="{left:.1f}" y="{y:.0f}" width="{max(right - left, 1.5):.1f}" '
            f'height="{row_h - 6:.0f}" fill="{colour}"/>'
        )
        tx, anchor = right + 4, "start"  # right of the bar: never over the row labels
        body.append(
            f'<text x="{tx:.1f}" y="{y + 13:.0f}" text-anchor="{anchor}" fill="{_INK}">'
            f"{w:+.1f}</text>"
        )
    axis_y = height - 12
    body.append(
        f'<text x="{x(lo):.1f}" y="{axis_y:.0f}" fill="{_GREY}">{lo:+.0f}</text>'
        f'<text x="{x(hi):.1f}" y="{axis_y:.0f}" text-anchor="end" fill="{_GREY}">{hi:+.0f}</text>'
        f'<text x="{x(0):.1f}" y="{axis_y:.0f}" text-anchor="middle" fill="{_GREY}">0</text>'
    )
    return _svg(x0 + plot_w + 60, height, title, body)


def bars(items: Sequence[tuple[str, float]], *, title: str, unit: str = "") -> Markup:
    """Vertical bars, one per (label, value), value printed above each."""
    return stacked([(lab, [v]) for lab, v in items], series=[unit or "count"], title=title)


def stacked(
    items: Sequence[tuple[str, Sequence[float]]],
    *,
    series: Sequence[str],
    title: str,
) -> Markup:
    """Vertical stacked bars: each (label, one value per series), with a legend."""
    n = max(len(items), 1)
    slot = max(min(640 / n, 90.0), 34.0)
    plot_h, top = 150.0, 22.0
    legend_h = 20.0 if len(series) > 1 else 0.0
    width = 40 + slot * n
    height = top + plot_h + 40 + legend_h
    peak = max((sum(v) for _, v in items), default=0) or 1
    body: list[str] = [
        f'<line x1="36" y1="{top + plot_h:.0f}" x2="{width:.0f}" y2="{top + plot_h:.0f}" '
        f'stroke="{_GREY}"/>',
        f'<text x="32" y="{top + 4:.0f}" text-anchor="end" fill="{_GREY}">{peak:g}</text>',
        f'<text x="32" y="{top + plot_h:.0f}" text-anchor="end" fill="{_GREY}">0</text>',
    ]
    for i, (label, values) in enumerate(items):
        cx = 40 + slot * i + slot / 2
        bw = slot * 0.6
        y = top + plot_h
        for k, v in enumerate(values):
            h = v / peak * plot_h
            if h > 0:
                body.append(
                    f'<rect x="{cx - bw / 2:.1f}" y="{y - h:.1f}" width="{bw:.1f}" '
                    f'height="{h:.1f}" fill="{PALETTE[k % len(PALETTE)]}"/>'
                )
            y -= h
        body.append(
            f'<text x="{cx:.1f}" y="{y - 4:.1f}" text-anchor="middle" fill="{_INK}">'
            f"{sum(values):g}</text>"
            f'<text x="{cx:.1f}" y="{top + plot_h + 16:.0f}" text-anchor="middle" fill="{_INK}">'
            f"{escape(_fit(label, slot - 2))}</text>"
        )
    if len(series) > 1:
        lx = 40.0
        ly = top + plot_h + 34
        for k, name in enumerate(series):
            body.append(
                f'<rect x="{lx:.0f}" y="{ly - 10:.0f}" width="10" height="10" '
                f'fill="{PALETTE[k % len(PALETTE)]}"/>'
                f'<text x="{lx + 14:.0f}" y="{ly:.0f}" fill="{_INK}">{escape(name)}</text>'
            )
            lx += 24 + len(name) * _CHAR
        width = max(width, lx)
    return _svg(width, height, title, body)


def timeline(marks: Sequence[tuple[str, str, str, str]], *, title: str, as_of: str = "") -> Markup:
    """A time line: marks (ISO time, lane, label, link) on one axis per lane, oldest left.

    Lanes: report, link, death, retraction, disclosure, case (any order, each its own row)."""
    lanes: list[str] = []
    for _, lane, _, _ in marks:
        if lane not in lanes:
            lanes.append(lane)
    times = sorted(m[0][:19] for m in marks)
    if not times:
        return _svg(300, 30, title, [f'<text x="4" y="18" fill="{_GREY}">nothing yet</text>'])
    from datetime import datetime

    def ts(t: str) -> float:
        try:
            return datetime.fromisoformat(t[:19]).timestamp()
        except ValueError:
            return 0.0

    t0, t1 = ts(times[0]), ts(times[-1])
    if as_of:
        t1 = max(t1, ts(as_of[:19]))
    spread = (t1 - t0) or 1.0
    lane_w, plot_w, row_h = 90.0, 640.0, 34.0
    height = row_h * len(lanes) + 40

    def x(t: str) -> float:
        return lane_w + 10 + (ts(t) - t0) / spread * plot_w

    body: list[str] = []
    for i, lane in enumerate(lanes):
        y = 20 + i * row_h
        body.append(
            f'<text x="{lane_w:.0f}" y="{y + 4:.0f}" text-anchor="end" fill="{_INK}">'
            f"{escape(lane)}</text>"
            f'<line x1="{lane_w + 6:.0f}" y1="{y:.0f}" x2="{lane_w + plot_w + 14:.0f}" '
            f'y2="{y:.0f}" stroke="#d0d5d8"/>'
        )
    colours = {"death": _RED, "retraction": "#2e8540", "disclosure": "#8e5ea2"}
    for t, lane, label, href in marks:
        y = 20 + lanes.index(lane) * row_h
        cx = x(t)
        dot = (
            f'<circle cx="{cx:.1f}" cy="{y:.0f}" r="6" fill="{colours.get(lane, _BLUE)}">'
            f"<title>{escape(t[:19].replace('T', ' '))}: {escape(label)}</title></circle>"
        )
        if href:
            dot = f'<a href="{escape(href)}" aria-label="{escape(label)}">{dot}</a>'
        body.append(dot)
    axis_y = height - 10
    # within two days the hours tell events apart; over longer spans the days do
    cut = 16 if spread < 2 * 86400 else 10
    first, last = times[0][:cut].replace("T", " "), (as_of or times[-1])[:cut].replace("T", " ")
    body.append(
        f'<text x="{lane_w + 10:.0f}" y="{axis_y:.0f}" fill="{_GREY}">{escape(first)}</text>'
        f'<text x="{lane_w + plot_w + 14:.0f}" y="{axis_y:.0f}" text-anchor="end" fill="{_GREY}">'
        f"{escape(last)}</text>"
    )
    return _svg(lane_w + plot_w + 30, height, title, body)
