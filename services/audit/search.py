"""Auditors' searches and exports, pure: who may search, what a filter may say, and the events a
search yields (Normen fact sheet 15: an organisation reviews its own accesses); and the filters of
a patient's own log (ListEvents), with page tokens bound to the filter they were made for."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.platform.ids import InvalidIdentifier, person_number_violations, validate_hpr_number, validate_org_number
from services.platform.paging import (
    DEFAULT_PAGE_SIZE,
    MAX_POSITION,
    MAX_TOKEN_CHARS,
    InvalidPage,
    M,
    fitting,
    page_size,
)
from services.platform.vocabulary import AccessBasis, ActorKind, Decision, PurposeOfUse

DEFAULT_EXPORT_LIMIT = 1000
MAX_EXPORT_LIMIT = 5000  # CSV, ~1.7 MB
# A FHIR AuditEvent takes ~3.7 KB: 500 keep an export under gRPC's default 4 MB message limit.
MAX_FHIR_EXPORT_LIMIT = 500
_DIGEST_CHARS = 16
# "f1:", the filter's digest and the position (at most 19 digits): 39 characters, 52 in base64.
_FILTERED_TOKEN = re.compile(r"f1:([0-9a-f]{16}):([1-9][0-9]{0,18})")


@dataclass(frozen=True)
class EventFilter:
    """What an auditor searches for (audit.v1 EventFilter); empty values match everything."""

    patient_id: str = ""
    actor_hpr_number: str = ""
    actor_pid: str = ""
    actor_orgnr_child: str = ""
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    purpose_of_use: PurposeOfUse | None = None
    decision: Decision | None = None
    access_basis: AccessBasis | None = None
    flagged_only: bool = False


@dataclass(frozen=True)
class LogFilter:
    """What a reader of one patient's access log (ListEvents) narrows it to; empty values match
    everything. Holds no person number, so a page token may carry its digest."""

    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    actor_orgnr: str = ""  # the actor's legal entity or point of care
    flagged_only: bool = False
    exclude_patient_actors: bool = False  # leave out actors of kind PATIENT (the patient, representatives)

    def digest(self) -> str:
        """A short digest of the filter, which a page token carries so it is not reused with another."""
        text = "|".join(
            (
                self.start.isoformat() if self.start else "",
                self.end.isoformat() if self.end else "",
                self.actor_orgnr,
                str(self.flagged_only),
                str(self.exclude_patient_actors),
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()[:_DIGEST_CHARS]


def log_filter_violations(log_filter: LogFilter) -> dict[str, str]:
    """Field violations of a ListEvents request's filters (proto field names); empty when valid."""
    problems: dict[str, str] = {}
    if log_filter.actor_orgnr:
        try:
            validate_org_number(log_filter.actor_orgnr)
        except InvalidIdentifier as exc:
            problems["actor_orgnr"] = str(exc)
    if log_filter.start is not None and log_filter.end is not None and log_filter.start >= log_filter.end:
        problems["end_time"] = "after start_time"
    return problems


def encode_filtered_token(last_position: int, log_filter: LogFilter) -> str:
    """A page token continuing past `last_position` of a listing by `log_filter`, bound to it."""
    return base64.urlsafe_b64encode(f"f1:{log_filter.digest()}:{last_position}".encode()).decode()


def decode_filtered_token(token: str, log_filter: LogFilter) -> int | None:
    """The position a token continues past (None for no token); InvalidPage for a token that is
    not ours, or was made for other filters (its page would skip or repeat events silently)."""
    if not token:
        return None
    match = None
    if len(token) <= MAX_TOKEN_CHARS:
        try:
            match = _FILTERED_TOKEN.fullmatch(base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii"))
        except (UnicodeError, binascii.Error, ValueError):
            match = None
    if match is None or int(match.group(2)) > MAX_POSITION:
        raise InvalidPage("not a token from a previous response")
    if not hmac.compare_digest(match.group(1), log_filter.digest()):
        raise InvalidPage("made for other filters: send the filters of the first page, or no token")
    return int(match.group(2))


def filtered_page_violations(
    requested_size: int, token: str, log_filter: LogFilter
) -> tuple[int, int | None, dict[str, str]]:
    """(page size, position to continue past, field violations) of a filtered list request."""
    problems: dict[str, str] = {}
    limit, after = DEFAULT_PAGE_SIZE, None
    try:
        limit = page_size(requested_size)
    except InvalidPage as exc:
        problems["page_size"] = str(exc)
    try:
        after = decode_filtered_token(token, log_filter)
    except InvalidPage as exc:
        problems["page_token"] = str(exc)
    return limit, after, problems


def filtered_page(
    messages: Sequence[M], positions: Sequence[int], fetched_more: bool, log_filter: LogFilter
) -> tuple[list[M], str]:
    """As services.platform.paging.page, with the next page's token bound to `log_filter`."""
    count = fitting(messages, lambda m: m.ByteSize())
    more = fetched_more or count < len(messages)
    token = encode_filtered_token(positions[count - 1], log_filter) if more and count else ""
    return list(messages[:count]), token


@dataclass(frozen=True)
class EventQuery:
    """A filter confined to the events of one legal entity: the auditor's own, never the request's."""

    actor_orgnr_parent: str
    filter: EventFilter


def event_query(
    reader_kind: ActorKind | None, reader_orgnr_parent: str, event_filter: EventFilter
) -> EventQuery | None:
    """The reader's query; None when the reader may not search (only an organisation's auditors may)."""
    if reader_kind is ActorKind.AUDITOR and reader_orgnr_parent:
        return EventQuery(reader_orgnr_parent, event_filter)
    return None


def filter_violations(event_filter: EventFilter, *, allow_synthetic: bool) -> dict[str, str]:
    """Field violations keyed by proto path ("filter.patient_id"); empty when the filter is valid."""
    problems: dict[str, str] = {}
    for name in ("patient_id", "actor_pid"):
        if value := getattr(event_filter, name):
            problems |= person_number_violations(value, f"filter.{name}", allow_synthetic=allow_synthetic)
    for name, validate in (("actor_hpr_number", validate_hpr_number), ("actor_orgnr_child", validate_org_number)):
        if value := getattr(event_filter, name):
            try:
                validate(value)
            except InvalidIdentifier as exc:
                problems[f"filter.{name}"] = str(exc)
    start, end = event_filter.start, event_filter.end
    if start is not None and end is not None and start >= end:
        problems["filter.end_time"] = "after start_time"
    return problems


def export_limit(requested: int, maximum: int = MAX_EXPORT_LIMIT) -> tuple[int, dict[str, str]]:
    """(how many events to export, field violations) of an export request; 0 asks for the default."""
    default = min(DEFAULT_EXPORT_LIMIT, maximum)
    if requested == 0:
        return default, {}
    if not 1 <= requested <= maximum:
        return default, {"limit": f"1-{maximum} for this format, or 0 for {default}"}
    return requested, {}
