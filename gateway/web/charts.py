"""Server-rendered SVG charts, pure: a bar chart of events and denials per day. Inline SVG with
classes and presentation attributes only (the CSP blocks `style=""`), a `<title>` and `<desc>`
for assistive technology, and no script. The page puts the same numbers in a table beside it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 240
MARGIN_LEFT = 40
MARGIN_BOTTOM = 36
MARGIN_TOP = 12
MAX_DAYS = 62  # a chart of more days is refused (the page caps the period)


@dataclass(frozen=True)
class DayCount:
    day: date
    events: int
    denials: int


def scale_top(highest: int) -> int:
    """A round axis maximum at or above `highest`: 1, 2 or 5 times a power of ten, at least 1."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= highest:
                return step * magnitude
        magnitude *= 10


def bar_chart(
    counts: Sequence[DayCount],
    *,
    title: str,
    description: str,
    events_label: str,
    denials_label: str,
    day_label: Callable[[date], str],
) -> Markup:
    """Two bars per day (events, denials) on a common axis from 0; every text escaped."""
    if len(counts) > MAX_DAYS:
        raise ValueError(f"a chart shows at most {MAX_DAYS} days")
    top = scale_top(max((c.events for c in counts), default=0))
    plot_w = WIDTH - MARGIN_LEFT - 8
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = plot_w / max(len(counts), 1)
    bar = max(slot * 0.38, 1.0)
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'role="img" aria-labelledby="chart-title chart-desc" focusable="false">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(description)}</desc>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = MARGIN_TOP + plot_h * (1 - fraction)
        value = round(top * fraction)
        parts.append(f'<line class="chart__grid" x1="{MARGIN_LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="chart__axis" x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value}</text>'
        )
    every = max(1, len(counts) // 8)  # at most about eight day labels
    for i, count in enumerate(counts):
        x = MARGIN_LEFT + i * slot + (slot - 2 * bar) / 2
        for offset, value, kind, label in (
            (0.0, count.events, "events", events_label),
            (bar, count.denials, "denials", denials_label),
        ):
            h = plot_h * value / top
            y = MARGIN_TOP + plot_h - h
            parts.append(
                f'<rect class="chart__bar chart__bar--{kind}" x="{x + offset:.1f}" y="{y:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}"><title>{escape(day_label(count.day))}: '
                f"{escape(label)} {value}</title></rect>"
            )
        if i % every == 0:
            parts.append(
                f'<text class="chart__axis" x="{x + bar:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 16}" '
                f'text-anchor="middle">{escape(f"{count.day.day}.{count.day.month}")}</text>'
            )
    legend_y = HEIGHT - 6
    parts.append(
        f'<rect class="chart__bar chart__bar--events" x="{MARGIN_LEFT}" y="{legend_y - 9}" width="10" height="10"/>'
    )
    parts.append(f'<text class="chart__legend" x="{MARGIN_LEFT + 14}" y="{legend_y}">{escape(events_label)}</text>')
    parts.append(
        f'<rect class="chart__bar chart__bar--denials" x="{MARGIN_LEFT + 200}" y="{legend_y - 9}" width="10" height="10"/>'
    )
    parts.append(f'<text class="chart__legend" x="{MARGIN_LEFT + 214}" y="{legend_y}">{escape(denials_label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
