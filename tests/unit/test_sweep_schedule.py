"""The schedule of a store's sweeps (services/platform/sweep_schedule.py): at most one per
period, none while one runs, and a failing sweep neither swallowed nor left holding the lock."""

from __future__ import annotations

import pytest

from services.platform.sweep_schedule import SweepSchedule


def test_a_sweep_runs_when_due_and_then_not_again_within_the_period() -> None:
    now = [100.0]
    schedule = SweepSchedule(10.0, clock=lambda: now[0])
    swept: list[float] = []
    for at in (100.0, 105.0, 109.9, 110.0, 115.0, 120.0):
        now[0] = at
        schedule.run_if_due(lambda: swept.append(now[0]))
    assert swept == [100.0, 110.0, 120.0]


def test_no_second_sweep_starts_while_one_runs() -> None:
    now = [0.0]
    schedule = SweepSchedule(10.0, clock=lambda: now[0])
    inner: list[str] = []

    def sweep() -> None:
        now[0] = 50.0  # due again by the clock, but this sweep still holds the schedule
        schedule.run_if_due(lambda: inner.append("nested"))
        inner.append("outer")

    schedule.run_if_due(sweep)
    assert inner == ["outer"]


def test_a_failing_sweep_reaches_the_caller_and_the_next_period_sweeps_again() -> None:
    now = [0.0]
    schedule = SweepSchedule(10.0, clock=lambda: now[0])

    def failing() -> None:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError, match="database gone"):
        schedule.run_if_due(failing)
    swept: list[str] = []
    schedule.run_if_due(lambda: swept.append("too soon"))
    now[0] = 10.0
    schedule.run_if_due(lambda: swept.append("due"))
    assert swept == ["due"]


def test_due_says_whether_a_sweep_would_run_now() -> None:
    now = [0.0]
    schedule = SweepSchedule(10.0, clock=lambda: now[0])
    seen: list[bool] = []
    assert schedule.due()
    schedule.run_if_due(lambda: seen.append(schedule.due()))  # running: not due meanwhile
    assert seen == [False] and not schedule.due()
    now[0] = 10.0
    assert schedule.due()
