"""NEWS2 against RCP 2017 Chart 1 itself: every band edge of every parameter."""

import itertools
import json
import math
from dataclasses import asdict, replace
from decimal import Decimal
from pathlib import Path

import pytest

from services.summary.news2 import (
    ACVPU,
    Observation,
    Risk,
    Spo2Scale,
    chart_temperature,
    observation_violations,
    score_news2,
)
from tests.fixtures.samples import NORMAL_OBSERVATION

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

# Scores 0 in every parameter.
NORMAL = NORMAL_OBSERVATION


@pytest.mark.parametrize(
    ("rate", "score"),
    [(0, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (60, 3), (100, 3)],
)
def test_respiration_rate_bands(rate: int, score: int) -> None:
    result = score_news2(replace(NORMAL, respiration_rate=rate))
    assert result.scores.respiration_rate == score
    assert result.total == score


@pytest.mark.parametrize(
    ("spo2", "score"),
    [(0, 3), (70, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)],
)
def test_spo2_scale_1_bands_ignore_oxygen(spo2: int, score: int) -> None:
    on_air = score_news2(replace(NORMAL, spo2=spo2))
    on_oxygen = score_news2(replace(NORMAL, spo2=spo2, on_oxygen=True))
    assert on_air.scores.spo2 == on_oxygen.scores.spo2 == score
    assert on_air.total == score
    assert on_oxygen.total == score + 2


# Scale 2 (target 88–92 %): below target both on air and on oxygen; above 92 only oxygen scores.
@pytest.mark.parametrize(
    ("spo2", "on_air", "on_oxygen"),
    [
        (0, 3, 3),
        (83, 3, 3),
        (84, 2, 2),
        (85, 2, 2),
        (86, 1, 1),
        (87, 1, 1),
        (88, 0, 0),
        (92, 0, 0),
        (93, 0, 1),
        (94, 0, 1),
        (95, 0, 2),
        (96, 0, 2),
        (97, 0, 3),
        (100, 0, 3),
    ],
)
def test_spo2_scale_2_bands_on_air_and_on_oxygen(spo2: int, on_air: int, on_oxygen: int) -> None:
    scale_2 = replace(NORMAL, spo2=spo2, spo2_scale=Spo2Scale.SCALE_2)
    air = score_news2(scale_2)
    oxygen = score_news2(replace(scale_2, on_oxygen=True))
    assert (air.scores.spo2, air.scores.air_or_oxygen, air.total) == (on_air, 0, on_air)
    assert (oxygen.scores.spo2, oxygen.scores.air_or_oxygen, oxygen.total) == (on_oxygen, 2, on_oxygen + 2)


@pytest.mark.parametrize(
    ("bp", "score"),
    [(0, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3), (350, 3)],
)
def test_systolic_bp_bands(bp: int, score: int) -> None:
    result = score_news2(replace(NORMAL, systolic_bp=bp))
    assert result.scores.systolic_bp == score
    assert result.total == score


@pytest.mark.parametrize(
    ("pulse", "score"),
    [(0, 3), (40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2), (130, 2), (131, 3), (350, 3)],
)
def test_pulse_bands(pulse: int, score: int) -> None:
    result = score_news2(replace(NORMAL, pulse=pulse))
    assert result.scores.pulse == score
    assert result.total == score


@pytest.mark.parametrize(
    ("level", "score"),
    [
        (ACVPU.ALERT, 0),
        (ACVPU.NEW_CONFUSION, 3),
        (ACVPU.VOICE, 3),
        (ACVPU.PAIN, 3),
        (ACVPU.UNRESPONSIVE, 3),
    ],
)
def test_consciousness(level: ACVPU, score: int) -> None:
    result = score_news2(replace(NORMAL, consciousness=level))
    assert result.scores.consciousness == score
    assert result.total == score


@pytest.mark.parametrize(
    ("temperature", "score"),
    [
        (13.0, 3),
        (25.0, 3),
        (35.0, 3),
        (35.1, 1),
        (36.0, 1),
        (36.1, 0),
        (38.0, 0),
        (38.1, 1),
        (39.0, 1),
        (39.1, 2),
        (45.0, 2),
        # Between chart steps: rounded half up to one decimal first.
        (35.04, 3),
        (35.05, 1),
        (36.04, 1),
        (36.05, 0),
        (38.04, 0),
        (38.05, 1),
        (39.04, 1),
        (39.05, 2),
        (35.049999, 3),
        (38.0499, 0),
        (36.15, 0),
        (37, 0),
        (35, 3),
        (39, 1),
    ],
)
def test_temperature_bands(temperature: float, score: int) -> None:
    result = score_news2(replace(NORMAL, temperature=temperature))
    assert result.scores.temperature == score
    assert result.total == score


@pytest.mark.parametrize(
    ("temperature", "charted"),
    [(36.05, "36.1"), (36.04, "36.0"), (38.15, "38.2"), (35.0, "35.0"), (37, "37.0"), (39.999, "40.0")],
)
def test_temperature_is_charted_half_up_to_one_decimal(temperature: float, charted: str) -> None:
    assert chart_temperature(temperature) == Decimal(charted)
    assert score_news2(replace(NORMAL, temperature=temperature)).charted_temperature == Decimal(charted)


def test_oxygen_scores_two() -> None:
    result = score_news2(replace(NORMAL, on_oxygen=True))
    assert result.scores.air_or_oxygen == 2
    assert result.total == 2
    assert result.risk is Risk.LOW
    assert not result.red_score


WORST = {
    "respiration_rate": 30,
    "spo2": 85,
    "on_oxygen": True,
    "systolic_bp": 80,
    "pulse": 140,
    "consciousness": ACVPU.UNRESPONSIVE,
    "temperature": 34.0,
}


# Each risk band at its edges, with and without a red score (a 3 in a single parameter).
@pytest.mark.parametrize(
    ("changes", "total", "red", "risk"),
    [
        ({}, 0, False, Risk.LOW),
        ({"pulse": 95}, 1, False, Risk.LOW),
        # 1 + 2 = 3 without a 3 anywhere: low.
        ({"pulse": 95, "on_oxygen": True}, 3, False, Risk.LOW),
        # 1 + 2 + 1 = 4, no red score.
        ({"pulse": 95, "on_oxygen": True, "temperature": 38.5}, 4, False, Risk.LOW),
        # A single 3 with total 3: low-medium.
        ({"consciousness": ACVPU.NEW_CONFUSION}, 3, True, Risk.LOW_MEDIUM),
        # Red score plus 1 = 4: still low-medium.
        ({"respiration_rate": 8, "pulse": 45}, 4, True, Risk.LOW_MEDIUM),
        # 2 + 2 + 1 = 5: medium.
        ({"respiration_rate": 22, "systolic_bp": 95, "pulse": 100}, 5, False, Risk.MEDIUM),
        # A red score with 5–6 is medium, not low-medium.
        ({"systolic_bp": 85, "respiration_rate": 22}, 5, True, Risk.MEDIUM),
        ({"respiration_rate": 22, "systolic_bp": 95, "pulse": 115}, 6, False, Risk.MEDIUM),
        ({"systolic_bp": 85, "pulse": 115, "temperature": 38.6}, 6, True, Risk.MEDIUM),
        # 2 + 2 + 2 + 1 = 7: high without any 3.
        ({"respiration_rate": 22, "systolic_bp": 95, "pulse": 115, "temperature": 38.5}, 7, False, Risk.HIGH),
        # 3 + 2 + 2 = 7: high.
        ({"respiration_rate": 26, "spo2": 93, "on_oxygen": True}, 7, True, Risk.HIGH),
        # Every parameter at its worst: 3+3+2+3+3+3+3 = 20, the chart's maximum.
        (WORST, 20, True, Risk.HIGH),
        # On scale 2, SpO2 ≥97 on oxygen also scores 3.
        ({**WORST, "spo2": 97, "spo2_scale": Spo2Scale.SCALE_2}, 20, True, Risk.HIGH),
    ],
)
def test_totals_and_risk(changes: dict, total: int, red: bool, risk: Risk) -> None:
    result = score_news2(replace(NORMAL, **changes))
    assert result.total == total
    assert result.red_score is red
    assert result.risk is risk


# One value from every band of every parameter with its chart score; consciousness and
# air/oxygen are listed with their own scores.
BANDS = {
    "respiration_rate": [(5, 3), (10, 1), (16, 0), (22, 2), (30, 3)],
    "systolic_bp": [(80, 3), (95, 2), (105, 1), (150, 0), (230, 3)],
    "pulse": [(30, 3), (45, 1), (70, 0), (100, 1), (120, 2), (150, 3)],
    "consciousness": [(ACVPU.ALERT, 0), (ACVPU.PAIN, 3)],
    "temperature": [(34.0, 3), (35.5, 1), (37.0, 0), (38.5, 1), (40.0, 2)],
}
# (scale, spo2, on_oxygen) -> SpO2 score + air/oxygen score.
SPO2_BANDS = [
    ((Spo2Scale.SCALE_1, 85, False), 3),
    ((Spo2Scale.SCALE_1, 92, True), 2 + 2),
    ((Spo2Scale.SCALE_1, 94, False), 1),
    ((Spo2Scale.SCALE_1, 98, True), 0 + 2),
    ((Spo2Scale.SCALE_2, 80, True), 3 + 2),
    ((Spo2Scale.SCALE_2, 84, False), 2),
    ((Spo2Scale.SCALE_2, 87, True), 1 + 2),
    ((Spo2Scale.SCALE_2, 90, True), 0 + 2),
    ((Spo2Scale.SCALE_2, 98, False), 0),
    ((Spo2Scale.SCALE_2, 94, True), 1 + 2),
    ((Spo2Scale.SCALE_2, 96, True), 2 + 2),
    ((Spo2Scale.SCALE_2, 99, True), 3 + 2),
]


def test_every_band_combination_sums_to_a_total_from_0_to_20() -> None:
    names = list(BANDS)
    totals = set()
    for combination in itertools.product(SPO2_BANDS, *BANDS.values()):
        ((scale, spo2, on_oxygen), spo2_score), *picks = combination
        values = {name: value for name, (value, _) in zip(names, picks, strict=True)}
        observation = Observation(spo2=spo2, spo2_scale=scale, on_oxygen=on_oxygen, **values)
        expected = spo2_score + sum(score for _, score in picks)
        result = score_news2(observation)
        assert result.total == expected == sum(result.scores.as_tuple())
        totals.add(result.total)
    assert totals == set(range(21))


def test_scale_2_patient_on_target_on_oxygen() -> None:
    # Hypercapnic patient at 90 % on 2 l/min: SpO2 scores 0, oxygen still scores 2.
    result = score_news2(replace(NORMAL, spo2=90, on_oxygen=True, spo2_scale=Spo2Scale.SCALE_2))
    assert (result.scores.spo2, result.scores.air_or_oxygen, result.total) == (0, 2, 2)


def test_plain_values_from_json_are_accepted() -> None:
    observation = replace(NORMAL, spo2_scale=2, consciousness="VOICE")
    assert observation.spo2_scale is Spo2Scale.SCALE_2
    assert observation.consciousness is ACVPU.VOICE


VALID = asdict(NORMAL)


def test_valid_values_have_no_violations() -> None:
    assert observation_violations(VALID) == {}
    plain = {**VALID, "spo2_scale": 2, "consciousness": "NEW_CONFUSION", "temperature": 37}
    assert observation_violations(plain) == {}
    assert observation_violations({**VALID, "unrelated": "ignored"}) == {}


@pytest.mark.parametrize(
    "values",
    [
        {"respiration_rate": 0, "spo2": 0, "systolic_bp": 0, "pulse": 0, "temperature": 13.0},
        {"respiration_rate": 100, "spo2": 100, "systolic_bp": 350, "pulse": 350, "temperature": 45.0},
    ],
)
def test_range_limits_are_inclusive(values: dict) -> None:
    assert observation_violations({**VALID, **values}) == {}


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("respiration_rate", -1),
        ("respiration_rate", 101),
        ("respiration_rate", 16.0),
        ("respiration_rate", True),
        ("spo2", 101),
        ("spo2", -5),
        ("spo2", 97.5),
        ("spo2", True),
        ("spo2_scale", 0),
        ("spo2_scale", 3),
        ("spo2_scale", 1.0),
        ("spo2_scale", True),
        ("spo2_scale", "1"),
        ("on_oxygen", 1),
        ("on_oxygen", "true"),
        ("systolic_bp", -1),
        ("systolic_bp", 351),
        ("systolic_bp", False),
        ("pulse", -1),
        ("pulse", 351),
        ("pulse", 72.5),
        ("pulse", "72"),
        ("consciousness", "ASLEEP"),
        ("consciousness", "alert"),
        ("consciousness", 0),
        ("temperature", 12.9),
        ("temperature", 45.1),
        ("temperature", float("nan")),
        ("temperature", math.inf),
        ("temperature", -math.inf),
        ("temperature", 10**400),
        ("temperature", "37.0"),
        ("temperature", True),
        ("temperature", Decimal("37.0")),
    ],
)
def test_each_bad_value_is_reported_on_its_field_alone(field: str, bad: object) -> None:
    problems = observation_violations({**VALID, field: bad})
    assert list(problems) == [field]
    with pytest.raises(ValueError, match=field):
        Observation(**{**VALID, field: bad})


@pytest.mark.parametrize(("field", "bad"), [("temperature", float("nan")), ("spo2", 101), ("pulse", 72.5)])
def test_replace_revalidates(field: str, bad: object) -> None:
    with pytest.raises(ValueError, match=field):
        replace(NORMAL, **{field: bad})


def test_missing_values_are_required() -> None:
    everything = set(VALID)
    assert observation_violations({}) == dict.fromkeys(everything, "required")
    assert observation_violations(dict.fromkeys(everything)) == dict.fromkeys(everything, "required")
    assert observation_violations({k: v for k, v in VALID.items() if k != "pulse"}) == {"pulse": "required"}


def test_every_bad_field_is_reported_at_once() -> None:
    bad = {
        "respiration_rate": -3,
        "spo2": 101,
        "spo2_scale": 3,
        "on_oxygen": None,
        "systolic_bp": 120.0,
        "pulse": True,
        "consciousness": "ASLEEP",
        "temperature": float("nan"),
    }
    problems = observation_violations(bad)
    assert problems == {
        "respiration_rate": "must be between 0 and 100",
        "spo2": "must be between 0 and 100",
        "spo2_scale": "must be 1 or 2",
        "on_oxygen": "required",
        "systolic_bp": "must be a whole number",
        "pulse": "must be a whole number",
        "consciousness": "must be one of ALERT, NEW_CONFUSION, VOICE, PAIN, UNRESPONSIVE",
        "temperature": "must be a finite number",
    }
    with pytest.raises(ValueError) as refused:
        Observation(**bad)
    for field, problem in problems.items():
        assert f"{field}: {problem}" in str(refused.value)


def test_every_seeded_measurement_is_a_valid_observation() -> None:
    patients = json.loads((SEEDS / "patients.json").read_text(encoding="utf-8"))
    measurements = [m for p in patients for m in p["vital_signs"]]
    assert measurements
    for m in measurements:
        fields = {k: v for k, v in m.items() if k != "measured_at"}
        score_news2(Observation(**fields))
