"""The escalation's settings (services/platform/settings.py EscalationMinutes,
services/summary/main.py): defaults equal the core's, and every malformed value or
invalid combination refused at start with an error naming the variable."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.platform.settings import MAX_ESCALATION_ACKNOWLEDGE_MINUTES, Settings, SettingsError
from services.summary.escalation_rules import MAX_ACKNOWLEDGE_WITHIN_HOURS, MEASUREMENT_AGE_LIMIT, AcknowledgeWithin
from services.summary.main import acknowledge_within, max_measurement_age, sweep_interval

PREFIX = "SAMHANDLING_ESCALATION_ACKNOWLEDGE_"


def test_the_defaults_are_the_cores_and_the_bounds_agree():
    settings = Settings.from_env({})
    assert acknowledge_within(settings) == AcknowledgeWithin()
    assert acknowledge_within(Settings()) == AcknowledgeWithin()
    assert sweep_interval(settings) == timedelta(seconds=5)
    assert MAX_ESCALATION_ACKNOWLEDGE_MINUTES == MAX_ACKNOWLEDGE_WITHIN_HOURS * 60


def test_set_values_are_read_in_minutes():
    env = {
        f"{PREFIX}REVIEW_MINUTES": "1440",
        f"{PREFIX}URGENT_REVIEW_MINUTES": "20",
        f"{PREFIX}URGENT_MINUTES": "20",
        f"{PREFIX}EMERGENCY_MINUTES": "1",
        "SAMHANDLING_ESCALATION_SWEEP_INTERVAL_SECONDS": "0.5",
    }
    settings = Settings.from_env(env)
    assert acknowledge_within(settings) == AcknowledgeWithin(
        timedelta(hours=24), timedelta(minutes=20), timedelta(minutes=20), timedelta(minutes=1)
    )
    assert sweep_interval(settings) == timedelta(seconds=0.5)


@pytest.mark.parametrize("level", ["REVIEW", "URGENT_REVIEW", "URGENT", "EMERGENCY"])
@pytest.mark.parametrize("value", ["0", "-5", "2.5", "1441", "ten", "none"])
def test_a_value_out_of_range_is_refused_naming_its_variable(level, value):
    name = f"{PREFIX}{level}_MINUTES"
    with pytest.raises(SettingsError, match=f"^{name} must be a whole number of minutes from 1 to 1440"):
        Settings.from_env({name: value})


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"URGENT_REVIEW": "300"}, "URGENT_REVIEW_MINUTES \\(300\\) must not be more than .*REVIEW_MINUTES \\(240\\)"),
        ({"URGENT": "31"}, "URGENT_MINUTES \\(31\\) must not be more than .*URGENT_REVIEW_MINUTES \\(30\\)"),
        ({"EMERGENCY": "16"}, "EMERGENCY_MINUTES \\(16\\) must not be more than .*URGENT_MINUTES \\(15\\)"),
        ({"REVIEW": "10"}, "URGENT_REVIEW_MINUTES \\(30\\) must not be more than .*REVIEW_MINUTES \\(10\\)"),
    ],
)
def test_a_more_urgent_level_waiting_longer_is_refused_naming_the_variables(env, named):
    with pytest.raises(SettingsError, match=f"^{PREFIX}{named}: a more urgent level never waits longer"):
        Settings.from_env({f"{PREFIX}{level}_MINUTES": value for level, value in env.items()})


@pytest.mark.parametrize("value", ["0", "-1", "none", "soon"])
def test_a_sweep_interval_that_is_not_positive_is_refused(value):
    with pytest.raises(SettingsError, match="SAMHANDLING_ESCALATION_SWEEP_INTERVAL_SECONDS"):
        Settings.from_env({"SAMHANDLING_ESCALATION_SWEEP_INTERVAL_SECONDS": value})


def test_the_maximum_measurement_age_defaults_to_the_cores_and_is_read_in_minutes():
    assert max_measurement_age(Settings.from_env({})) == MEASUREMENT_AGE_LIMIT == timedelta(hours=6)
    assert max_measurement_age(Settings()) == MEASUREMENT_AGE_LIMIT
    env = {"SAMHANDLING_ESCALATION_MAX_MEASUREMENT_AGE": "720"}
    assert max_measurement_age(Settings.from_env(env)) == timedelta(hours=12)


@pytest.mark.parametrize("value", ["0", "-5", "2.5", "10081", "6h", "none"])
def test_a_maximum_measurement_age_out_of_range_is_refused_naming_its_variable(value):
    with pytest.raises(
        SettingsError,
        match="^SAMHANDLING_ESCALATION_MAX_MEASUREMENT_AGE must be a whole number of minutes from 1 to 10080",
    ):
        Settings.from_env({"SAMHANDLING_ESCALATION_MAX_MEASUREMENT_AGE": value})
