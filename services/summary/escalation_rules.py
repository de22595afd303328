"""NEWS2 escalation rules (docs/escalation.md, "Rules"): the versioned rule table, the
acknowledge-within defaults, and `evaluate`, which says whether a newly recorded measurement
escalates, at what level, and what the recorder is told (RCP 2017 Chart 4, in bokmål and English).

Pure: no I/O, no clock (times are passed in). Scoring is news2.py's and the under-16 and
pregnancy rule is vitals.py's; this module only reads their results.

Sources the rows cite:
- RCP 2017: Royal College of Physicians, National Early Warning Score (NEWS) 2 (2017),
  Chart 2 (the thresholds and triggers: a 3 in one parameter, totals 5-6 and 7 or more) and
  Chart 4 (the clinical response to each band).
- Helsedirektoratet: the national professional advice on early detection of and a rapid response
  to worsening somatic condition, which asks for written routines saying who is contacted, when
  and how (the first targets and the chain of docs/escalation.md, "Who is responsible").
- The acknowledge-within times are this product's defaults, not RCP figures (RCP sets response
  times for a ward, not for a message to another organisation); they are settings
  (AcknowledgeWithin).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .news2 import News2Result
from .trend import TrendPoint
from .vitals import Measurement, NotScored, assess

__all__ = [
    "CHART4_RESPONSE",
    "MEASUREMENT_AGE_LIMIT",
    "MAX_ACKNOWLEDGE_WITHIN_HOURS",
    "REVIEW_RISE",
    "REVIEW_WINDOW",
    "RULES",
    "RULES_VERSION",
    "AcknowledgeWithin",
    "Band",
    "Evaluation",
    "Level",
    "NoEscalation",
    "OnTimeout",
    "RecorderText",
    "Rule",
    "TargetGroup",
    "band_of",
    "evaluate",
    "rule_for",
]

# Bumped whenever a row below changes meaning; stored on every episode, so an episode is always
# read under the rules it was opened with.
RULES_VERSION = "news2-escalation/2"  # 2: a measurement older than the maximum age escalates nothing

# REVIEW: a total of 1-4 that rose by this much (or from a lower band) within this window.
REVIEW_RISE = 2
REVIEW_WINDOW = timedelta(hours=24)
# A measurement measured longer ago than this when it is recorded escalates nothing (a setting;
# a sync after an outage must not page the legevakt for a patient measured days ago).
MEASUREMENT_AGE_LIMIT = timedelta(hours=6)
# No acknowledge-within setting may be longer than this (a setting that never expires is no timer).
MAX_ACKNOWLEDGE_WITHIN_HOURS = 24
_MAX_ACKNOWLEDGE_WITHIN = timedelta(hours=MAX_ACKNOWLEDGE_WITHIN_HOURS)


class Level(enum.IntEnum):
    """Escalation levels, ordered: a higher value is more urgent (an upgrade goes up this order)."""

    REVIEW = 1
    URGENT_REVIEW = 2
    URGENT = 3
    EMERGENCY = 4


class Band(enum.Enum):
    """RCP 2017 Chart 4's clinical-response bands of a NEWS2 result."""

    ZERO = "ZERO"  # total 0
    LOW = "LOW"  # total 1-4, no single 3
    RED_SCORE = "RED_SCORE"  # a 3 in one parameter, total at most 4
    MEDIUM = "MEDIUM"  # total 5-6
    HIGH = "HIGH"  # total 7 or more


def band_of(result: News2Result) -> Band:
    if result.total >= 7:
        return Band.HIGH
    if result.total >= 5:
        return Band.MEDIUM
    if result.red_score:
        return Band.RED_SCORE
    return Band.LOW if result.total >= 1 else Band.ZERO


class TargetGroup(enum.Enum):
    """Whom a row names (docs/escalation.md, "Who is responsible" says who each one is)."""

    PRIMARY_TEAM = "PRIMARY_TEAM"
    LEGEVAKT = "LEGEVAKT"


class OnTimeout(enum.Enum):
    """What happens when nobody acknowledged within the time."""

    STAYS_OVERDUE = "STAYS_OVERDUE"  # listed as overdue, nobody added, nobody pushed
    ADD_LEGEVAKT = "ADD_LEGEVAKT"  # the legevakt is added with a new deadline
    RECORDER_PHONES_LEGEVAKT = "RECORDER_PHONES_LEGEVAKT"  # the recorder is told to phone 116117
    RECORDER_PHONES_113 = "RECORDER_PHONES_113"  # the recorder is told (again) to phone 113


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the table. `level` is None for CONCERN, which takes the level chosen by hand."""

    name: str
    level: Level | None
    trigger: str
    first_targets: tuple[TargetGroup, ...]
    on_timeout: OnTimeout | None  # None: as the chosen level (CONCERN)
    recorder_phones_113_first: bool
    sources: tuple[str, ...]


_RCP_CHART2 = "RCP 2017, NEWS2 Chart 2 (thresholds and triggers)"
_RCP_CHART4 = "RCP 2017, NEWS2 Chart 4 (clinical response)"
_HDIR = "Helsedirektoratet, nasjonal faglig råd: tidlig oppdagelse og rask respons ved forverret somatisk tilstand"
_PRODUCT = "product default: acknowledge-within and timeout are Samhandling's, not RCP's (AcknowledgeWithin)"

RULES: tuple[Rule, ...] = (
    Rule(
        name="REVIEW",
        level=Level.REVIEW,
        trigger="total 1-4, no single 3, and a rise of at least 2 within 24 h or a higher band",
        first_targets=(TargetGroup.PRIMARY_TEAM,),
        on_timeout=OnTimeout.STAYS_OVERDUE,
        recorder_phones_113_first=False,
        sources=(_RCP_CHART2, _RCP_CHART4, _HDIR, _PRODUCT),
    ),
    Rule(
        name="URGENT_REVIEW",
        level=Level.URGENT_REVIEW,
        trigger="a 3 in one parameter, total at most 4",
        first_targets=(TargetGroup.PRIMARY_TEAM,),
        on_timeout=OnTimeout.ADD_LEGEVAKT,
        recorder_phones_113_first=False,
        sources=(_RCP_CHART2, _RCP_CHART4, _HDIR, _PRODUCT),
    ),
    Rule(
        name="URGENT",
        level=Level.URGENT,
        trigger="total 5-6",
        first_targets=(TargetGroup.PRIMARY_TEAM, TargetGroup.LEGEVAKT),
        on_timeout=OnTimeout.RECORDER_PHONES_LEGEVAKT,
        recorder_phones_113_first=False,
        sources=(_RCP_CHART2, _RCP_CHART4, _HDIR, _PRODUCT),
    ),
    Rule(
        name="EMERGENCY",
        level=Level.EMERGENCY,
        trigger="total 7 or more",
        first_targets=(TargetGroup.LEGEVAKT, TargetGroup.PRIMARY_TEAM),
        on_timeout=OnTimeout.RECORDER_PHONES_113,
        recorder_phones_113_first=True,
        sources=(_RCP_CHART2, _RCP_CHART4, _HDIR, _PRODUCT),
    ),
    Rule(
        name="CONCERN",
        level=None,
        trigger="a health person raises it by hand at a chosen level, whatever the score",
        first_targets=(),  # as the chosen level
        on_timeout=None,  # as the chosen level
        recorder_phones_113_first=False,  # as the chosen level
        sources=(_RCP_CHART4, _HDIR, _PRODUCT),
    ),
)
_BY_LEVEL = {rule.level: rule for rule in RULES if rule.level is not None}


def rule_for(level: Level) -> Rule:
    """The row of a level (a CONCERN episode follows the row of the level chosen)."""
    return _BY_LEVEL[level]


@dataclass(frozen=True, slots=True)
class AcknowledgeWithin:
    """How long a level waits for an acknowledgement before its timeout (product defaults, not
    RCP figures; a setting fills them). REVIEW's time counts only the primary team's opening
    hours (escalation_routing.OpeningHours). Each is positive, at most MAX_ACKNOWLEDGE_WITHIN_HOURS,
    and a more urgent level never waits longer than a less urgent one."""

    review: timedelta = timedelta(hours=4)
    urgent_review: timedelta = timedelta(minutes=30)
    urgent: timedelta = timedelta(minutes=15)
    emergency: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        ordered = (self.review, self.urgent_review, self.urgent, self.emergency)
        for value in ordered:
            if not isinstance(value, timedelta) or not timedelta(0) < value <= _MAX_ACKNOWLEDGE_WITHIN:
                raise ValueError(
                    f"each acknowledge-within time must be more than 0 and at most {MAX_ACKNOWLEDGE_WITHIN_HOURS} h"
                )
        if any(later > earlier for earlier, later in zip(ordered, ordered[1:], strict=False)):
            raise ValueError("a more urgent level must not wait longer than a less urgent one")

    def for_level(self, level: Level) -> timedelta:
        return {
            Level.REVIEW: self.review,
            Level.URGENT_REVIEW: self.urgent_review,
            Level.URGENT: self.urgent,
            Level.EMERGENCY: self.emergency,
        }[level]


@dataclass(frozen=True, slots=True)
class RecorderText:
    """A text for the recorder, in Norwegian bokmål and English."""

    nb: str
    en: str


# RCP 2017 Chart 4's clinical response per band, as the recorder outside a ward reads it (the
# chart speaks of a ward's nurse and medical team; here the team is the one the escalation reaches).
CHART4_RESPONSE: dict[Band, RecorderText] = {
    Band.ZERO: RecorderText(
        nb="NEWS2 0: fortsett vanlig oppfølging og mål igjen etter rutinen (minst hver 12. time der pasienten følges tett).",
        en="NEWS2 0: continue routine monitoring and measure again as your routine says (at least every 12 hours "
        "where the patient is closely followed).",
    ),
    Band.LOW: RecorderText(
        nb="NEWS2 1-4: sykepleier vurderer pasienten og avgjør om målingene skal tettes (minst hver 4.-6. time) "
        "eller om pasienten skal vurderes av lege.",
        en="NEWS2 1-4: a registered nurse assesses the patient and decides whether to measure more often "
        "(at least every 4-6 hours) or to escalate to a doctor.",
    ),
    Band.RED_SCORE: RecorderText(
        nb="En parameter med 3 poeng: legen eller teamet som har ansvaret skal vurdere pasienten snarlig "
        "og avgjøre om behandlingen skal trappes opp. Mål minst hver time.",
        en="A 3 in one parameter: the doctor or team responsible must review the patient promptly and decide "
        "whether care must be escalated. Measure at least hourly.",
    ),
    Band.MEDIUM: RecorderText(
        nb="NEWS2 5-6: haster. Gi beskjed straks til legen eller teamet som har ansvaret, som skal vurdere "
        "pasienten omgående. Mål minst hver time. Ring legevakten (116117) om ingen tar saken.",
        en="NEWS2 5-6: urgent. Inform the doctor or team responsible at once, who must assess the patient "
        "urgently. Measure at least hourly. Phone the legevakt (116117) if nobody takes it.",
    ),
    Band.HIGH: RecorderText(
        nb="NEWS2 7 eller mer: akutt. Ring 113 nå. Pasienten trenger akutt vurdering av et team med "
        "kompetanse i akuttmedisin; overvåk pasienten kontinuerlig.",
        en="NEWS2 7 or more: emergency. Phone 113 now. The patient needs emergency assessment by a team with "
        "critical care competencies; monitor the patient continuously.",
    ),
}


class NoEscalation(enum.Enum):
    """Why a measurement does not escalate (None on an Evaluation with a level)."""

    NOT_SCORED_UNDER_16 = "NOT_SCORED_UNDER_16"  # NEWS2 not validated: never escalated automatically
    NOT_SCORED_PREGNANT = "NOT_SCORED_PREGNANT"  # likewise
    LATE = "LATE"  # a newer scored measurement exists: an older one arriving late never opens or upgrades
    TOO_OLD = "TOO_OLD"  # measured longer ago than the maximum age when recorded: it would have escalated
    BELOW_TRIGGER = "BELOW_TRIGGER"  # scored, no row's trigger met


_NOT_AUTOMATIC = RecorderText(
    nb="NEWS2 er ikke validert for barn under 16 år eller i svangerskap, og målingen varsler ingen automatisk. "
    "Følg din egen rutine; meld bekymring selv om du er urolig for pasienten.",
    en="NEWS2 is not validated for children under 16 or in pregnancy, and this measurement alerts nobody "
    "automatically. Follow your own routine; raise a concern yourself if you are worried.",
)
_LATE = RecorderText(
    nb="En nyere måling av pasienten finnes allerede; denne eldre målingen er lagret, men varsler ingen.",
    en="A newer measurement of the patient already exists; this older one is stored but alerts nobody.",
)


def _too_old(max_age: timedelta) -> RecorderText:
    hours = f"{max_age / timedelta(hours=1):g}"
    return RecorderText(
        nb=f"Målingen er tatt for mer enn {hours} timer siden; den er lagret, men varsler ingen. "
        "Mål pasienten på nytt, eller meld bekymring om du er urolig for pasienten nå.",
        en=f"The measurement was taken more than {hours} h ago; it is stored but alerts nobody. "
        "Measure the patient again, or raise a concern if you are worried about the patient now.",
    )


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What one measurement means for escalation: a level, or why none (exactly one is set),
    the NEWS2 result when it was scored, and what the recorder is told."""

    level: Level | None
    no_escalation: NoEscalation | None
    result: News2Result | None
    response: tuple[RecorderText, ...]  # Chart 4 response first, then any note on why nothing escalated


def _level_of(result: News2Result, earlier_totals: Iterable[int]) -> Level | None:
    band = band_of(result)
    if band is Band.HIGH:
        return Level.EMERGENCY
    if band is Band.MEDIUM:
        return Level.URGENT
    if band is Band.RED_SCORE:
        return Level.URGENT_REVIEW
    if band is Band.LOW:
        # A higher band than an earlier score: only a 0 is a lower band than 1-4.
        if any(result.total - total >= REVIEW_RISE or total == 0 for total in earlier_totals):
            return Level.REVIEW
    return None


def evaluate(
    measurement: Measurement,
    birth_date: date,
    others: Iterable[TrendPoint],
    *,
    now: datetime | None = None,
    max_age: timedelta = MEASUREMENT_AGE_LIMIT,
) -> Evaluation:
    """Whether `measurement`, just recorded, escalates.

    `others` are the patient's other scored measurements (not this one; any order, any time):
    when one of them was measured later than this one, this one is late and escalates nothing
    (one measured at the same time does not make it late). REVIEW's rise is measured against
    those within REVIEW_WINDOW before it. Under-16s and pregnancy are scored by nobody and never
    escalated automatically (a health person may still raise a CONCERN). Recorded at `now`, one
    measured more than `max_age` before it that would have escalated is TOO_OLD and escalates
    nothing (None: no clock, no age rule — a test of the table alone).
    """
    assessment = assess(measurement, birth_date)
    if assessment.result is None:
        reason = (
            NoEscalation.NOT_SCORED_UNDER_16
            if assessment.not_scored is NotScored.UNDER_16
            else NoEscalation.NOT_SCORED_PREGNANT
        )
        return Evaluation(None, reason, None, (_NOT_AUTOMATIC,))
    result = assessment.result
    response = CHART4_RESPONSE[band_of(result)]
    at = measurement.measured_at
    points = list(others)
    if any(point.measured_at > at for point in points):
        return Evaluation(None, NoEscalation.LATE, result, (response, _LATE))
    earlier = (point.total for point in points if at - REVIEW_WINDOW <= point.measured_at <= at)
    level = _level_of(result, earlier)
    if level is None:
        return Evaluation(None, NoEscalation.BELOW_TRIGGER, result, (response,))
    if now is not None and now - at > max_age:
        return Evaluation(None, NoEscalation.TOO_OLD, result, (response, _too_old(max_age)))
    return Evaluation(level, None, result, (response,))
