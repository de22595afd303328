"""What a caller sees of an escalation (docs/escalation.md, "API"): who may see it at all, the
full view (patient data: read only through the gateway's consent check) and the inbox item (no
patient data). Pure: no I/O, no proto."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .escalation_episodes import Episode, EventKind, NotifyReason, State, TellRecorder, escalation_not_found
from .escalation_isbar import Isbar
from .escalation_rules import Level
from .patients import Patient
from .vitals import Assessment, Measurement

__all__ = [
    "Box",
    "EscalationView",
    "InboxItem",
    "InboxRole",
    "LastNotice",
    "RecorderNoteView",
    "check_visible",
    "reassess_at",
    "visible_to",
]


class Box(enum.Enum):
    RECEIVED = "RECEIVED"  # the caller's organisation is a target
    SENT = "SENT"  # the caller's organisation is the source


class InboxRole(enum.Enum):
    RESPONSIBLE = "RESPONSIBLE"
    INFORMED = "INFORMED"
    SOURCE = "SOURCE"


def visible_to(episode: Episode, orgnr: str) -> bool:
    """A target (added, not still pending) or the source sees the escalation; nobody else learns
    that it exists."""
    return bool(orgnr) and (orgnr == episode.source_orgnr or episode.target(orgnr) is not None)


def check_visible(episode: Episode, orgnr: str) -> Episode:
    """The episode, or ESCALATION_NOT_FOUND exactly as for an id that does not exist."""
    if not visible_to(episode, orgnr):
        raise escalation_not_found()
    return episode


def reassess_at(episode: Episode) -> datetime | None:
    """The planned reassessment while one is planned."""
    if episode.state is not State.REASSESSMENT_PLANNED:
        return None
    plan = next((e for e in reversed(episode.events) if e.kind is EventKind.REASSESSMENT_PLANNED), None)
    return None if plan is None else plan.planned_for


@dataclass(frozen=True, slots=True)
class RecorderNoteView:
    tell: TellRecorder
    at: datetime


@dataclass(frozen=True, slots=True)
class EscalationView:
    """One escalation in full: the episode, its patient, the measurements it lists (oldest first,
    with their NEWS2), what the recorder's organisation was told, and the ISBAR view (None where
    a list leaves it out)."""

    episode: Episode
    measured: tuple[tuple[Measurement, Assessment], ...] = ()
    notes: tuple[RecorderNoteView, ...] = ()
    isbar: Isbar | None = None
    patient: Patient | None = None
    # The targets' display names (orgnr -> name), those the organisations table holds.
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LastNotice:
    at: datetime
    reason: NotifyReason
    push: bool


@dataclass(frozen=True, slots=True)
class InboxItem:
    """An escalation in an organisation's inbox: ids, level, state, role, times and position only."""

    episode_id: str
    level: Level
    state: State
    role: InboxRole
    opened_at: datetime
    deadline: datetime | None
    last_notice: LastNotice | None
    chain_exhausted: bool
    declined: bool
    reassess_at: datetime | None
    position: int
