"""The server-rendered chart (gateway/web/charts.py): round axis maxima, one pair of bars per
day scaled to the axis, escaped texts, no style attribute (the CSP blocks it), a title."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from gateway.web import charts


@pytest.mark.parametrize(
    ("highest", "top"), [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (11, 20), (50, 50), (51, 100), (4999, 5000)]
)
def test_the_axis_ends_at_a_round_number(highest: int, top: int) -> None:
    assert charts.scale_top(highest) == top


def days(counts: list[tuple[int, int]]) -> list[charts.DayCount]:
    start = date(2026, 11, 28)
    return [charts.DayCount(start + timedelta(days=i), e, d) for i, (e, d) in enumerate(counts)]


def render(counts: list[charts.DayCount], title: str = "Hendelser") -> str:
    return str(
        charts.bar_chart(
            counts,
            title=title,
            description="beskrivelse",
            events_label="Hendelser",
            denials_label="Avvist",
            day_label=lambda d: d.isoformat(),
        )
    )


def test_bars_are_scaled_to_the_axis_and_labelled() -> None:
    svg = render(days([(10, 2), (5, 0), (0, 0)]))

    assert svg.startswith("<svg") and 'role="img"' in svg and '<title id="chart-title">Hendelser</title>' in svg
    heights = [
        float(h)
        for h in re.findall(r'chart__bar--events" x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)"><title>', svg)
    ]
    assert heights[0] == pytest.approx(2 * heights[1]) and heights[2] == 0
    assert "<title>2026-11-28: Avvist 2</title>" in svg
    assert "style=" not in svg and "<script" not in svg


def test_texts_are_escaped_and_a_long_period_is_refused() -> None:
    assert "&lt;b&gt;" in render(days([(1, 0)]), title="<b>")
    with pytest.raises(ValueError):
        render(days([(1, 0)] * (charts.MAX_DAYS + 1)))
