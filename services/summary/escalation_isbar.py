"""The ISBAR handover view of an escalation (identify, situation, background, assessment,
recommendation), in bokmål, built from the episode, the patient and the measurements it lists
(docs/escalation.md, "API"). Pure: no I/O, no proto."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.platform.norway_date import NORWAY

from .escalation_episodes import Episode, EventKind, Origin
from .escalation_rules import CHART4_RESPONSE, Band, Level
from .patients import Patient
from .vitals import Assessment, Measurement

__all__ = ["Isbar", "isbar"]

_LEVEL_NB = {
    Level.REVIEW: "vurdering",
    Level.URGENT_REVIEW: "rask vurdering",
    Level.URGENT: "haster",
    Level.EMERGENCY: "akutt",
}
# RCP 2017 Chart 4's band that each level answers to.
_BAND = {
    Level.REVIEW: Band.LOW,
    Level.URGENT_REVIEW: Band.RED_SCORE,
    Level.URGENT: Band.MEDIUM,
    Level.EMERGENCY: Band.HIGH,
}
# The trend line lists at most this many of the newest scores.
_TREND_POINTS = 10


@dataclass(frozen=True, slots=True)
class Isbar:
    identify: str
    situation: str
    background: str
    assessment: str
    recommendation: str


def _local(at: datetime) -> str:
    return at.astimezone(NORWAY).strftime("%d.%m.%Y %H:%M")


def isbar(episode: Episode, patient: Patient, measured: Sequence[tuple[Measurement, Assessment]]) -> Isbar:
    """The handover view; `measured` are the episode's measurements, oldest first, with their NEWS2."""
    level = _LEVEL_NB[episode.level]
    identify = (
        f"Pasient {patient.name}, født {patient.birth_date.strftime('%d.%m.%Y')}. "
        f"Varslet fra organisasjon {episode.source_orgnr}."
    )
    if episode.origin is Origin.CONCERN:
        concern = next((e for e in reversed(episode.events) if e.kind is EventKind.CONCERN), None)
        what = "bekymring meldt av helsepersonell"
        if concern is not None and concern.text:
            what += f": {concern.text}"
    else:
        what = "NEWS2 over terskelen i varslingsreglene"
    situation = f"Varsel på nivå {level} ({episode.level.name}) siden {_local(episode.opened_at)}: {what}."
    scored = [(m, a.result) for m, a in measured if a.result is not None]
    if scored:
        trend = ", ".join(f"{r.total} ({_local(m.measured_at)})" for m, r in scored[-_TREND_POINTS:])
        background = f"NEWS2-utvikling: {trend}. Målinger i varselet: {len(measured)}."
    else:
        background = f"Ingen NEWS2-skår i varselet. Målinger i varselet: {len(measured)}."
    if scored:
        newest, result = scored[-1]
        s = result.scores
        assessment = (
            f"Nyeste NEWS2 {result.total} ({_local(newest.measured_at)}): respirasjonsfrekvens {s.respiration_rate}, "
            f"SpO2 {s.spo2}, luft eller oksygen {s.air_or_oxygen}, systolisk blodtrykk {s.systolic_bp}, "
            f"puls {s.pulse}, bevissthet {s.consciousness}, temperatur {s.temperature}"
            + (" (3 i én parameter)." if result.red_score else ".")
        )
    else:
        assessment = "Ingen skåret måling å vurdere."
    return Isbar(
        identify=identify,
        situation=situation,
        background=background,
        assessment=assessment,
        recommendation=CHART4_RESPONSE[_BAND[episode.level]].nb,
    )
