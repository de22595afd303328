"""Signals for auditors, pure: what in an organisation's events deserves a look (Normen fact sheet
15: an organisation reviews its own accesses). Events are grouped per actor and per day in Norway's
time zone, the day a reviewer thinks in."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from enum import Enum

from services.platform.norway_date import day_in_norway
from services.platform.vocabulary import AccessBasis, Decision, PurposeOfUse

from .events import StoredEvent

REPEATED_DENIALS_THRESHOLD = 3  # denials of one actor in one day
UNUSUAL_VOLUME_THRESHOLD = 50  # events of one actor in one day
MAX_SIGNAL_EVENTS = 100  # events shown with one signal, newest first


class SignalKind(Enum):
    EMERGENCY_OVERRIDE = "EMERGENCY_OVERRIDE"
    RESTRICTED_ACCESS = "RESTRICTED_ACCESS"
    REPEATED_DENIALS = "REPEATED_DENIALS"
    UNUSUAL_VOLUME = "UNUSUAL_VOLUME"


@dataclass(frozen=True)
class Signal:
    kind: SignalKind
    day: date
    # The signal's events (all of them count, at most MAX_SIGNAL_EVENTS are kept), newest first;
    # the first one names the actor.
    events: tuple[StoredEvent, ...]
    summary: str


def actor_identity(event: StoredEvent) -> str:
    """Who an event's actor is: the HPR number, else the person number, else the client."""
    record = event.record
    if record.actor_hpr_number:
        return f"hpr:{record.actor_hpr_number}"
    if record.actor_pid:
        return f"pid:{record.actor_pid}"
    return f"client:{record.actor_client_id}"


def signals(
    events: Iterable[StoredEvent], orgnr_parent: str, kinds: frozenset[SignalKind] = frozenset(SignalKind)
) -> list[Signal]:
    """The signals of `kinds` in the events of the legal entity `orgnr_parent` (any other event is
    ignored): most recent day first, then by kind, then by the actor's latest event."""
    groups: dict[tuple[str, date], list[StoredEvent]] = defaultdict(list)
    for event in events:
        occurred = event.record.occurred_at
        if event.record.actor_orgnr_parent != orgnr_parent or occurred is None:
            continue
        groups[(actor_identity(event), day_in_norway(occurred))].append(event)
    found: list[Signal] = []
    for (_, day), group in groups.items():
        group.sort(key=lambda e: (e.record.occurred_at, e.sequence), reverse=True)
        for kind in SignalKind:
            if kind not in kinds:
                continue
            matching = [e for e in group if _MATCHES[kind](e)]
            if len(matching) >= _THRESHOLDS.get(kind, 1):
                found.append(Signal(kind, day, tuple(matching[:MAX_SIGNAL_EVENTS]), _summary(kind, day, matching)))
    kind_order = {kind: index for index, kind in enumerate(SignalKind)}
    found.sort(key=lambda s: (-s.day.toordinal(), kind_order[s.kind], -s.events[0].sequence))
    return found


def _is_emergency(event: StoredEvent) -> bool:
    record = event.record
    return record.access_basis is AccessBasis.EMERGENCY or record.purpose_of_use is PurposeOfUse.BTG


_MATCHES: dict[SignalKind, Callable[[StoredEvent], bool]] = {
    SignalKind.EMERGENCY_OVERRIDE: _is_emergency,
    SignalKind.RESTRICTED_ACCESS: lambda e: e.record.flagged,
    SignalKind.REPEATED_DENIALS: lambda e: e.record.decision is Decision.DENY,
    SignalKind.UNUSUAL_VOLUME: lambda e: True,
}
_THRESHOLDS = {
    SignalKind.REPEATED_DENIALS: REPEATED_DENIALS_THRESHOLD,
    SignalKind.UNUSUAL_VOLUME: UNUSUAL_VOLUME_THRESHOLD,
}


def _summary(kind: SignalKind, day: date, events: list[StoredEvent]) -> str:
    """One line in English naming the actor by name, HPR number or client — never a person number."""
    count = len(events)
    times = "time" if count == 1 else "times"
    who = _who(events[0])
    on = day.isoformat()
    if kind is SignalKind.EMERGENCY_OVERRIDE:
        return f"{who} used emergency access {count} {times} on {on}."
    if kind is SignalKind.RESTRICTED_ACCESS:
        return f"{who} opened restricted data {count} {times} on {on}."
    if kind is SignalKind.REPEATED_DENIALS:
        return f"{who} was denied access {count} {times} on {on}."
    patients = len({e.record.patient_id for e in events})
    return f"{who} made {count} accesses concerning {patients} patients on {on}."


def _who(event: StoredEvent) -> str:
    record = event.record
    if record.actor_name and record.actor_hpr_number:
        return f"{record.actor_name} (HPR {record.actor_hpr_number})"
    if record.actor_hpr_number:
        return f"HPR {record.actor_hpr_number}"
    if record.actor_name:
        return f"{record.actor_name} (client {record.actor_client_id})"
    return f"Client {record.actor_client_id}"
