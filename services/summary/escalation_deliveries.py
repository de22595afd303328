"""What was delivered for an escalation episode, as the store recorded it: a notification in a
target's inbox (`Delivery`) and a message to the recorder's organisation (`RecorderNote`).
Plain values with the time each was stored, so that pure code (the FHIR export,
escalation_fhir.py) can read them without the store. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .escalation_episodes import Notify, TellRecorder

__all__ = ["MAX_DELIVERIES_LISTED", "Delivery", "RecorderNote"]

# Deliveries and recorder messages one call lists (an episode has far fewer: one per target per
# notification, bounded by its events).
MAX_DELIVERIES_LISTED = 1000


@dataclass(frozen=True, slots=True)
class Delivery:
    """An inbox row: a notification as delivered, with its delivery id and time."""

    delivery_id: int
    notify: Notify
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RecorderNote:
    """A message to the recorder's organisation as stored."""

    tell: TellRecorder
    created_at: datetime
