"""Audit events as a FHIR R4 Bundle (type collection) of AuditEvent resources following IHE BALP
(Basic Audit Log Patterns), pure: plain dicts, serialised as JSON (docs/audit-log.md "The access log is a transparency log").

record -> AuditEvent
- event_id -> id (and the entry's fullUrl urn:uuid:<event_id>)
- action -> type audit-event-type#rest; subtype restful-interaction read/create/update/delete/search-type;
  action R/C/U/D/E (BALP's Read, Create, Update, Delete and Query patterns)
- occurred_at -> recorded
- decision -> outcome 0 (success) on permit; 4 (minor failure: refused, as an HTTP 4xx) on deny, with
  outcomeDesc naming the rule
- actor pid, name, HPR number, authorization -> agent "user": type v3-ParticipationType#IRCP,
  requestor true, who.identifier the person number (else the HPR number; with both, the HPR number is
  BALP's otherId), role the HPR category (code list 9060), name, purposeOfUse
- purpose_of_use -> purposeOfUse in v3-ActReason (the HL7 v3 PurposeOfUse codes), on the requestor
- client id, name -> agent "client": type DCM#110152 Destination Role ID; the requestor when no person acted
- orgnr_parent, orgnr_child -> agents type v3-RoleClass#PROV identified by organisation number,
  role text "legal entity" / "point of care"
- the deployment (the log's origin) -> source.site and source.observer; agent "server" DCM#110153 Source Role ID
- patient_id -> entity type audit-entity-type#1 Person, role object-role#1 Patient, what a Patient
  identified by fødselsnummer, D-number or H-number (systems: services/platform/naming_systems.py)
- data_category, method -> entity type #2 System Object, role #4 Domain Resource
- trace_id -> entity type BALP BasicAuditEntityType#XrequestId (the request's id)
- decision_id, decided_by, access_basis, flagged, justification -> entity type #2, role #13 Security Resource
- access_basis EMERGENCY -> subtype also DCM#110127 Emergency Override Started; purposeOfUse also ETREAT

One agent shape serves every action, as the audit record (services/audit/events.py) fixes it: BALP's write and query patterns would
name the client Source Role ID and the user an author, but every record here is the same kind of thing,
an access decision on a request the user made through the client.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from services.platform.ids import InvalidIdentifier
from services.platform.naming_systems import (
    NAMING_SYSTEMS,
    IdentifierType,
    hpr_identifier,
    organisation_identifier,
    person_identifier,
)
from services.platform.vocabulary import AccessBasis, Decision, PurposeOfUse

from .events import Action, AuditRecord, StoredEvent

CONTENT_TYPE = "application/fhir+json"

EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ROLE_CLASS = "http://terminology.hl7.org/CodeSystem/v3-RoleClass"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
PURPOSE_OF_USE = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
BALP_ENTITY_TYPE = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
BALP_OTHER_ID = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/ihe-otherId"
# Norwegian identifier systems, from the one table (services/platform/naming_systems.py).
FNR = NAMING_SYSTEMS[IdentifierType.FNR]
DNR = NAMING_SYSTEMS[IdentifierType.DNR]
HNR = NAMING_SYSTEMS[IdentifierType.HNR]
HPR = NAMING_SYSTEMS[IdentifierType.HPR]
ORGNR = NAMING_SYSTEMS[IdentifierType.ENH]
HPR_CATEGORY = "urn:oid:2.16.578.1.12.4.1.1.9060"

OUTCOMES = {Decision.PERMIT: "0", Decision.DENY: "4"}
EMERGENCY_OVERRIDE = {"system": DCM, "code": "110127", "display": "Emergency Override Started"}
_INTERACTIONS = {
    Action.READ: ("read", "R"),
    Action.CREATE: ("create", "C"),
    Action.UPDATE: ("update", "U"),
    Action.DELETE: ("delete", "D"),
    Action.SEARCH: ("search-type", "E"),
}
_PURPOSE_DISPLAYS = {
    PurposeOfUse.TREAT: "treatment",
    PurposeOfUse.ETREAT: "Emergency Treatment",
    PurposeOfUse.COC: "coordination of care",
    PurposeOfUse.BTG: "break the glass",
}


def events_bundle(events: Iterable[StoredEvent], *, origin: str, exported_at: datetime) -> bytes:
    """The Bundle as UTF-8 JSON; `origin` names the deployment whose log recorded the events."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": _instant(exported_at),
        "entry": [{"fullUrl": f"urn:uuid:{e.event_id}", "resource": audit_event(e, origin=origin)} for e in events],
    }
    return json.dumps(_compact(bundle), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def audit_event(event: StoredEvent, *, origin: str) -> dict:
    record = event.record
    assert record.action is not None and record.decision is not None and record.data_category is not None, (
        "a stored event was validated (record_violations)"
    )
    interaction, action = _INTERACTIONS[record.action]
    emergency = record.access_basis is AccessBasis.EMERGENCY
    purposes = [record.purpose_of_use] if record.purpose_of_use else []
    if emergency and PurposeOfUse.ETREAT not in purposes:
        purposes.append(PurposeOfUse.ETREAT)
    purpose_of_use = [{"coding": [_coding(PURPOSE_OF_USE, p.value, _PURPOSE_DISPLAYS[p])]} for p in purposes]
    user = _user(record, purpose_of_use)
    resource = {
        "resourceType": "AuditEvent",
        "id": event.event_id,
        "type": _coding(EVENT_TYPE, "rest", "Restful Operation"),
        "subtype": [_coding(RESTFUL_INTERACTION, interaction, interaction)]
        + ([EMERGENCY_OVERRIDE] if emergency else []),
        "action": action,
        "recorded": _instant(record.occurred_at),
        "outcome": OUTCOMES[record.decision],
        "outcomeDesc": _denial(record),
        "agent": [
            *([user] if user else []),
            {
                "type": {"coding": [_coding(DCM, "110152", "Destination Role ID")]},
                "who": {"identifier": {"value": record.actor_client_id}, "display": record.actor_client_name},
                "requestor": user is None,
                # With no person, the client asked, and the purpose is the client's.
                "purposeOfUse": purpose_of_use if user is None else None,
            },
            {
                "type": {"coding": [_coding(DCM, "110153", "Source Role ID")]},
                "who": {"display": origin},
                "requestor": False,
            },
            _organisation(record.actor_orgnr_parent, "legal entity"),
            _organisation(record.actor_orgnr_child, "point of care"),
        ],
        "source": {
            "site": origin,
            "observer": {"display": origin},
            "type": [_coding(SOURCE_TYPE, "4", "Application Server")],
        },
        "entity": [
            {
                "what": {"type": "Patient", "identifier": _person_identifier(record.patient_id)},
                "type": _coding(ENTITY_TYPE, "1", "Person"),
                "role": _coding(OBJECT_ROLE, "1", "Patient"),
            },
            {
                "what": {"display": record.data_category.value},
                "type": _coding(ENTITY_TYPE, "2", "System Object"),
                "role": _coding(OBJECT_ROLE, "4", "Domain Resource"),
                "detail": _details(method=record.method),
            },
            # The W3C trace id is this system's request id: BALP's X-Request-Id entity.
            {
                "what": {"identifier": {"value": record.trace_id}},
                "type": _coding(BALP_ENTITY_TYPE, "XrequestId", None),
            }
            if record.trace_id
            else None,
            {
                "what": {"identifier": {"value": record.decision_id}} if record.decision_id else None,
                "type": _coding(ENTITY_TYPE, "2", "System Object"),
                "role": _coding(OBJECT_ROLE, "13", "Security Resource"),
                "description": "access decision",
                "detail": _details(
                    decision=record.decision.value,
                    decided_by=record.decided_by,
                    access_basis=record.access_basis.value if record.access_basis else "",
                    flagged="true" if record.flagged else "false",
                    justification=record.justification,
                ),
            },
        ],
    }
    return _compact(resource)


def _denial(record: AuditRecord) -> str | None:
    """Why access was refused (BALP: outcomeDesc explains a deny)."""
    return f"denied by {record.decided_by or 'an unnamed rule'}" if record.decision is Decision.DENY else None


def _user(record: AuditRecord, purpose_of_use: list[dict]) -> dict | None:
    """The person who asked, when one did; identified by person number, else by HPR number."""
    identifiers = []
    if record.actor_pid:
        identifiers.append(_person_identifier(record.actor_pid))
    if record.actor_hpr_number:
        identifiers.append(hpr_identifier(record.actor_hpr_number))
    if not identifiers and not record.actor_name:
        return None
    return {
        "type": {"coding": [_coding(PARTICIPATION_TYPE, "IRCP", "information recipient")]},
        "who": {"identifier": identifiers[0] if identifiers else None, "display": record.actor_name},
        "extension": [
            {
                "url": BALP_OTHER_ID,
                "valueIdentifier": {
                    "type": {"coding": [_coding(IDENTIFIER_TYPE, "PRN", "Provider number")]},
                    **identifiers[1],
                },
            }
        ]
        if len(identifiers) > 1
        else None,
        "role": [{"coding": [_coding(HPR_CATEGORY, record.actor_authorization, None)]}]
        if record.actor_authorization
        else None,
        "name": record.actor_name,
        "requestor": True,
        "purposeOfUse": purpose_of_use,
    }


def _organisation(orgnr: str, level: str) -> dict | None:
    if not orgnr:
        return None
    return {
        "type": {"coding": [_coding(ROLE_CLASS, "PROV", "healthcare provider")]},
        "role": [{"text": level}],
        "who": {"identifier": organisation_identifier(orgnr)},
        "requestor": False,
    }


def _person_identifier(value: str) -> dict:
    """The identifier of a person number, its system by kind (naming_systems.person_identifier)."""
    try:
        return person_identifier(value)
    except InvalidIdentifier:
        return {"value": value}  # appends are validated; a row changed since keeps its value visible


def _coding(system: str, code: str, display: str | None) -> dict:
    return {"system": system, "code": code, "display": display}


def _details(**values: str) -> list[dict]:
    return [{"type": name, "valueString": value} for name, value in values.items() if value]


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _compact(value: Any) -> Any:
    """The value without empty members (None, "", [], {}): FHIR JSON has no empty values."""
    if isinstance(value, dict):
        pairs = ((k, _compact(v)) for k, v in value.items())
        return {k: v for k, v in pairs if v not in (None, "", [], {})}
    if isinstance(value, list):
        items = (_compact(v) for v in value)
        return [v for v in items if v not in (None, "", [], {})]
    return value
