"""When NEWS2 may be shown: age 16 on the Norwegian day of the measurement."""
from datetime import UTC, date, datetime

import pytest

from services.summary.vitals import age_on, news2_applies

BORN = date(2008, 10, 22)


@pytest.mark.parametrize(
    ("day", "age"),
    [(date(2024, 10, 21), 15), (date(2024, 10, 22), 16), (date(2025, 1, 1), 16)],
)
def test_age_on(day: date, age: int) -> None:
    assert age_on(BORN, day) == age


def test_leap_day_birthday_counts_from_first_of_march() -> None:
    assert age_on(date(2008, 2, 29), date(2024, 2, 29)) == 16
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


def test_news2_applies_from_the_sixteenth_birthday_in_oslo_time() -> None:
    # 22:30 UTC on 21 October is already 22 October in Oslo (CEST, +2).
    assert news2_applies(BORN, datetime(2024, 10, 21, 22, 30, tzinfo=UTC))
    assert not news2_applies(BORN, datetime(2024, 10, 21, 21, 30, tzinfo=UTC))
