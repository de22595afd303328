"""The inbox carries no patient data (docs/escalation.md, "API"): a walk over the descriptors of
ListEscalations' and WatchEscalations' answers, through every message field, against an allow-list
of field names and types. A field added later (a patient id, a name, a value, a measurement, free
text) fails it until someone decides, here, that it may be there. The same for the auditors'
ListEscalationSignals, whose only person is the organisation's own employee who acknowledged."""

from __future__ import annotations

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from samhandling.summary.v1 import escalation_pb2

TIMESTAMP = "google.protobuf.Timestamp"
_E = "samhandling.summary.v1."
# (message, field) -> the field's type: a scalar type name, or the full name of its enum or message.
ALLOWED = {
    (_E + "ListEscalationsResponse", "escalations"): _E + "EscalationInboxItem",
    (_E + "ListEscalationsResponse", "next_page_token"): "string",
    (_E + "ListEscalationsResponse", "server_time"): TIMESTAMP,
    (_E + "WatchEscalationsResponse", "position"): "int64",
    (_E + "WatchEscalationsResponse", "server_time"): TIMESTAMP,
    (_E + "WatchEscalationsResponse", "snapshot"): _E + "EscalationInboxSnapshot",
    (_E + "WatchEscalationsResponse", "change"): _E + "EscalationInboxItem",
    (_E + "EscalationInboxSnapshot", "escalations"): _E + "EscalationInboxItem",
    (_E + "EscalationInboxSnapshot", "truncated"): "bool",
    (_E + "EscalationInboxItem", "escalation_id"): "string",
    (_E + "EscalationInboxItem", "level"): _E + "EscalationLevel",
    (_E + "EscalationInboxItem", "state"): _E + "EscalationState",
    (_E + "EscalationInboxItem", "role"): _E + "EscalationRole",
    (_E + "EscalationInboxItem", "open_time"): TIMESTAMP,
    (_E + "EscalationInboxItem", "deadline_time"): TIMESTAMP,
    (_E + "EscalationInboxItem", "last_notice_time"): TIMESTAMP,
    (_E + "EscalationInboxItem", "last_notice_reason"): _E + "EscalationNoticeReason",
    (_E + "EscalationInboxItem", "pushed"): "bool",
    (_E + "EscalationInboxItem", "chain_exhausted"): "bool",
    (_E + "EscalationInboxItem", "declined"): "bool",
    (_E + "EscalationInboxItem", "reassess_time"): TIMESTAMP,
    (_E + "EscalationInboxItem", "position"): "int64",
}
DURATION = "google.protobuf.Duration"
# ListEscalationSignals' answer (docs/escalation.md, "Auditors' signals").
SIGNALS_ALLOWED = {
    (_E + "ListEscalationSignalsResponse", "signals"): _E + "EscalationSignal",
    (_E + "ListEscalationSignalsResponse", "next_page_token"): "string",
    (_E + "ListEscalationSignalsResponse", "truncated"): "bool",
    (_E + "EscalationSignal", "kind"): _E + "EscalationSignalKind",
    (_E + "EscalationSignal", "escalation_id"): "string",
    (_E + "EscalationSignal", "level"): _E + "EscalationLevel",
    (_E + "EscalationSignal", "open_time"): TIMESTAMP,
    (_E + "EscalationSignal", "deadline_time"): TIMESTAMP,
    (_E + "EscalationSignal", "event_time"): TIMESTAMP,
    (_E + "EscalationSignal", "late_by"): DURATION,
    (_E + "EscalationSignal", "orgnr"): "string",
    (_E + "EscalationSignal", "role"): _E + "EscalationRole",
    (_E + "EscalationSignal", "person"): _E + "Performer",
    (_E + "Performer", "hpr_number"): "string",
    (_E + "Performer", "name"): "string",
}
# The health person who acknowledged (HPR number and name): the auditor's organisation's own
# employee, as the audit's signals name actors; never the patient.
ACTING_PERSON = {(_E + "EscalationSignal", "person"), (_E + "Performer", "hpr_number"), (_E + "Performer", "name")}
# Leaves: messages that hold no data of anyone (a point in time, a length of time), not walked further.
LEAVES = {TIMESTAMP, DURATION}
_SCALARS = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_DOUBLE: "double",
    FieldDescriptor.TYPE_FLOAT: "float",
    FieldDescriptor.TYPE_BYTES: "bytes",
}
ROOTS = (
    escalation_pb2.EscalationInboxItem.DESCRIPTOR,
    escalation_pb2.ListEscalationsResponse.DESCRIPTOR,
    escalation_pb2.WatchEscalationsResponse.DESCRIPTOR,
)
# Names that would carry patient data wherever they appeared.
PATIENT_DATA = ("patient", "name", "person", "value", "measurement", "vital", "news2", "note", "text", "reason_text")


def _type(field: FieldDescriptor) -> str:
    if field.message_type is not None:
        return field.message_type.full_name
    if field.enum_type is not None:
        return field.enum_type.full_name
    return _SCALARS.get(field.type, f"type {field.type}")


def walk(roots: tuple[Descriptor, ...]) -> dict[tuple[str, str], str]:
    """Every (message, field) -> type reachable from `roots` through message fields."""
    found: dict[tuple[str, str], str] = {}
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        message = stack.pop()
        if message.full_name in seen or message.full_name in LEAVES:
            continue
        seen.add(message.full_name)
        for field in message.fields:
            found[(message.full_name, field.name)] = _type(field)
            if field.message_type is not None:
                stack.append(field.message_type)
    return found


def test_the_inbox_messages_hold_only_the_allowed_fields():
    assert walk(ROOTS) == ALLOWED


def test_no_allowed_field_is_named_for_patient_data():
    assert [key for key in ALLOWED if any(word in key[1] for word in PATIENT_DATA)] == []


def test_the_auditors_signals_hold_only_the_allowed_fields():
    assert walk((escalation_pb2.ListEscalationSignalsResponse.DESCRIPTOR,)) == SIGNALS_ALLOWED


def test_no_signal_field_but_the_acting_person_is_named_for_patient_data():
    named = [key for key in SIGNALS_ALLOWED if any(word in key[1] for word in PATIENT_DATA)]
    assert set(named) == ACTING_PERSON - {(_E + "Performer", "hpr_number")}


def test_the_walk_finds_a_field_that_could_hold_patient_data():
    """The walk itself is honest: through a message field it reaches the full escalation's patient."""
    found = walk((escalation_pb2.GetEscalationResponse.DESCRIPTOR,))
    assert found[(_E + "Escalation", "patient_id")] == "string"
    assert (_E + "VitalSignsRecord", "vital_signs") in found
    assert set(found) - set(ALLOWED)
