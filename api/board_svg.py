"""Server-side SVG charts for embedding (an ``<img>`` a city can put on its website)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from api.board_text import colour, label, unit

_W, _H = 640, 320
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 56, 40


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}"


def render_chart_svg(
    *,
    name: str,
    quantity: str,
    rows: Sequence[tuple[datetime, float]],
    start: datetime,
    end: datetime,
    bucket_s: int,
    lang: str,
    timezone: str,
) -> str:
    """A line chart of ``rows`` between ``start`` and ``end`` with its title, window and unit."""
    tz = ZoneInfo(timezone)
    u = unit(quantity)
    minutes = bucket_s // 60
    if lang == "de":
        window = (
            f"Mittelwert je {minutes} min, {start.astimezone(tz):%d.%m. %H:%M} bis "
            f"{end.astimezone(tz):%d.%m. %H:%M}"
        )
        empty = "Keine Daten in diesem Zeitraum"
    else:
        window = (
            f"mean per {minutes} min, {start.astimezone(tz):%d %b %H:%M} to "
            f"{end.astimezone(tz):%d %b %H:%M}"
        )
        empty = "No data in this period"
    title = f"{label(quantity, lang)}{' (' + u + ')' if u else ''} · {name}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" width="{_W}" '
        f'height="{_H}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{_W}" height="{_H}" fill="#ffffff"/>',
        f'<text x="{_LEFT}" y="24" font-family="sans-serif" font-size="18" font-weight="bold" '
        f'fill="#111111">{escape(title)}</text>',
        f'<text x="{_LEFT}" y="44" font-family="sans-serif" font-size="13" fill="#444444">'
        f"{escape(window)}</text>",
    ]
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    parts.append(
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" '
        'fill="none" stroke="#bbbbbb"/>'
    )
    if not rows:
        parts.append(
            f'<text x="{_W / 2}" y="{_TOP + plot_h / 2}" text-anchor="middle" '
            f'font-family="sans-serif" font-size="16" fill="#444444">{empty}</text>'
        )
    else:
        lo = min(v for _t, v in rows)
        hi = max(v for _t, v in rows)
        if hi - lo < 1e-9:
            lo, hi = lo - 1, hi + 1
        pad = (hi - lo) * 0.08
        lo, hi = lo - pad, hi + pad
        t0, t1 = start.timestamp(), end.timestamp()

        def x(t: datetime) -> float:
            return _LEFT + (t.timestamp() - t0) / (t1 - t0) * plot_w

        def y(v: float) -> float:
            return _TOP + (hi - v) / (hi - lo) * plot_h

        points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in rows)
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour(quantity)}" '
            'stroke-width="2.5" stroke-linejoin="round"/>'
        )
        for v in (lo + pad, (lo + hi) / 2, hi - pad):
            parts.append(
                f'<text x="{_LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end" '
                f'font-family="sans-serif" font-size="12" fill="#444444">{_fmt(v)}</text>'
            )
        if quantity == "co2" and lo < 1000 < hi:
            parts.append(
                f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y(1000):.1f}" '
                f'y2="{y(1000):.1f}" stroke="#444444" stroke-dasharray="6 4"/>'
            )
        last_t, last_v = rows[-1]
        parts.append(
            f'<circle cx="{x(last_t):.1f}" cy="{y(last_v):.1f}" r="4" fill="{colour(quantity)}"/>'
        )
    for t, anchor in ((start, "start"), (end, "end")):
        xpos = _LEFT if anchor == "start" else _LEFT + plot_w
        parts.append(
            f'<text x="{xpos}" y="{_H - 14}" text-anchor="{anchor}" '
            f'font-family="sans-serif" font-size="12" fill="#444444">'
            f"{t.astimezone(tz):%H:%M}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)
