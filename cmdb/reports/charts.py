"""Charts of the uptime report as inline SVG, written by hand (no plotting library).

Two shapes: horizontal bars (availability by district, failovers per site) and columns
(outages by day). Every text is escaped; colours are attributes, not CSS, so a browser and
WeasyPrint draw them the same. Each bar or column is a ``<rect class="bar">`` or
``<rect class="column">``, carrying its label and value in a ``<title>`` (a tooltip).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 1000
FONT = "DejaVu Sans, Verdana, sans-serif"
BAR_COLOR = "#3b6ea5"
ALERT_COLOR = "#c0504d"
GRID_COLOR = "#d9d9d9"
TEXT_COLOR = "#222222"
MUTED_COLOR = "#777777"

#: Where the availability axis may start: the highest one below the lowest bar is chosen, so
#: bars of 99.2 % and 99.9 % do not look the same on a 0…100 axis. The axis is labelled.
PCT_FLOORS = (99.9, 99.5, 99.0, 98.0, 95.0, 90.0, 80.0, 50.0, 0.0)

_LABEL_CHARS = 34


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: ``value`` on the chart's scale, ``text`` as shown beside it."""

    label: str
    value: float | None  # None: no bar, only the text (e.g. «нет данных»)
    text: str
    color: str = BAR_COLOR


@dataclass(frozen=True)
class Column:
    """One column of a column chart."""

    label: str  # shown under the axis (every n-th, as room allows)
    title: str  # the tooltip: label and value in full
    value: int


def _n(x: float) -> str:
    return f"{x:.1f}".removesuffix(".0")


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"


def _svg(height: float, caption: str, body: list[str], chart: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{escape(chart)}" '
        f'width="{WIDTH}" height="{_n(height)}" viewBox="0 0 {WIDTH} {_n(height)}" '
        f'font-family="{FONT}" font-size="12" fill="{TEXT_COLOR}" role="img" '
        f'aria-label="{escape(caption)}"><title>{escape(caption)}</title>'
        + "".join(body)
        + "</svg>"
    )


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 5 × 10ⁿ that is ≥ ``raw`` (> 0)."""
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return float(factor * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def pct_floor(lowest: float) -> float:
    """Where an availability axis (in %) starts for a lowest bar of ``lowest`` %."""
    for floor in PCT_FLOORS:
        if floor < lowest or floor == 0.0:
            return floor
    return 0.0  # pragma: no cover


def hbar_chart(
    bars: Sequence[Bar],
    *,
    lo: float,
    hi: float,
    ticks: Sequence[float],
    tick_text: Callable[[float], str],
    caption: str,
    chart: str,
) -> str:
    """Horizontal bars from ``lo`` to each value on a ``lo``…``hi`` axis with ``ticks``."""
    row, bar_h, top = 18.0, 12.0, 6.0
    x0, x1 = 260.0, WIDTH - 110.0
    span = (hi - lo) or 1.0
    height = top + len(bars) * row + 26.0
    plot_bottom = top + len(bars) * row
    body: list[str] = []
    for tick in ticks:
        x = x0 + (tick - lo) / span * (x1 - x0)
        body.append(
            f'<line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" y2="{_n(plot_bottom)}" '
            f'stroke="{GRID_COLOR}" stroke-width="1"/>'
            f'<text x="{_n(x)}" y="{_n(plot_bottom + 16)}" text-anchor="middle" '
            f'fill="{MUTED_COLOR}" font-size="11">{escape(tick_text(tick))}</text>'
        )
    for index, bar in enumerate(bars):
        y = top + index * row
        mid = y + row / 2 + 4
        body.append(
            f"<g><title>{escape(bar.label)}</title>"
            f'<text x="{_n(x0 - 8)}" y="{_n(mid)}" text-anchor="end">'
            f"{escape(_short(bar.label))}</text></g>"
        )
        if bar.value is None:
            body.append(
                f'<text x="{_n(x0 + 4)}" y="{_n(mid)}" fill="{MUTED_COLOR}">'
                f"{escape(bar.text)}</text>"
            )
            continue
        share = min(max((bar.value - lo) / span, 0.0), 1.0)
        width = max(share * (x1 - x0), 1.5)
        body.append(
            f'<rect class="bar" x="{_n(x0)}" y="{_n(y + (row - bar_h) / 2)}" '
            f'width="{_n(width)}" height="{_n(bar_h)}" fill="{escape(bar.color)}">'
            f"<title>{escape(bar.label)}: {escape(bar.text)}</title></rect>"
            f'<text x="{_n(x0 + width + 5)}" y="{_n(mid)}">{escape(bar.text)}</text>'
        )
    body.append(
        f'<line x1="{_n(x0)}" y1="{_n(top)}" x2="{_n(x0)}" y2="{_n(plot_bottom)}" '
        f'stroke="{MUTED_COLOR}" stroke-width="1"/>'
    )
    return _svg(height, caption, body, chart)


def column_chart(
    columns: Sequence[Column],
    *,
    axis_label: str,
    caption: str,
    chart: str,
    color: str = ALERT_COLOR,
) -> str:
    """Columns from zero, one per item, with a labelled integer y axis."""
    x0, x1 = 56.0, WIDTH - 10.0
    top, plot_h = 22.0, 170.0
    bottom = top + plot_h
    height = bottom + 26.0
    peak = max((c.value for c in columns), default=0)
    step = nice_step(max(peak, 1) / 4) if peak > 4 else 1.0
    y_max = max(step * math.ceil(max(peak, 1) / step), step)
    slot = (x1 - x0) / max(len(columns), 1)
    every = max(1, math.ceil(44 / slot))
    body = [
        f'<text x="{_n(x0 - 6)}" y="12" text-anchor="start" fill="{MUTED_COLOR}" '
        f'font-size="11">{escape(axis_label)}</text>'
    ]
    tick = 0.0
    while tick <= y_max + 1e-9:
        y = bottom - tick / y_max * plot_h
        body.append(
            f'<line x1="{_n(x0)}" y1="{_n(y)}" x2="{_n(x1)}" y2="{_n(y)}" '
            f'stroke="{GRID_COLOR}" stroke-width="1"/>'
            f'<text x="{_n(x0 - 6)}" y="{_n(y + 4)}" text-anchor="end" fill="{MUTED_COLOR}" '
            f'font-size="11">{int(tick)}</text>'
        )
        tick += step
    for index, column in enumerate(columns):
        left = x0 + index * slot
        centre = left + slot / 2
        if column.value > 0:
            h = column.value / y_max * plot_h
            width = max(slot * 0.7, 1.0)
            body.append(
                f'<rect class="column" x="{_n(centre - width / 2)}" y="{_n(bottom - h)}" '
                f'width="{_n(width)}" height="{_n(h)}" fill="{escape(color)}">'
                f"<title>{escape(column.title)}</title></rect>"
            )
            if slot >= 18:
                body.append(
                    f'<text x="{_n(centre)}" y="{_n(bottom - h - 3)}" text-anchor="middle" '
                    f'font-size="10">{column.value}</text>'
                )
        if index % every == 0:
            body.append(
                f'<text x="{_n(centre)}" y="{_n(bottom + 15)}" text-anchor="middle" '
                f'fill="{MUTED_COLOR}" font-size="10">{escape(column.label)}</text>'
            )
    body.append(
        f'<line x1="{_n(x0)}" y1="{_n(bottom)}" x2="{_n(x1)}" y2="{_n(bottom)}" '
        f'stroke="{MUTED_COLOR}" stroke-width="1"/>'
    )
    return _svg(height, caption, body, chart)
