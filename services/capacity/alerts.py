"""Emergency alerts, pure: what a valid alert is, whom it reaches, and what each
organisation sees of it.

Targets are legal entities (hovedenheter). The sender sees every acknowledgement and who is
still pending; a target sees the alert and only its own acknowledgement, since an
acknowledgement names the person who gave it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from services.platform.ids import InvalidIdentifier, validate_org_number
from services.platform.text import TextField, text_violations

MAX_MESSAGE = 1000
MAX_NOTE = 500
MESSAGE = TextField(MAX_MESSAGE, multiline=True, required=True)
NOTE = TextField(MAX_NOTE, multiline=True)
ALERT_ID = TextField(36, required=True)
REGION = TextField(100)
MAX_LIFETIME = timedelta(days=7)
EXPIRED_LISTED_FOR = timedelta(days=30)
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,64}")  # printable ASCII without spaces
_MUNICIPALITY = re.compile(r"[0-9]{4}")
# Bounds (docs/limits.md): open alerts one organisation has sent, alerts in a WatchAlerts
# snapshot (the newest), and ListAlerts pages.
MAX_OPEN_ALERTS = 100
MAX_SNAPSHOT_ALERTS = 200
DEFAULT_ALERT_PAGE = 50
MAX_ALERT_PAGE = 100


class Severity(Enum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class EventKind(Enum):
    RAISED = "RAISED"
    ACKNOWLEDGED = "ACKNOWLEDGED"


@dataclass(frozen=True)
class Organisation:
    orgnr: str
    name: str
    parent_orgnr: str | None
    kind: str
    municipality_number: str
    region: str

    @property
    def legal_entity(self) -> bool:
        return self.parent_orgnr is None


@dataclass(frozen=True)
class Area:
    """Every legal entity in a region and/or municipality (both given: both must match)."""

    region: str = ""
    municipality_number: str = ""

    def __bool__(self) -> bool:
        return bool(self.region or self.municipality_number)

    def contains(self, organisation: Organisation) -> bool:
        return (not self.region or organisation.region == self.region) and (
            not self.municipality_number or organisation.municipality_number == self.municipality_number
        )


@dataclass(frozen=True)
class AlertRequest:
    """What a sender asks for, before its targets are resolved."""

    severity: Severity | None
    message: str
    target_orgnrs: tuple[str, ...]
    area: Area
    expires_at: datetime | None
    request_id: str

    def digest(self) -> str:
        """Identifies the content, so a retry under the same request id can be told from a reuse."""
        content = [
            self.severity.value if self.severity else "",
            self.message,
            sorted(self.target_orgnrs),
            [self.area.region, self.area.municipality_number],
            self.expires_at.isoformat() if self.expires_at else "",
        ]
        return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Sender:
    """Who raises an alert: an organisation, through one of its systems."""

    orgnr: str
    client_id: str


@dataclass(frozen=True)
class Acknowledger:
    """Who acknowledges an alert: an organisation, and the health person when one acts."""

    orgnr: str
    client_id: str
    hpr_number: str
    name: str


@dataclass(frozen=True)
class Acknowledgement:
    orgnr: str
    acknowledged_at: datetime
    client_id: str
    hpr_number: str
    name: str
    note: str
    position: int  # of its event in the alert sequence


@dataclass(frozen=True)
class Alert:
    alert_id: str
    severity: Severity
    message: str
    area: Area
    target_orgnrs: tuple[str, ...]  # ordered
    sender_orgnr: str
    sender_client_id: str
    raised_at: datetime
    expires_at: datetime
    position: int  # of its RAISED event
    acknowledgements: tuple[Acknowledgement, ...]  # in the order given

    @property
    def pending_orgnrs(self) -> tuple[str, ...]:
        done = {a.orgnr for a in self.acknowledgements}
        return tuple(o for o in self.target_orgnrs if o not in done)

    def expired(self, now: datetime) -> bool:
        return self.expires_at <= now

    def visible_to(self, orgnr: str) -> bool:
        return bool(orgnr) and (orgnr == self.sender_orgnr or orgnr in self.target_orgnrs)

    def as_of(self, position: int) -> Alert:
        """The alert as it stood right after the event at `position`."""
        return replace(self, acknowledgements=tuple(a for a in self.acknowledgements if a.position <= position))

    def seen_by(self, orgnr: str) -> AlertView:
        """What `orgnr` may see: everything for the sender; for a target, its own
        acknowledgement and whether it is pending."""
        if orgnr == self.sender_orgnr:
            return AlertView(self, self.acknowledgements, self.pending_orgnrs)
        return AlertView(
            self,
            tuple(a for a in self.acknowledgements if a.orgnr == orgnr),
            tuple(o for o in self.pending_orgnrs if o == orgnr),
        )


@dataclass(frozen=True)
class AlertView:
    """An alert as shown to one organisation."""

    alert: Alert
    acknowledgements: tuple[Acknowledgement, ...]
    pending_orgnrs: tuple[str, ...]


@dataclass(frozen=True)
class AlertEvent:
    position: int
    kind: EventKind
    alert: Alert  # as of this event
    orgnr: str = ""  # who acknowledged

    def shown_to(self, orgnr: str) -> bool:
        """A raise goes to its sender and targets; an acknowledgement to the sender and the
        organisation that gave it (the others never see it, see Alert.seen_by)."""
        if self.kind is EventKind.RAISED:
            return self.alert.visible_to(orgnr)
        return bool(orgnr) and orgnr in (self.alert.sender_orgnr, self.orgnr)


def request_violations(request: AlertRequest, now: datetime) -> dict[str, str]:
    """Field violations of the request itself, before its targets are looked up."""
    problems: dict[str, str] = {}
    if request.severity is None:
        problems["severity"] = "required"
    problems |= text_violations({"message": (request.message, MESSAGE)})
    if request.expires_at is None:
        problems["expire_time"] = "required"
    elif request.expires_at <= now:
        problems["expire_time"] = "must be in the future"
    elif request.expires_at - now > MAX_LIFETIME:
        problems["expire_time"] = f"at most {MAX_LIFETIME.days} days ahead"
    if not _REQUEST_ID.fullmatch(request.request_id):
        problems["request_id"] = "1-64 printable characters without spaces, unique per alert"
    for index, orgnr in enumerate(request.target_orgnrs):
        try:
            validate_org_number(orgnr)
        except InvalidIdentifier as exc:
            problems[f"target_orgnrs[{index}]"] = str(exc)
    problems |= text_violations({"area.region": (request.area.region, REGION)})
    if request.area.municipality_number and not _MUNICIPALITY.fullmatch(request.area.municipality_number):
        problems["area.municipality_number"] = "4 digits, e.g. '1804'"
    if not request.target_orgnrs and not request.area:
        problems["target_orgnrs"] = "give target organisations, an area, or both"
    return problems


def resolve_targets(
    request: AlertRequest, organisations: Iterable[Organisation], sender_orgnr: str
) -> tuple[tuple[str, ...], dict[str, str]]:
    """(ordered target legal entities, field violations). Explicit targets must be known legal
    entities other than the sender; an area reaches every legal entity in it but the sender."""
    entities = {o.orgnr: o for o in organisations if o.legal_entity}
    problems: dict[str, str] = {}
    targets: set[str] = set()
    for index, orgnr in enumerate(request.target_orgnrs):
        if orgnr == sender_orgnr:
            problems[f"target_orgnrs[{index}]"] = "the sender's own organisation cannot be a target"
        elif orgnr not in entities:
            problems[f"target_orgnrs[{index}]"] = "not a known organisation (legal entity)"
        else:
            targets.add(orgnr)
    if request.area:
        in_area = {o for o, entity in entities.items() if request.area.contains(entity)}
        if not in_area - {sender_orgnr}:
            problems["area"] = "no organisation other than the sender in this area"
        targets |= in_area - {sender_orgnr}
    return tuple(sorted(targets)), problems


def note_violations(note: str) -> dict[str, str]:
    return text_violations({"note": (note, NOTE)})


def alert_id_violations(alert_id: str) -> dict[str, str]:
    return text_violations({"alert_id": (alert_id, ALERT_ID)})
