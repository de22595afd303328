"""The Merkle leaf of a stored audit event, pure: one canonical byte string per event, so the same
event always hashes to the same leaf and anyone holding the event (as audit.v1 AuditEvent gives
it) can recompute it.

Version 1 is the byte 0x01 followed by canonical JSON (UTF-8, keys sorted, no whitespace) of an
object holding exactly these members:
- every AuditRecord field under its attribute name (actor_* for the proto's actor.*); enums by
  member name (the proto value name without prefix) or null when not given; occurred_at in RFC
  3339 UTC with microseconds, "2026-01-05T08:30:00.000000Z";
- the server-assigned event_id (a string) and sequence (an integer; the event is leaf sequence - 1).
stored_at is not part of the leaf: AuditEvent does not carry it, so no reader could check it.
Changing any of this needs a new version byte, never a change to version 1.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from .events import AuditRecord

LEAF_VERSION = 1
# The members of version 1, fixed here rather than read off AuditRecord, so a new record field
# cannot silently change what existing leaves mean.
V1_RECORD_FIELDS = (
    "idempotency_key",
    "occurred_at",
    "actor_kind",
    "actor_client_id",
    "actor_client_name",
    "actor_pid",
    "actor_name",
    "actor_hpr_number",
    "actor_authorization",
    "actor_orgnr_parent",
    "actor_orgnr_child",
    "patient_id",
    "action",
    "data_category",
    "purpose_of_use",
    "access_basis",
    "decision",
    "decided_by",
    "decision_id",
    "trace_id",
    "method",
    "flagged",
    "justification",
)


def leaf_bytes(record: AuditRecord, *, event_id: str, sequence: int) -> bytes:
    """The version-1 leaf of a stored event; ValueError for an event that cannot be stored
    (no occurrence time or a naive one, a sequence below 1, text that is not Unicode)."""
    return LeafTemplate.of(record, event_id=event_id).leaf(sequence)


@dataclass(frozen=True)
class LeafTemplate:
    """A version-1 leaf still without its sequence: the canonical JSON before and after the
    sequence member. The appender makes it before it takes the log's lock and only splices in
    the sequence it reserved. That is the very text json.dumps writes: keys are sorted, so the
    members are split where "sequence" sorts, and an int is written as its decimal."""

    before: bytes  # the version byte and the members sorting before "sequence", then '"sequence":'
    after: bytes  # the members sorting after "sequence", and the closing brace

    @classmethod
    def of(cls, record: AuditRecord, *, event_id: str) -> LeafTemplate:
        if not event_id:
            raise ValueError("a stored event has an event id")
        if record.occurred_at is None:
            raise ValueError("a stored event has an occurrence time")
        members: dict[str, object] = {name: _member(getattr(record, name)) for name in V1_RECORD_FIELDS}
        members["event_id"] = event_id
        head = {k: v for k, v in members.items() if k < "sequence"}
        tail = {k: v for k, v in members.items() if k > "sequence"}
        before, after = _canonical(head)[:-1], _canonical(tail)[1:]
        return cls(
            bytes([LEAF_VERSION]) + before + (b',"sequence":' if head else b'{"sequence":'),
            (b"," + after if tail else after),
        )

    def leaf(self, sequence: int) -> bytes:
        if type(sequence) is not int or sequence < 1:
            raise ValueError("the sequence of a stored event is a positive integer")
        return self.before + str(sequence).encode("ascii") + self.after


def _canonical(members: dict[str, object]) -> bytes:
    text = json.dumps(members, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def _member(value: object) -> object:
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, datetime):
        return _rfc3339_utc(value)
    if value is None or isinstance(value, bool | str):
        return value
    raise ValueError(f"no leaf encoding for {type(value).__name__}")


def _rfc3339_utc(moment: datetime) -> str:
    if moment.utcoffset() is None:
        raise ValueError("a leaf's time must be timezone-aware")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
