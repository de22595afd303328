"""Properties of NEWS2 over generated observations, each read off RCP 2017 Chart 1 (docs/summary.md "The patient summary" (NEWS2))."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.summary.news2 import (
    ACVPU,
    Observation,
    Risk,
    Spo2Scale,
    observation_violations,
    score_news2,
)

# Half the observations keep every parameter out of its 3 band (bar consciousness), so that
# low totals and observations without a red score are common; the rest range over everything.
NEAR = {
    "respiration_rate": st.integers(9, 24),
    "spo2": st.integers(92, 96),
    "systolic_bp": st.integers(91, 219),
    "pulse": st.integers(41, 130),
    # Two-decimal values land between chart steps (36.05).
    "temperature": st.floats(35.1, 39.5) | st.decimals("35.1", "39.5", places=2).map(float),
}
ANYWHERE = {
    "respiration_rate": st.integers(0, 100),
    "spo2": st.integers(0, 100),
    "systolic_bp": st.integers(0, 350),
    "pulse": st.integers(0, 350),
    # Whole degrees arrive as int from JSON.
    "temperature": st.floats(13.0, 45.0) | st.decimals("13.0", "45.0", places=2).map(float) | st.integers(13, 45),
}


@st.composite
def observations(draw) -> Observation:
    values = {name: draw(strategy) for name, strategy in draw(st.sampled_from([NEAR, ANYWHERE])).items()}
    return Observation(
        spo2_scale=draw(st.sampled_from(Spo2Scale)),
        on_oxygen=draw(st.booleans()),
        consciousness=draw(st.sampled_from([ACVPU.ALERT] * 4 + list(ACVPU))),
        **values,
    )


# Per measured parameter: lowest and highest possible value, the chart's 0 band (normal) and
# the values either side of each band edge (drawn often: that is where a slip would be). From
# a value at or above the normal band's low end, rising moves away from normal; from a value
# at or below its high end, falling does.
MEASURED = {
    "respiration_rate": (0, 100, (12, 20), (8, 9, 11, 12, 20, 21, 24, 25)),
    "systolic_bp": (0, 350, (111, 219), (90, 91, 100, 101, 110, 111, 219, 220)),
    "pulse": (0, 350, (51, 90), (40, 41, 50, 51, 90, 91, 110, 111, 130, 131)),
    # Charted 36.1–38.0; the edges include values that round onto the next chart step.
    "temperature": (
        13.0,
        45.0,
        (36.1, 38.0),
        (35.0, 35.04, 35.05, 35.1, 36.0, 36.04, 36.05, 36.1, 38.0, 38.04, 38.05, 38.1, 39.0, 39.05, 39.1),
    ),
}
SPO2_EDGES = (83, 84, 85, 86, 87, 88, 91, 92, 93, 94, 95, 96, 97)
# Normal SpO2 per (scale, on oxygen): scale 1 ≥96; scale 2 88–92, and on air also ≥93.
SPO2_NORMAL = {
    (Spo2Scale.SCALE_1, False): (96, 100),
    (Spo2Scale.SCALE_1, True): (96, 100),
    (Spo2Scale.SCALE_2, False): (88, 100),
    (Spo2Scale.SCALE_2, True): (88, 92),
}
NORMAL = Observation(16, 98, Spo2Scale.SCALE_1, False, 120, 70, ACVPU.ALERT, 37.0)
MEASURED_CASES = [*((name, None) for name in MEASURED), *(("spo2", setting) for setting in SPO2_NORMAL)]


def _away(draw, value, lowest, highest, normal: tuple) -> object:
    """A value as far as or further than `value` from the normal band, often a step or two."""
    directions = ([1] if value >= normal[0] else []) + ([-1] if value <= normal[1] else [])
    direction = draw(st.sampled_from(directions))
    span = highest - lowest
    if isinstance(value, float):
        distance = draw(st.sampled_from([0.01, 0.05, 0.1, 0.5, 1.0, 2.0]) | st.floats(0, span))
    else:
        distance = draw(st.sampled_from([1, 2]) | st.integers(0, span))
    return min(max(value + direction * distance, lowest), highest)


@st.composite
def worsened(draw, name: str, spo2_setting: tuple[Spo2Scale, bool] | None) -> tuple[Observation, Observation]:
    """An observation and a copy with parameter `name` moved further from its normal band."""
    before = draw(observations())
    if name == "on_oxygen":
        return before, replace(before, on_oxygen=True)
    if name == "consciousness":
        # ACVPU order: alert, then the levels scoring 3.
        levels = list(ACVPU)
        later = levels[levels.index(before.consciousness) :]
        return before, replace(before, consciousness=draw(st.sampled_from(later)))
    if name == "spo2":
        scale, on_oxygen = spo2_setting
        lowest, highest, normal, edges = 0, 100, SPO2_NORMAL[spo2_setting], SPO2_EDGES
        before = replace(before, spo2_scale=scale, on_oxygen=on_oxygen)
    else:
        lowest, highest, normal, edges = MEASURED[name]
    numbers = st.floats(lowest, highest) if isinstance(lowest, float) else st.integers(lowest, highest)
    before = replace(before, **{name: draw(st.one_of(*[st.sampled_from(edges)] * 3, numbers))})
    after = replace(before, **{name: _away(draw, getattr(before, name), lowest, highest, normal)})
    return before, after


@pytest.mark.parametrize(("name", "spo2_setting"), [*MEASURED_CASES, ("consciousness", None), ("on_oxygen", None)])
@given(data=st.data())
def test_moving_a_parameter_away_from_normal_never_lowers_its_score_or_the_total(
    name: str, spo2_setting: tuple[Spo2Scale, bool] | None, data: st.DataObject
) -> None:
    before, after = data.draw(worsened(name, spo2_setting))
    old, new = score_news2(before), score_news2(after)
    score = "air_or_oxygen" if name == "on_oxygen" else name
    assert getattr(new.scores, score) >= getattr(old.scores, score)
    assert new.total >= old.total


@pytest.mark.parametrize(("name", "spo2_setting"), MEASURED_CASES)
def test_every_step_away_from_normal_keeps_or_raises_the_score(
    name: str, spo2_setting: tuple[Spo2Scale, bool] | None
) -> None:
    # The same property over the whole range, in whole units or hundredths of a degree: a
    # generated pair can miss a single misplaced band, this walk cannot.
    if name == "spo2":
        scale, on_oxygen = spo2_setting
        base = replace(NORMAL, spo2_scale=scale, on_oxygen=on_oxygen)
        lowest, highest, normal = 0, 100, SPO2_NORMAL[spo2_setting]
    else:
        base, (lowest, highest, normal, _) = NORMAL, MEASURED[name]
    if isinstance(lowest, float):
        values = [round(lowest + step / 100, 2) for step in range(round((highest - lowest) * 100) + 1)]
    else:
        values = list(range(lowest, highest + 1))
    for walk in ([v for v in values if v >= normal[0]], [v for v in reversed(values) if v <= normal[1]]):
        scores = [getattr(score_news2(replace(base, **{name: value})).scores, name) for value in walk]
        assert scores[0] == 0
        assert scores == sorted(scores)


@given(observations())
def test_total_is_the_sum_of_the_parameter_scores_and_within_0_to_20(observation: Observation) -> None:
    result = score_news2(observation)
    scores = result.scores
    assert result.total == sum(scores.as_tuple())
    assert 0 <= result.total <= 20
    assert all(0 <= score <= 3 for score in scores.as_tuple())
    assert scores.air_or_oxygen == (2 if observation.on_oxygen else 0)
    assert scores.consciousness == (0 if observation.consciousness is ACVPU.ALERT else 3)
    assert scores.temperature in (0, 1, 2, 3)


@given(observations())
def test_red_score_iff_some_parameter_scores_3(observation: Observation) -> None:
    result = score_news2(observation)
    assert result.red_score is (3 in result.scores.as_tuple())


RISK_ORDER = [Risk.LOW, Risk.LOW_MEDIUM, Risk.MEDIUM, Risk.HIGH]


@given(st.lists(observations(), min_size=2, max_size=30))
def test_risk_is_monotone_in_the_total_for_a_fixed_red_score(batch: list[Observation]) -> None:
    results = [score_news2(observation) for observation in batch]
    for red in (False, True):
        group = sorted((r.total, RISK_ORDER.index(r.risk)) for r in results if r.red_score is red)
        # Sorted by total, the risk never falls; equal totals give equal risk.
        assert [rank for _, rank in group] == sorted(rank for _, rank in group)
        assert len({total for total, _ in group}) == len(set(group))


@given(observations())
def test_a_red_score_never_lowers_risk_below_low_medium(observation: Observation) -> None:
    result = score_news2(observation)
    if result.red_score:
        assert result.risk is not Risk.LOW


@given(observations())
def test_scale_1_spo2_score_ignores_oxygen(observation: Observation) -> None:
    scale_1 = replace(observation, spo2_scale=Spo2Scale.SCALE_1)
    air = score_news2(replace(scale_1, on_oxygen=False)).scores.spo2
    oxygen = score_news2(replace(scale_1, on_oxygen=True)).scores.spo2
    assert air == oxygen


@given(observations(), st.integers(0, 92))
def test_scale_2_up_to_its_target_is_scale_1_moved_down_8_points(observation: Observation, spo2: int) -> None:
    # Chart: scale 1 bands ≤91/92–93/94–95/≥96 against scale 2 ≤83/84–85/86–87/88–92, air or oxygen.
    scale_2 = score_news2(replace(observation, spo2=spo2, spo2_scale=Spo2Scale.SCALE_2)).scores.spo2
    scale_1 = score_news2(replace(observation, spo2=spo2 + 8, spo2_scale=Spo2Scale.SCALE_1)).scores.spo2
    assert scale_2 == scale_1


@given(observations())
def test_on_air_scale_2_never_scores_spo2_above_scale_1(observation: Observation) -> None:
    on_air = replace(observation, on_oxygen=False)
    scale_1 = score_news2(replace(on_air, spo2_scale=Spo2Scale.SCALE_1)).scores.spo2
    scale_2 = score_news2(replace(on_air, spo2_scale=Spo2Scale.SCALE_2)).scores.spo2
    assert scale_2 <= scale_1
    if observation.spo2 >= 88:
        assert scale_2 == 0


# Anything a JSON body or a proto mapping could hand over, valid or not.
raw_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 400),
    st.integers(),
    st.floats(),
    st.sampled_from(["", "72", "37.0", "true", "alert", "ASLEEP"]),
    st.sampled_from([*ACVPU, *(level.value for level in ACVPU), *Spo2Scale]),
)
FIELDS = [field.name for field in fields(Observation)]


@st.composite
def raw_observations(draw) -> dict:
    """A valid observation's values with a few of them replaced, or left out."""
    valid = draw(observations())
    values = {name: getattr(valid, name) for name in FIELDS}
    values.update(draw(st.dictionaries(st.sampled_from(FIELDS), raw_values, max_size=3)))
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=2)):
        values.pop(field, None)
    return values


@given(raw_observations())
def test_observation_refuses_exactly_what_observation_violations_reports(values: dict) -> None:
    problems = observation_violations(values)
    assert set(problems) <= set(FIELDS)
    assert {field for field in FIELDS if values.get(field) is None} <= set(problems)
    try:
        Observation(**{field: values.get(field) for field in FIELDS})
    except ValueError as refused:
        assert problems
        assert all(f"{field}: {problem}" in str(refused) for field, problem in problems.items())
    else:
        assert problems == {}
