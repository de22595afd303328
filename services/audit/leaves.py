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

Version 2 (written for every new event) is the byte 0x02 followed by canonical JSON of the same
members and one more, `obligations` (the decision's duties by name, joined by ",", e.g.
"FLAG_FOR_AUDIT,NOTIFY_PATIENT"; "" for none), except that the two values patients are promised
never to see (the actor's person number, the free text of an emergency justification) are
replaced by salted commitments to them, so a patient can hold the proof of their own event:
- `actor_pid` by `actor_pid_commitment`, `justification` by `justification_commitment`, each the
  lowercase hex of SHA-256(label || salt || value), where label is the ASCII text
  "samhandling.no/audit-leaf/v2/commitment/" + the member's v1 name + one 0x00 byte, salt is 32
  bytes drawn from the operating system's CSPRNG (`secrets`) for this event and this member alone,
  and value is the member's text in UTF-8 (an empty value is committed to like any other, so a
  commitment does not tell whether there was a value).
- Binding: the label is fixed per member and ends in 0x00, which no member name holds, and the
  salt has a fixed length, so (member, salt, value) is read back from the hashed bytes in one way
  only; opening one commitment to two values is finding a SHA-256 collision.
- Hiding: a person number has little entropy (about 10^5 valid ones per birth date), so an
  unsalted hash would be reversed by trying them all; with a uniformly random 256-bit salt the
  hash input is unguessable and SHA-256 (as a random oracle, or keyed by its salt) shows nothing
  of the value. Separate salts per event and per member make equal values give unrelated
  commitments: a patient cannot tell whether two events had the same actor person number, nor
  learn anything of one member from the opening of another.
The salts are stored with the event (audit_events.actor_pid_salt, .justification_salt; NULL for
a version-1 event) and never logged; an opening (salt and value) is given only to those who may
see the value itself (the auditor's GetEventProof, services/audit/event_proof.py). The version
of a stored event is therefore fixed by its row: salts, version 2; none, version 1.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from .events import AuditRecord

V1 = 1
V2 = 2
LEAF_VERSION = V2  # the version new events are written as
LEAF_VERSIONS = (V1, V2)  # the versions a verifier reads
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
# The record fields version 2 holds only as commitments, and the members holding those.
COMMITTED_FIELDS = ("actor_pid", "justification")
COMMITMENT_SUFFIX = "_commitment"
# The record fields version 2 holds as they are: version 1's but the committed ones, and the
# decision's obligations (which version 1 did not record).
V2_ADDED_FIELDS = ("obligations",)
V2_RECORD_FIELDS = tuple(name for name in V1_RECORD_FIELDS if name not in COMMITTED_FIELDS) + V2_ADDED_FIELDS
SALT_SIZE = 32
_LABEL = "samhandling.no/audit-leaf/v2/commitment/"
_LABELS = {name: (_LABEL + name).encode("ascii") + b"\x00" for name in COMMITTED_FIELDS}


@dataclass(frozen=True, repr=False)
class Salts:
    """The salts of one version-2 event's commitments, one per committed field. Never logged:
    with the leaf they would let anyone confirm a guessed person number."""

    actor_pid: bytes
    justification: bytes

    def __post_init__(self) -> None:
        for name in COMMITTED_FIELDS:
            salt = getattr(self, name)
            if not isinstance(salt, bytes) or len(salt) != SALT_SIZE:
                raise ValueError(f"a commitment salt is {SALT_SIZE} bytes")

    @classmethod
    def draw(cls) -> Salts:
        random = secrets.token_bytes(2 * SALT_SIZE)  # one read of the OS's CSPRNG for both
        return cls(random[:SALT_SIZE], random[SALT_SIZE:])

    @classmethod
    def stored(cls, actor_pid: bytes | None, justification: bytes | None) -> Salts | None:
        """The salts as a row holds them; None for a version-1 event (no salts)."""
        if actor_pid is None and justification is None:
            return None
        if actor_pid is None or justification is None:
            raise ValueError("a stored event has both commitment salts or neither")
        return cls(bytes(actor_pid), bytes(justification))

    def __repr__(self) -> str:
        return "Salts(<hidden>)"


@dataclass(frozen=True, repr=False)
class Opening:
    """What opens one commitment: its salt and the committed value."""

    salt: bytes
    value: str

    def __repr__(self) -> str:
        return "Opening(<hidden>)"


def commitment(field: str, salt: bytes, value: str) -> str:
    """The version-2 commitment to `value` of record field `field` (module docstring)."""
    if field not in COMMITTED_FIELDS:
        raise ValueError(f"{field} is not a committed field")
    if len(salt) != SALT_SIZE:
        raise ValueError(f"a commitment salt is {SALT_SIZE} bytes")
    return hashlib.sha256(_LABELS[field] + salt + value.encode("utf-8")).hexdigest()


def openings(record: AuditRecord, salts: Salts) -> dict[str, Opening]:
    """The openings of a version-2 event's commitments, by record field."""
    return {name: Opening(getattr(salts, name), getattr(record, name)) for name in COMMITTED_FIELDS}


def leaf_bytes(record: AuditRecord, *, event_id: str, sequence: int, salts: Salts | None = None) -> bytes:
    """The leaf of a stored event: version 2 with its salts, version 1 without (an event stored
    before version 2); ValueError for an event that cannot be stored (no occurrence time or a
    naive one, a sequence below 1, text that is not Unicode)."""
    return LeafTemplate.of(record, event_id=event_id, salts=salts).leaf(sequence)


@dataclass(frozen=True)
class LeafTemplate:
    """A leaf still without its sequence: the canonical JSON before and after the sequence
    member. The appender makes it (drawing the salts of a version-2 leaf) before it takes the
    log's lock and only splices in the sequence it reserved. That is the very text json.dumps
    writes: keys are sorted, so the members are split where "sequence" sorts, and an int is
    written as its decimal."""

    before: bytes  # the version byte and the members sorting before "sequence", then '"sequence":'
    after: bytes  # the members sorting after "sequence", and the closing brace

    @classmethod
    def of(cls, record: AuditRecord, *, event_id: str, salts: Salts | None = None) -> LeafTemplate:
        """Version 2 with `salts`, version 1 without."""
        if not event_id:
            raise ValueError("a stored event has an event id")
        if record.occurred_at is None:
            raise ValueError("a stored event has an occurrence time")
        if salts is None:
            version = V1
            members: dict[str, object] = {name: _member(getattr(record, name)) for name in V1_RECORD_FIELDS}
        else:
            version = V2
            members = {name: _member(getattr(record, name)) for name in V2_RECORD_FIELDS}
            for name in COMMITTED_FIELDS:
                members[name + COMMITMENT_SUFFIX] = commitment(name, getattr(salts, name), getattr(record, name))
        members["event_id"] = event_id
        head = {k: v for k, v in members.items() if k < "sequence"}
        tail = {k: v for k, v in members.items() if k > "sequence"}
        before, after = _canonical(head)[:-1], _canonical(tail)[1:]
        return cls(
            bytes([version]) + before + (b',"sequence":' if head else b'{"sequence":'),
            (b"," + after if tail else after),
        )

    def leaf(self, sequence: int) -> bytes:
        if type(sequence) is not int or sequence < 1:
            raise ValueError("the sequence of a stored event is a positive integer")
        return self.before + str(sequence).encode("ascii") + self.after


def read_leaf(leaf: bytes) -> tuple[int, dict[str, Any]]:
    """The version and members of a leaf of a known version (1 or 2) holding a JSON object;
    ValueError otherwise. Not a full check of canonical form: a leaf is trusted for its hash."""
    if not leaf or leaf[0] not in LEAF_VERSIONS:
        raise ValueError(f"the leaf is not an audit event of version {' or '.join(map(str, LEAF_VERSIONS))}")
    try:
        members = json.loads(leaf[1:].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("the leaf is not canonical JSON") from None
    if not isinstance(members, dict):
        raise ValueError("the leaf is not a JSON object")
    return leaf[0], members


def check_openings(version: int, members: Mapping[str, Any], opened: Mapping[str, Opening]) -> dict[str, str]:
    """The values `opened` reveals, each checked against its commitment in a leaf's members;
    ValueError for an opening of a version-1 leaf, of an unknown field, or one that does not
    match. Openings are all or nothing: either none or one for every committed field."""
    if not opened:
        return {}
    if version != V2:
        raise ValueError("a version-1 leaf has no commitments to open")
    if set(opened) != set(COMMITTED_FIELDS):
        raise ValueError(f"the openings are of {', '.join(COMMITTED_FIELDS)}, each once")
    values = {}
    for name, opening in opened.items():
        committed = members.get(name + COMMITMENT_SUFFIX)
        if not isinstance(committed, str) or not hmac.compare_digest(
            committed, commitment(name, opening.salt, opening.value)
        ):
            raise ValueError(f"the opening of {name} does not match the leaf's commitment")
        values[name] = opening.value
    return values


def format_openings(opened: Mapping[str, Opening]) -> bytes:
    """Openings as canonical JSON: {"<field>": {"salt": "<hex>", "value": "<text>"}, ...}. It
    holds no raw line feed (JSON escapes control characters), as the leaf's JSON does not."""
    return _canonical({name: {"salt": o.salt.hex(), "value": o.value} for name, o in opened.items()})


def parse_openings(data: bytes) -> dict[str, Opening]:
    """The inverse of format_openings; ValueError for anything else."""
    try:
        items = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("the openings are not JSON") from None
    if not isinstance(items, dict):
        raise ValueError("the openings are a JSON object")
    opened = {}
    for name, item in items.items():
        if not isinstance(item, dict) or set(item) != {"salt", "value"}:
            raise ValueError(f"the opening of {name} is an object of salt and value")
        salt, value = item["salt"], item["value"]
        if not isinstance(value, str) or not isinstance(salt, str) or len(salt) != 2 * SALT_SIZE:
            raise ValueError(f"the opening of {name} has a {SALT_SIZE}-byte hex salt and a text value")
        try:
            opened[name] = Opening(bytes.fromhex(salt), value)
        except ValueError:
            raise ValueError(f"the salt of {name} is not hex") from None
    if data != format_openings(opened):
        raise ValueError("the openings are not canonical JSON")
    return opened


def _canonical(members: Mapping[str, object]) -> bytes:
    text = json.dumps(members, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def _member(value: object) -> object:
    if type(value) is str or value is None:  # most members: as they are, without the checks below
        return value
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
