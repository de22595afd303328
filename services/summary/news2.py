"""NEWS2 scoring (Royal College of Physicians 2017, Chart 1; docs/summary.md "The patient summary" (NEWS2)). Pure: no I/O.

Between chart steps:
- respiration rate, SpO2, systolic BP and pulse are whole numbers; the chart's bands are
  contiguous over the integers, so every value falls in exactly one band. A float (even
  37.0) or a bool is refused rather than rounded, so a caller cannot hide a unit mistake.
- temperature is charted to one decimal: it is first rounded half up to one decimal
  (decimal arithmetic on the value as written, so 36.05 -> 36.1 and 35.04 -> 35.0), then
  scored on the chart's tenth-degree bands.

Not validated for under-16s or in pregnancy (RCP): this module scores an observation and
knows nothing of the patient; callers that know the patient must say so rather than
present the score silently.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "ACVPU",
    "News2Result",
    "Observation",
    "ParameterScores",
    "Risk",
    "Spo2Scale",
    "chart_temperature",
    "observation_violations",
    "score_news2",
]

# Physiologically possible ranges (inclusive); anything outside is a data error, not a score.
_INTEGER_LIMITS = {
    "respiration_rate": (0, 100),
    "spo2": (0, 100),
    "systolic_bp": (0, 350),
    "pulse": (0, 350),
}
# Accidental hypothermia is survived far below 25 °C (cold water, avalanches): such a patient
# must be recordable, and scores 3 like any temperature at or below 35.0.
_TEMPERATURE_LIMITS = (13.0, 45.0)
_TENTH = Decimal("0.1")


class Spo2Scale(enum.IntEnum):
    # Scale 2 only for hypercapnic respiratory failure with a prescribed 88–92 % target.
    SCALE_1 = 1
    SCALE_2 = 2


class ACVPU(enum.Enum):
    ALERT = "ALERT"
    NEW_CONFUSION = "NEW_CONFUSION"
    VOICE = "VOICE"
    PAIN = "PAIN"
    UNRESPONSIVE = "UNRESPONSIVE"


class Risk(enum.Enum):
    LOW = "LOW"
    LOW_MEDIUM = "LOW_MEDIUM"  # a red score (3 in one parameter) with total 1–4
    MEDIUM = "MEDIUM"  # total 5–6: urgent response threshold
    HIGH = "HIGH"  # total 7 or more: emergency response


@dataclass(frozen=True, slots=True)
class Observation:
    """One set of vital signs. Validated on construction (observation_violations); raises
    ValueError naming every bad field."""

    respiration_rate: int
    spo2: int
    spo2_scale: Spo2Scale
    on_oxygen: bool
    systolic_bp: int
    pulse: int
    consciousness: ACVPU
    temperature: float

    def __post_init__(self) -> None:
        problems = observation_violations({name: getattr(self, name) for name in _FIELD_NAMES})
        if problems:
            raise ValueError("; ".join(f"{name}: {problem}" for name, problem in problems.items()))
        # Accept the plain values a JSON seed or proto mapping produces (1, "ALERT").
        object.__setattr__(self, "spo2_scale", Spo2Scale(self.spo2_scale))
        object.__setattr__(self, "consciousness", ACVPU(self.consciousness))


def observation_violations(values: Mapping[str, object]) -> dict[str, str]:
    """Every problem with raw observation values as {field: description}; {} when they are valid.

    Keys are Observation's field names; a missing key or None means the value was not given.
    Other keys are ignored. Observation refuses exactly what this reports.
    """
    problems: dict[str, str] = {}
    for name in _FIELD_NAMES:
        value = values.get(name)
        problem = "required" if value is None else _CHECKS[name](value)
        if problem:
            problems[name] = problem
    return problems


# Observation's fields in order, once (dataclasses.fields() per check was a third of a stored
# measurement's mapping in the summary read).
_FIELD_NAMES = tuple(f.name for f in fields(Observation))


def _whole_number(low: int, high: int) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be a whole number"
        if not low <= value <= high:
            return f"must be between {low} and {high}"
        return None

    return check


def _on_oxygen(value: object) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _temperature_value(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "must be a number"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    low, high = _TEMPERATURE_LIMITS
    if not low <= value <= high:
        return f"must be between {low} and {high} °C"
    return None


def _spo2_scale_value(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value not in (1, 2):
        return "must be 1 or 2"
    return None


_ACVPU_LEVELS = tuple(level.value for level in ACVPU)


def _consciousness_value(value: object) -> str | None:
    if isinstance(value, ACVPU) or (isinstance(value, str) and value in _ACVPU_LEVELS):
        return None
    return "must be one of " + ", ".join(_ACVPU_LEVELS)


# One check per Observation field (looked up by observation_violations in field order).
_CHECKS: dict[str, Callable[[object], str | None]] = {
    **{name: _whole_number(low, high) for name, (low, high) in _INTEGER_LIMITS.items()},
    "spo2_scale": _spo2_scale_value,
    "on_oxygen": _on_oxygen,
    "consciousness": _consciousness_value,
    "temperature": _temperature_value,
}


@dataclass(frozen=True, slots=True)
class ParameterScores:
    respiration_rate: int
    spo2: int
    air_or_oxygen: int
    systolic_bp: int
    pulse: int
    consciousness: int
    temperature: int

    def as_tuple(self) -> tuple[int, ...]:
        return (
            self.respiration_rate,
            self.spo2,
            self.air_or_oxygen,
            self.systolic_bp,
            self.pulse,
            self.consciousness,
            self.temperature,
        )


@dataclass(frozen=True, slots=True)
class News2Result:
    total: int
    scores: ParameterScores
    red_score: bool  # some single parameter scored 3
    risk: Risk
    charted_temperature: Decimal  # the one-decimal value that was scored


def chart_temperature(temperature: float) -> Decimal:
    """Temperature as charted: rounded half up to one decimal (36.05 -> 36.1)."""
    # str() gives the shortest repr, i.e. the value as written, not its binary expansion
    # (Decimal(36.05) would be 36.04999... and round down).
    return Decimal(str(temperature)).quantize(_TENTH, rounding=ROUND_HALF_UP)


def _respiration_rate(rate: int) -> int:
    if rate <= 8:
        return 3
    if rate <= 11:
        return 1
    if rate <= 20:
        return 0
    if rate <= 24:
        return 2
    return 3


def _spo2_scale_1(spo2: int) -> int:
    if spo2 <= 91:
        return 3
    if spo2 <= 93:
        return 2
    if spo2 <= 95:
        return 1
    return 0


def _spo2_scale_2(spo2: int, on_oxygen: bool) -> int:
    if spo2 <= 83:
        return 3
    if spo2 <= 85:
        return 2
    if spo2 <= 87:
        return 1
    if spo2 <= 92 or not on_oxygen:
        return 0
    if spo2 <= 94:
        return 1
    if spo2 <= 96:
        return 2
    return 3


def _systolic_bp(bp: int) -> int:
    if bp <= 90:
        return 3
    if bp <= 100:
        return 2
    if bp <= 110:
        return 1
    if bp <= 219:
        return 0
    return 3


def _pulse(pulse: int) -> int:
    if pulse <= 40:
        return 3
    if pulse <= 50:
        return 1
    if pulse <= 90:
        return 0
    if pulse <= 110:
        return 1
    if pulse <= 130:
        return 2
    return 3


# The temperature chart's band limits (°C), built once.
_T35, _T36, _T38, _T39 = Decimal("35.0"), Decimal("36.0"), Decimal("38.0"), Decimal("39.0")


def _temperature(charted: Decimal) -> int:
    if charted <= _T35:
        return 3
    if charted <= _T36:
        return 1
    if charted <= _T38:
        return 0
    if charted <= _T39:
        return 1
    return 2


def _risk(total: int, red_score: bool) -> Risk:
    if total >= 7:
        return Risk.HIGH
    if total >= 5:
        return Risk.MEDIUM
    if red_score:
        return Risk.LOW_MEDIUM
    return Risk.LOW


def score_news2(observation: Observation) -> News2Result:
    charted = chart_temperature(observation.temperature)
    if observation.spo2_scale is Spo2Scale.SCALE_2:
        spo2 = _spo2_scale_2(observation.spo2, observation.on_oxygen)
    else:
        spo2 = _spo2_scale_1(observation.spo2)
    scores = ParameterScores(
        respiration_rate=_respiration_rate(observation.respiration_rate),
        spo2=spo2,
        air_or_oxygen=2 if observation.on_oxygen else 0,
        systolic_bp=_systolic_bp(observation.systolic_bp),
        pulse=_pulse(observation.pulse),
        consciousness=0 if observation.consciousness is ACVPU.ALERT else 3,
        temperature=_temperature(charted),
    )
    values = scores.as_tuple()
    total = sum(values)
    red_score = 3 in values
    return News2Result(
        total=total,
        scores=scores,
        red_score=red_score,
        risk=_risk(total, red_score),
        charted_temperature=charted,
    )
