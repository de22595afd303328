"""Audit records, pure: what one access event holds and when it may be stored (docs/audit-log.md "The access log is a transparency log")."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from services.platform.ids import InvalidIdentifier, validate_hpr_number, validate_org_number, validate_person_number
from services.platform.text import TextField, text_violations
from services.platform.vocabulary import AccessBasis, ActorKind, DataCategory, Decision, PurposeOfUse

# Domain enums are named like the proto values without their prefix (services.platform.protomap).


class Action(Enum):
    READ = "READ"
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    SEARCH = "SEARCH"


MAX_IDEMPOTENCY_KEY = 100
# Upper bounds of the free-text fields, keyed by their proto path; the table columns match.
MAX_LENGTHS: dict[str, int] = {
    "actor.client_id": 100,
    "actor.client_name": 200,
    "actor.name": 200,
    "actor.authorization": 10,
    "decided_by": 1000,  # rule ids joined by ","
    "decision_id": 100,
    "method": 200,
    "justification": 500,
}
_TRACE_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class AuditRecord:
    """One access decision about one patient, as appended (AuditEvent without its server-assigned
    id and sequence). Optional enums are None when not given."""

    idempotency_key: str
    occurred_at: datetime | None
    actor_kind: ActorKind | None
    actor_client_id: str
    actor_client_name: str
    actor_pid: str
    actor_name: str
    actor_hpr_number: str
    actor_authorization: str
    actor_orgnr_parent: str
    actor_orgnr_child: str
    patient_id: str
    action: Action | None
    data_category: DataCategory | None
    purpose_of_use: PurposeOfUse | None
    access_basis: AccessBasis | None
    decision: Decision | None
    decided_by: str
    decision_id: str
    trace_id: str
    method: str
    # Specially flagged (an opened restriction, break the glass): shown to the patient as such.
    flagged: bool = False
    # The health person's words for an emergency access: for auditors, never shown to the patient.
    justification: str = ""
    # The duties that came with the decision, by name in OBLIGATIONS order, joined by ",".
    obligations: str = ""


# The obligations a decision may carry (the consent service's Obligation names), in their order.
OBLIGATIONS = ("FLAG_FOR_AUDIT", "NOTIFY_PATIENT")


def joined_obligations(names: set[str] | frozenset[str]) -> str:
    """Obligation names as a record holds them: each known one once, in OBLIGATIONS order."""
    return ",".join(name for name in OBLIGATIONS if name in names)


def record_violations(record: AuditRecord) -> dict[str, str]:
    """Field violations keyed by proto path (e.g. "actor.orgnr_parent"); empty when valid."""
    problems: dict[str, str] = {}
    if not 1 <= len(record.idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        problems["idempotency_key"] = f"required, 1-{MAX_IDEMPOTENCY_KEY} characters"
    if record.occurred_at is None:
        problems["occur_time"] = "required"
    _check(problems, "patient_id", record.patient_id, validate_person_number, required=True)
    _check(problems, "actor.pid", record.actor_pid, validate_person_number)
    _check(problems, "actor.hpr_number", record.actor_hpr_number, validate_hpr_number)
    _check(problems, "actor.orgnr_parent", record.actor_orgnr_parent, validate_org_number)
    _check(problems, "actor.orgnr_child", record.actor_orgnr_child, validate_org_number)
    for name in ("action", "data_category", "decision"):
        if getattr(record, name) is None:
            problems[name] = "required"
    if record.trace_id and (not _TRACE_ID.fullmatch(record.trace_id) or not record.trace_id.strip("0")):
        problems["trace_id"] = "empty or a W3C trace id: 32 lowercase hex digits, not all zero"
    if record.obligations and record.obligations != joined_obligations(set(record.obligations.split(","))):
        problems["obligations"] = f"each of {', '.join(OBLIGATIONS)} at most once"
    problems |= text_violations({"idempotency_key": (record.idempotency_key, TextField(MAX_IDEMPOTENCY_KEY))})
    problems |= text_violations(
        {path: (getattr(record, path.replace(".", "_")), TextField(limit)) for path, limit in MAX_LENGTHS.items()}
    )
    return problems


def _check(
    problems: dict[str, str], path: str, value: str, validate: Callable[[str], object], *, required: bool = False
) -> None:
    if not value:
        if required:
            problems[path] = "required"
        return
    try:
        validate(value)
    except InvalidIdentifier as exc:
        problems[path] = str(exc)


@dataclass(frozen=True)
class StoredEvent:
    """An event as the log holds it: the record with its id and place in the log."""

    event_id: str
    sequence: int
    record: AuditRecord
