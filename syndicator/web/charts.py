"""Server-rendered SVG charts: stacked bars per day, one colour per channel. No scripts.

Colours come from CSS classes (``series-0`` ...), so the page's stylesheet styles them and
the Content-Security-Policy needs no inline styles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 12, 40
PALETTE_SIZE = 8


def _nice_max(value: int) -> int:
    """The axis top: the smallest of 1, 2, 5 x 10^k at or above ``value`` (at least 1)."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if scale * step >= value:
                return scale * step
        scale *= 10


def stacked_bars(title: str, days: Sequence[date], series: Mapping[str, Sequence[int]],
                 *, css_class: str = "chart") -> Markup:
    """An accessible SVG of ``series`` (name -> one count per day) stacked per day."""
    names = list(series)
    totals = [sum(series[n][i] for n in names) for i in range(len(days))]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.7, 1.0)
    out = [f'<svg class="{escape(css_class)}" viewBox="0 0 {WIDTH} {HEIGHT + 20 * _rows(names)}"'
           f' role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
           f"<title>{escape(title)}</title>"]
    for tick in (0, top // 2, top) if top > 1 else (0, top):
        y = TOP + plot_h - plot_h * tick / top
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" '
                   f'y2="{y:.1f}"/><text class="axis" x="{LEFT - 4}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{tick}</text>')
    for i, day in enumerate(days):
        x = LEFT + slot * i + (slot - bar) / 2
        base: float = TOP + plot_h
        for index, name in enumerate(names):
            count = series[name][i]
            if not count:
                continue
            h = plot_h * count / top
            base -= h
            out.append(f'<rect class="series-{index % PALETTE_SIZE}" x="{x:.1f}" '
                       f'y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}">'
                       f"<title>{escape(name)} {day.isoformat()}: {count}</title></rect>")
        if i % max(len(days) // 7, 1) == 0 or i == len(days) - 1:
            out.append(f'<text class="axis" x="{x + bar / 2:.1f}" y="{TOP + plot_h + 16}" '
                       f'text-anchor="middle">{day.strftime("%m-%d")}</text>')
    out.extend(_legend(names))
    if not any(totals):
        out.append(f'<text class="empty" x="{WIDTH / 2:.0f}" y="{TOP + plot_h / 2:.0f}" '
                   'text-anchor="middle">nothing yet</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _rows(names: Sequence[str]) -> int:
    return (len(names) + 3) // 4


def _legend(names: Sequence[str]) -> list[str]:
    out = []
    for index, name in enumerate(names):
        x = LEFT + (index % 4) * 170
        y = HEIGHT - 8 + (index // 4) * 20
        out.append(f'<rect class="series-{index % PALETTE_SIZE}" x="{x}" y="{y - 10}" '
                   f'width="12" height="12"/><text class="legend" x="{x + 16}" y="{y}">'
                   f"{escape(name)}</text>")
    return out
