"""NEWS2 against RCP 2017 Chart 1 itself: every band edge of every parameter."""

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from services.summary.news2 import (
    ACVPU,
    Observation,
    Risk,
    Spo2Scale,
    chart_temperature,
    score_news2,
)

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

# Scores 0 in every parameter.
NORMAL = Observation(
    respiration_rate=16,
    spo2=98,
    spo2_scale=Spo2Scale.SCALE_1,
    on_oxygen=False,
    systolic_bp=120,
    pulse=70,
    consciousness=ACVPU.ALERT,
    temperature=37.0,
)


@pytest.mark.parametrize(
    ("rate", "score"),
    [(0, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (60, 3)],
)
def test_respiration_rate_bands(rate: int, score: int) -> None:
    result = score_news2(replace(NORMAL, respiration_rate=rate))
    assert result.scores.respiration_rate == score
    assert result.total == score


@pytest.mark.parametrize(
    ("spo2", "score"),
    [(70, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)],
)
def test_spo2_scale_1_bands_ignore_oxygen(spo2: int, score: int) -> None:
    on_air = score_news2(replace(NORMAL, spo2=spo2))
    on_oxygen = score_news2(replace(NORMAL, spo2=spo2, on_oxygen=True))
    assert on_air.scores.spo2 == on_oxygen.scores.spo2 == score
    assert on_air.total == score
    assert on_oxygen.total == score + 2


@pytest.mark.parametrize(
    ("spo2", "on_oxygen", "score"),
    [
        (70, False, 3),
        (83, True, 3),
        (83, False, 3),
        (84, False, 2),
        (85, True, 2),
        (86, False, 1),
        (87, True, 1),
        (88, False, 0),
        (88, True, 0),
        (92, False, 0),
        (92, True, 0),
        (93, False, 0),
        (100, False, 0),
        (93, True, 1),
        (94, True, 1),
        (95, True, 2),
        (96, True, 2),
        (97, True, 3),
        (100, True, 3),
    ],
)
def test_spo2_scale_2_bands(spo2: int, on_oxygen: bool, score: int) -> None:
    result = score_news2(replace(NORMAL, spo2=spo2, on_oxygen=on_oxygen, spo2_scale=Spo2Scale.SCALE_2))
    assert result.scores.spo2 == score
    assert result.scores.air_or_oxygen == (2 if on_oxygen else 0)
    assert result.total == score + result.scores.air_or_oxygen


@pytest.mark.parametrize(
    ("bp", "score"),
    [(0, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3), (300, 3)],
)
def test_systolic_bp_bands(bp: int, score: int) -> None:
    result = score_news2(replace(NORMAL, systolic_bp=bp))
    assert result.scores.systolic_bp == score
    assert result.total == score


@pytest.mark.parametrize(
    ("pulse", "score"),
    [(0, 3), (40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2), (130, 2), (131, 3), (250, 3)],
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
        (37, 0),
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


@pytest.mark.parametrize(
    ("changes", "total", "red", "risk"),
    [
        ({}, 0, False, Risk.LOW),
        ({"pulse": 95}, 1, False, Risk.LOW),
        # 1 + 2 + 1 = 4, no red score.
        ({"pulse": 95, "on_oxygen": True, "temperature": 38.5}, 4, False, Risk.LOW),
        # A single 3 with total 3: low-medium.
        ({"consciousness": ACVPU.NEW_CONFUSION}, 3, True, Risk.LOW_MEDIUM),
        # Red score plus 1 = 4: still low-medium.
        ({"respiration_rate": 8, "pulse": 45}, 4, True, Risk.LOW_MEDIUM),
        # 2 + 2 + 1 = 5: medium.
        ({"respiration_rate": 22, "systolic_bp": 95, "pulse": 100}, 5, False, Risk.MEDIUM),
        # A red score with 5–6 is medium, not low-medium.
        ({"systolic_bp": 85, "pulse": 115, "temperature": 38.6}, 6, True, Risk.MEDIUM),
        # 3 + 2 + 2 = 7: high.
        ({"respiration_rate": 26, "spo2": 93, "on_oxygen": True}, 7, True, Risk.HIGH),
        # Every parameter at its worst: 3+3+2+3+3+3+3 = 20, the chart's maximum.
        (
            {
                "respiration_rate": 30,
                "spo2": 85,
                "on_oxygen": True,
                "systolic_bp": 80,
                "pulse": 140,
                "consciousness": ACVPU.UNRESPONSIVE,
                "temperature": 34.0,
            },
            20,
            True,
            Risk.HIGH,
        ),
    ],
)
def test_totals_and_risk(changes: dict, total: int, red: bool, risk: Risk) -> None:
    result = score_news2(replace(NORMAL, **changes))
    assert result.total == total
    assert result.red_score is red
    assert result.risk is risk


def test_scale_2_patient_on_target_on_oxygen() -> None:
    # Hypercapnic patient at 90 % on 2 l/min: SpO2 scores 0, oxygen still scores 2.
    result = score_news2(replace(NORMAL, spo2=90, on_oxygen=True, spo2_scale=Spo2Scale.SCALE_2))
    assert (result.scores.spo2, result.scores.air_or_oxygen, result.total) == (0, 2, 2)


def test_plain_values_from_json_are_accepted() -> None:
    observation = replace(NORMAL, spo2_scale=2, consciousness="VOICE")
    assert observation.spo2_scale is Spo2Scale.SCALE_2
    assert observation.consciousness is ACVPU.VOICE


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"respiration_rate": -1}, "respiration_rate"),
        ({"respiration_rate": 101}, "respiration_rate"),
        ({"respiration_rate": 16.0}, "respiration_rate"),
        ({"spo2": 101}, "spo2"),
        ({"spo2": -5}, "spo2"),
        ({"spo2": True}, "spo2"),
        ({"systolic_bp": -1}, "systolic_bp"),
        ({"systolic_bp": 351}, "systolic_bp"),
        ({"pulse": -1}, "pulse"),
        ({"pulse": 72.5}, "pulse"),
        ({"pulse": "72"}, "pulse"),
        ({"temperature": 24.9}, "temperature"),
        ({"temperature": 45.1}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": "37.0"}, "temperature"),
        ({"on_oxygen": 1}, "on_oxygen"),
        ({"spo2_scale": 3}, "spo2_scale"),
        ({"consciousness": "ASLEEP"}, "consciousness"),
    ],
)
def test_impossible_values_name_the_field(changes: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        replace(NORMAL, **changes)


def test_every_seeded_measurement_is_a_valid_observation() -> None:
    patients = json.loads((SEEDS / "patients.json").read_text(encoding="utf-8"))
    measurements = [m for p in patients for m in p["vital_signs"]]
    assert measurements
    for m in measurements:
        fields = {k: v for k, v in m.items() if k != "measured_at"}
        score_news2(Observation(**fields))
