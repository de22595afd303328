"""The escalation rule table, row by row, and `evaluate` (docs/escalation.md, "Rules")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.summary.escalation_rules import (
    CHART4_RESPONSE,
    MEASUREMENT_AGE_LIMIT,
    RULES,
    RULES_VERSION,
    AcknowledgeWithin,
    Band,
    Level,
    NoEscalation,
    OnTimeout,
    TargetGroup,
    evaluate,
    rule_for,
)
from services.summary.news2 import score_news2
from services.summary.trend import TrendPoint
from tests.fixtures.escalation import CHILD_BORN, PATIENT_BORN, T0, measurement, observation


def points(*earlier: tuple[timedelta, int]) -> list[TrendPoint]:
    """Scored points `ago` before T0 with their totals."""
    return [TrendPoint(T0 - ago, total) for ago, total in earlier]


def test_the_table_has_one_row_per_level_and_concern_each_citing_rcp_and_the_product_default() -> None:
    assert [rule.name for rule in RULES] == ["REVIEW", "URGENT_REVIEW", "URGENT", "EMERGENCY", "CONCERN"]
    assert RULES_VERSION == "news2-escalation/2"
    for rule in RULES:
        assert any(source.startswith("RCP 2017") for source in rule.sources), rule.name
        assert any("Helsedirektoratet" in source for source in rule.sources), rule.name
        assert any("not RCP's" in source for source in rule.sources), rule.name
    for level in Level:
        assert rule_for(level).level is level and rule_for(level).name == level.name


@pytest.mark.parametrize(
    ("level", "first", "on_timeout", "phone_113_first"),
    [
        (Level.REVIEW, (TargetGroup.PRIMARY_TEAM,), OnTimeout.STAYS_OVERDUE, False),
        (Level.URGENT_REVIEW, (TargetGroup.PRIMARY_TEAM,), OnTimeout.ADD_LEGEVAKT, False),
        (Level.URGENT, (TargetGroup.PRIMARY_TEAM, TargetGroup.LEGEVAKT), OnTimeout.RECORDER_PHONES_LEGEVAKT, False),
        (Level.EMERGENCY, (TargetGroup.LEGEVAKT, TargetGroup.PRIMARY_TEAM), OnTimeout.RECORDER_PHONES_113, True),
    ],
)
def test_each_row_names_its_first_targets_and_what_a_timeout_does(
    level: Level, first: tuple[TargetGroup, ...], on_timeout: OnTimeout, phone_113_first: bool
) -> None:
    rule = rule_for(level)
    assert (rule.first_targets, rule.on_timeout, rule.recorder_phones_113_first) == (first, on_timeout, phone_113_first)


def test_concern_takes_everything_from_the_chosen_level() -> None:
    concern = RULES[-1]
    assert concern.level is None and concern.first_targets == () and concern.on_timeout is None


def test_acknowledge_within_defaults() -> None:
    within = AcknowledgeWithin()
    assert [within.for_level(level) for level in Level] == [
        timedelta(hours=4),
        timedelta(minutes=30),
        timedelta(minutes=15),
        timedelta(minutes=5),
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {"emergency": timedelta(0)},
        {"urgent": timedelta(minutes=-1)},
        {"review": timedelta(hours=25)},
        {"urgent": timedelta(minutes=45)},  # longer than URGENT_REVIEW's 30 min
        {"emergency": timedelta(minutes=20)},  # longer than URGENT's 15 min
    ],
)
def test_acknowledge_within_refuses_a_nonpositive_too_long_or_inverted_setting(changes: dict[str, timedelta]) -> None:
    with pytest.raises(ValueError):
        AcknowledgeWithin(**changes)


def test_acknowledge_within_accepts_equal_times() -> None:
    within = AcknowledgeWithin(
        review=timedelta(minutes=10),
        urgent_review=timedelta(minutes=10),
        urgent=timedelta(minutes=10),
        emergency=timedelta(minutes=10),
    )
    assert within.for_level(Level.REVIEW) == within.for_level(Level.EMERGENCY)


@pytest.mark.parametrize(
    ("total", "red", "level"),
    [
        (7, False, Level.EMERGENCY),
        (10, False, Level.EMERGENCY),
        (13, True, Level.EMERGENCY),
        (7, True, Level.EMERGENCY),
        (5, False, Level.URGENT),
        (6, False, Level.URGENT),
        (5, True, Level.URGENT),
        (6, True, Level.URGENT),
        (3, True, Level.URGENT_REVIEW),
        (4, True, Level.URGENT_REVIEW),
    ],
)
def test_score_rows_need_no_history(total: int, red: bool, level: Level) -> None:
    evaluation = evaluate(measurement(T0, total, red=red), PATIENT_BORN, [])
    assert (evaluation.level, evaluation.no_escalation) == (level, None)
    assert evaluation.result == score_news2(observation(total, red=red))


@pytest.mark.parametrize("total", [0, 1, 2, 3, 4])
def test_a_low_score_without_history_does_not_escalate(total: int) -> None:
    evaluation = evaluate(measurement(T0, total), PATIENT_BORN, [])
    assert (evaluation.level, evaluation.no_escalation) == (None, NoEscalation.BELOW_TRIGGER)


@pytest.mark.parametrize(
    ("total", "earlier", "level"),
    [
        (3, [(timedelta(hours=2), 1)], Level.REVIEW),  # rose by 2
        (4, [(timedelta(hours=23, minutes=59), 2)], Level.REVIEW),  # rose by 2, just inside 24 h
        (4, [(timedelta(hours=24), 2)], Level.REVIEW),  # exactly 24 h before: within
        (4, [(timedelta(hours=24, minutes=1), 2)], None),  # too long ago
        (3, [(timedelta(hours=1), 2)], None),  # rose by 1 in the same band
        (1, [(timedelta(hours=6), 0)], Level.REVIEW),  # a higher band: 0 -> 1-4
        (2, [(timedelta(hours=1), 2), (timedelta(hours=3), 0)], Level.REVIEW),  # any score of the window counts
        (2, [(timedelta(hours=1), 3)], None),  # fell
        (4, [(timedelta(hours=1), 7)], None),  # fell from a higher band
    ],
)
def test_review_needs_a_rise_of_two_or_a_higher_band_within_24_hours(
    total: int, earlier: list[tuple[timedelta, int]], level: Level | None
) -> None:
    evaluation = evaluate(measurement(T0, total), PATIENT_BORN, points(*earlier))
    assert evaluation.level is level
    assert evaluation.no_escalation is (None if level else NoEscalation.BELOW_TRIGGER)


def test_a_measurement_older_than_another_scored_one_is_late_and_never_escalates() -> None:
    evaluation = evaluate(measurement(T0, 9), PATIENT_BORN, points((timedelta(minutes=-1), 0)))
    assert (evaluation.level, evaluation.no_escalation) == (None, NoEscalation.LATE)
    # The recorder still reads the Chart 4 response to the score, and why nothing was sent.
    assert evaluation.response[0] == CHART4_RESPONSE[Band.HIGH]
    assert "newer measurement" in evaluation.response[1].en


def test_a_measurement_at_the_same_time_as_another_is_not_late() -> None:
    assert evaluate(measurement(T0, 9), PATIENT_BORN, points((timedelta(0), 0))).level is Level.EMERGENCY


def test_under_16_and_pregnancy_are_never_escalated_automatically() -> None:
    child = evaluate(measurement(T0, 9), CHILD_BORN, [])
    pregnant = evaluate(measurement(T0, 9, pregnant=True), PATIENT_BORN, [])
    assert (child.level, child.no_escalation, child.result) == (None, NoEscalation.NOT_SCORED_UNDER_16, None)
    assert (pregnant.level, pregnant.no_escalation, pregnant.result) == (None, NoEscalation.NOT_SCORED_PREGNANT, None)
    assert "raise a concern" in child.response[0].en and "meld bekymring" in child.response[0].nb


@pytest.mark.parametrize(
    ("total", "red", "band", "words"),
    [
        (0, False, Band.ZERO, "routine"),
        (2, False, Band.LOW, "registered nurse"),
        (3, True, Band.RED_SCORE, "review"),
        (5, False, Band.MEDIUM, "116117"),
        (8, False, Band.HIGH, "113"),
    ],
)
def test_the_recorder_reads_chart_4s_response_in_bokmal_and_english(
    total: int, red: bool, band: Band, words: str
) -> None:
    evaluation = evaluate(measurement(T0, total, red=red), PATIENT_BORN, [])
    assert evaluation.response == (CHART4_RESPONSE[band],)
    assert words in evaluation.response[0].en and evaluation.response[0].nb


def test_a_measurement_older_than_the_maximum_age_is_scored_but_escalates_nothing() -> None:
    old = measurement(T0 - timedelta(days=30), 8)
    evaluation = evaluate(old, PATIENT_BORN, [], now=T0)
    assert (evaluation.level, evaluation.no_escalation) == (None, NoEscalation.TOO_OLD)
    assert evaluation.result is not None and evaluation.result.total == 8
    # The recorder reads the Chart 4 response to the score, and why nothing was sent.
    assert evaluation.response[0] == CHART4_RESPONSE[Band.HIGH]
    assert "6 h" in evaluation.response[1].en and "6 timer" in evaluation.response[1].nb
    # At the limit it still escalates; one minute past it, not; the limit is a setting.
    assert evaluate(measurement(T0 - MEASUREMENT_AGE_LIMIT, 8), PATIENT_BORN, [], now=T0).level is Level.EMERGENCY
    beyond = measurement(T0 - MEASUREMENT_AGE_LIMIT - timedelta(minutes=1), 8)
    assert evaluate(beyond, PATIENT_BORN, [], now=T0).no_escalation is NoEscalation.TOO_OLD
    longer = evaluate(beyond, PATIENT_BORN, [], now=T0, max_age=timedelta(hours=12))
    assert longer.level is Level.EMERGENCY
    assert "12 h" in evaluate(old, PATIENT_BORN, [], now=T0, max_age=timedelta(hours=12)).response[1].en
    # Below every trigger it says so: age only ever holds back an escalation.
    quiet = evaluate(measurement(T0 - timedelta(days=30), 0), PATIENT_BORN, [], now=T0)
    assert quiet.no_escalation is NoEscalation.BELOW_TRIGGER and len(quiet.response) == 1
