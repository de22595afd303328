"""An escalation episode as FHIR R4 (issue 17; docs/escalation.md, "FHIR export"): a Bundle (type
collection) of one Task for the episode, one Communication per delivery to a target's inbox and
one per message to the recorder's organisation. Pure: no I/O, no clock, no proto.

The Task joins up with the patient's export (fhir.py): `for` is the Patient's fullUrl there and
`focus` the NEWS2 Observation's fullUrl of the episode's newest measurement, so the two Bundles
put together resolve. Organisations and health persons are logical references (organisation
number, HPR number), as in fhir.py. No text is written beyond what the episode and its deliveries
hold: the codes' displays, the times, the organisation numbers, and the notes people gave.

Bounded: one Task (at most 3 notes, 1 output), at most MAX_DELIVERIES_LISTED Communications for
deliveries and as many for recorder messages (more is refused: the store never lists more).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from services.platform.naming_systems import organisation_identifier, person_identifier

from .escalation_deliveries import MAX_DELIVERIES_LISTED, Delivery, RecorderNote
from .escalation_episodes import Episode, Event, EventKind, NotifyReason, Origin, Outcome, RecorderMessage, State
from .escalation_rules import Level
from .fhir import (
    LOCAL,
    concept,
    entry,
    full_url,
    instant,
    news2_observation_full_url,
    patient_full_url,
    practitioner_reference,
)

__all__ = ["MAX_ENTRIES", "escalation_bundle"]

ESCALATION_ID = f"{LOCAL}/NamingSystem/escalation-id"
DELIVERY_ID = f"{LOCAL}/NamingSystem/escalation-delivery-id"
RULES = f"{LOCAL}/escalation-rules/"  # + the episode's rules version: the Task's instantiatesUri
TASK_CODES = f"{LOCAL}/CodeSystem/escalation"  # news2-escalation, outcome
ORIGIN_CODES = f"{LOCAL}/CodeSystem/escalation-origin"  # escalation_episodes.Origin member names
OUTCOME_CODES = f"{LOCAL}/CodeSystem/escalation-outcome"  # escalation_episodes.Outcome member names
NOTIFY_REASON_CODES = f"{LOCAL}/CodeSystem/escalation-notify-reason"  # NotifyReason member names
RECORDER_MESSAGE_CODES = f"{LOCAL}/CodeSystem/escalation-recorder-message"  # RecorderMessage member names
COMMUNICATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/communication-category"

# One Task, and a Communication per delivery and per recorder message the store lists.
MAX_ENTRIES = 1 + 2 * MAX_DELIVERIES_LISTED

# FHIR R4 task-status and request-intent / request-priority codes (docs/escalation.md gives the reasons).
TASK_STATUS = {
    State.OPEN: "requested",
    State.ACKNOWLEDGED: "accepted",
    State.REASSESSMENT_PLANNED: "on-hold",
    State.RESOLVED: "completed",
}
TASK_INTENT = "order"
PRIORITY = {
    Level.REVIEW: "routine",
    Level.URGENT_REVIEW: "urgent",
    Level.URGENT: "asap",
    Level.EMERGENCY: "stat",
}

_ORIGIN_DISPLAYS = {
    Origin.SCORE: "Opened by a measurement's NEWS2 score",
    Origin.CONCERN: "Raised by hand by a health person",
}
_OUTCOME_DISPLAYS = {
    Outcome.MANAGED_IN_PLACE: "Managed in place",
    Outcome.SENT_TO_LEGEVAKT: "Sent to the legevakt",
    Outcome.ADMITTED_TO_HOSPITAL: "Admitted to hospital",
    Outcome.AMBULANCE_CALLED: "Ambulance called",
    Outcome.NO_ACTION_NEEDED: "No action needed",
    Outcome.OTHER: "Other (see the note)",
    Outcome.AUTO_IMPROVED: "Resolved by itself: two later measurements below every trigger",
    Outcome.AUTO_NO_WORSENING: "Resolved by itself: 24 h after the acknowledgement without a higher level",
}
_NOTIFY_REASON_DISPLAYS = {
    NotifyReason.OPENED: "The escalation was opened",
    NotifyReason.UPGRADED: "The escalation was raised to a higher level",
    NotifyReason.TIMEOUT: "Added to the chain: nobody acknowledged in time",
    NotifyReason.PASSED_ON: "Added to the chain: a target declined",
    NotifyReason.CONCERN: "A health person raised a concern",
    NotifyReason.REASSESSMENT_DUE: "The planned reassessment is due",
}
_RECORDER_MESSAGE_DISPLAYS = {
    RecorderMessage.SENT: "The alert was sent",
    RecorderMessage.PHONE_113: "Phone 113",
    RecorderMessage.PHONE_LEGEVAKT: "Phone the legevakt (116117)",
    RecorderMessage.UNDELIVERABLE: "The alert cannot be delivered",
    RecorderMessage.ACKNOWLEDGED: "The alert was acknowledged",
    RecorderMessage.RESOLVED: "The alert was closed",
}
CATEGORIES = {  # FHIR R4 communication-category codes and displays
    "alert": "Alert",
    "notification": "Notification",
    "reminder": "Reminder",
    "instruction": "Instruction",
}


def escalation_bundle(
    episode: Episode,
    *,
    deliveries: Sequence[Delivery],
    recorder_notes: Sequence[RecorderNote],
    generated_at: datetime,
) -> dict:
    """The episode's Bundle: its Task, then a Communication per delivery (in the order given, the
    store's: by delivery id) and per recorder message (likewise). `generated_at` is the timestamp.

    Raises ValueError for input no store gives: more than MAX_DELIVERIES_LISTED of either list, or a
    delivery or message of another episode."""
    for name, items in (("deliveries", deliveries), ("recorder messages", recorder_notes)):
        if len(items) > MAX_DELIVERIES_LISTED:
            raise ValueError(f"at most {MAX_DELIVERIES_LISTED} {name}, got {len(items)}")
    ids = {d.notify.episode_id for d in deliveries} | {n.tell.episode_id for n in recorder_notes}
    if ids - {episode.episode_id}:
        raise ValueError("a delivery or recorder message of another episode")
    task_url = full_url("Task", episode.episode_id)
    entries = [entry(task_url, _task(episode, generated_at))]
    for delivery in deliveries:
        url = full_url("Communication", episode.episode_id, "delivery", str(delivery.delivery_id))
        entries.append(entry(url, _delivered(delivery, task_url)))
    for position, note in enumerate(recorder_notes):
        url = full_url("Communication", episode.episode_id, "recorder", str(position))
        entries.append(entry(url, _told_recorder(note, task_url)))
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": instant(generated_at), "entry": entries}
    # As fhir.patient_bundle: a tree of JSON types sharing nothing, for the caller to change freely.
    return json.loads(json.dumps(bundle))


def _task(episode: Episode, at: datetime) -> dict:
    task: dict[str, Any] = {
        "resourceType": "Task",
        "identifier": [{"system": ESCALATION_ID, "value": episode.episode_id}],
        "instantiatesUri": RULES + quote(episode.rules_version, safe="/"),
        "status": TASK_STATUS[episode.state],
        "businessStatus": {"text": _business_status(episode, at)},
        "intent": TASK_INTENT,
        "priority": PRIORITY[episode.level],
        "code": concept(TASK_CODES, "news2-escalation", "NEWS2 escalation"),
    }
    if episode.measurements:
        # Sorted by measurement time (ties in order of arrival): the last is the newest.
        newest = episode.measurements[-1].measurement_id
        task["focus"] = {"reference": news2_observation_full_url(episode.patient_id, newest), "type": "Observation"}
    task["for"] = {
        "reference": patient_full_url(episode.patient_id),
        "type": "Patient",
        "identifier": person_identifier(episode.patient_id),
    }
    acknowledgement, resolution = episode.acknowledgement, episode.resolution
    period = {
        **({"start": instant(acknowledgement.at)} if acknowledgement else {}),
        **({"end": instant(resolution.at)} if resolution else {}),
    }
    if period:
        task["executionPeriod"] = period
    task["authoredOn"] = instant(episode.opened_at)
    task["lastModified"] = instant(max(e.at for e in episode.events))
    task["requester"] = _organisation(episode.source_orgnr)
    if acknowledgement is not None:
        task["owner"] = _organisation(acknowledgement.orgnr)
    task["reasonCode"] = concept(ORIGIN_CODES, episode.origin.value, _ORIGIN_DISPLAYS[episode.origin])
    if episode.state is State.OPEN and episode.deadline is not None:
        task["restriction"] = {"period": {"end": instant(episode.deadline)}}  # acknowledge by
    if notes := _notes(episode):
        task["note"] = notes
    if resolution is not None and resolution.outcome is not None:
        outcome = resolution.outcome
        task["output"] = [
            {
                "type": concept(TASK_CODES, "outcome", "Outcome of the escalation"),
                "valueCodeableConcept": concept(OUTCOME_CODES, outcome.value, _OUTCOME_DISPLAYS[outcome]),
            }
        ]
    return task


def _business_status(episode: Episode, at: datetime) -> str:
    """The level and where the chain stands at `at` (when the bundle is made), in words
    (Task.businessStatus.text)."""
    level = episode.level.name
    if episode.state is State.RESOLVED:
        outcome = episode.resolution.outcome if episode.resolution else None
        return f"{level}: resolved" + (f" ({outcome.name})" if outcome else "")
    if episode.state is State.REASSESSMENT_PLANNED:
        plan = _latest(episode, EventKind.REASSESSMENT_PLANNED)
        planned = plan.planned_for if plan else None
        return f"{level}: acknowledged, reassessment planned" + (f" for {instant(planned)}" if planned else "")
    if episode.state is State.ACKNOWLEDGED:
        return f"{level}: acknowledged"
    if episode.undeliverable:
        return f"{level}: undeliverable, nobody responsible found; the recorder was told to phone"
    if episode.chain_exhausted:
        return f"{level}: chain exhausted, nobody left to add; overdue until someone takes it"
    waiting = f"{level}: waiting for acknowledgement"
    if episode.deadline is not None and episode.deadline <= at:
        waiting = f"{level}: overdue, not acknowledged by {instant(episode.deadline)}"
    elif episode.deadline is not None:
        waiting += f" by {instant(episode.deadline)}"
    return waiting + f"; {len(episode.pending)} more in the chain"


def _notes(episode: Episode) -> list[dict]:
    """The acknowledgement in force, the plan in force and the resolution: who, when, and the
    note the person gave (the episode's own text, nothing added)."""
    notes: list[dict] = []
    if (acknowledged := episode.acknowledgement) is not None:
        notes.append(_annotation(acknowledged, f"Acknowledged for organisation {acknowledged.orgnr}."))
    if episode.state is State.REASSESSMENT_PLANNED and (plan := _latest(episode, EventKind.REASSESSMENT_PLANNED)):
        when = f" for {instant(plan.planned_for)}" if plan.planned_for else ""
        notes.append(_annotation(plan, f"Reassessment planned{when} by organisation {plan.orgnr}."))
    if (resolved := episode.resolution) is not None:
        outcome = f": {_OUTCOME_DISPLAYS[resolved.outcome]}" if resolved.outcome else ""
        by = f" by organisation {resolved.orgnr}" if resolved.orgnr else ""
        notes.append(_annotation(resolved, f"Resolved{by}{outcome}."))
    return notes


def _annotation(event: Event, what: str) -> dict:
    annotation: dict[str, Any] = {}
    if event.person is not None:
        annotation["authorReference"] = practitioner_reference(event.person)
    annotation["time"] = instant(event.at)
    annotation["text"] = f"{what} Note: {event.text}" if event.text else what
    return annotation


def _latest(episode: Episode, kind: EventKind) -> Event | None:
    return next((e for e in reversed(episode.events) if e.kind is kind), None)


def _delivered(delivery: Delivery, task_url: str) -> dict:
    notify = delivery.notify
    if notify.reason is NotifyReason.REASSESSMENT_DUE:
        category = "reminder"
    else:
        category = "alert" if notify.push else "notification"  # REVIEW is listed, not pushed
    # What the inbox showed: level, role and deadline; never patient data (so no subject here: the
    # patient is the Task's).
    shown = f"{notify.level.name} escalation, {notify.role.name.lower()} organisation"
    if notify.deadline is not None:
        shown += f"; acknowledge by {instant(notify.deadline)}"
    return {
        "resourceType": "Communication",
        "identifier": [{"system": DELIVERY_ID, "value": str(delivery.delivery_id)}],
        "status": "completed",
        "category": [_category(category)],
        "priority": PRIORITY[notify.level],
        "about": [{"reference": task_url, "type": "Task"}],
        "sent": instant(delivery.created_at),
        "recipient": [_organisation(notify.orgnr)],
        "reasonCode": [concept(NOTIFY_REASON_CODES, notify.reason.value, _NOTIFY_REASON_DISPLAYS[notify.reason])],
        "payload": [{"contentString": shown + "."}],
    }


def _told_recorder(note: RecorderNote, task_url: str) -> dict:
    tell = note.tell
    return {
        "resourceType": "Communication",
        "status": "completed",
        # A message with phone numbers tells the recorder what to do.
        "category": [_category("instruction" if tell.phone_numbers else "notification")],
        "about": [{"reference": task_url, "type": "Task"}],
        "sent": instant(note.created_at),
        "recipient": [_organisation(tell.orgnr)],
        "reasonCode": [concept(RECORDER_MESSAGE_CODES, tell.message.value, _RECORDER_MESSAGE_DISPLAYS[tell.message])],
        "payload": [_text(tell.text.nb, "nb"), _text(tell.text.en, "en")],
    }


def _text(text: str, language: str) -> dict:
    data = base64.b64encode(text.encode()).decode("ascii")
    return {"contentAttachment": {"contentType": "text/plain; charset=utf-8", "language": language, "data": data}}


def _category(code: str) -> dict:
    return concept(COMMUNICATION_CATEGORY, code, CATEGORIES[code])


def _organisation(orgnr: str) -> dict:
    return {"type": "Organization", "identifier": organisation_identifier(orgnr)}
