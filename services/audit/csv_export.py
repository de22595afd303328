"""Audit events as CSV for auditors' spreadsheets, pure: RFC 4180 (comma, CRLF, quotes doubled),
UTF-8, a header row, one row per event with the record's fields (README "The access log is a transparency log")."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC
from enum import Enum

from .search import StoredEvent

CONTENT_TYPE = "text/csv"
COLUMNS = (
    "event_id",
    "sequence",
    "occurred_at",
    "actor_kind",
    "actor_pid",
    "actor_name",
    "actor_hpr_number",
    "actor_authorization",
    "actor_orgnr_parent",
    "actor_orgnr_child",
    "actor_client_id",
    "actor_client_name",
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
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP); tab and
# carriage return are on OWASP's list too. Free text such as a justification or a name could.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def events_csv(events: Iterable[StoredEvent]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for event in events:
        writer.writerow(_guarded(value) for value in _row(event))
    return out.getvalue().encode("utf-8")


def _row(event: StoredEvent) -> list[str]:
    record = event.record
    values: dict[str, object] = {name: getattr(record, name, None) for name in COLUMNS}
    values["event_id"], values["sequence"] = event.event_id, event.sequence
    if record.occurred_at is not None:
        values["occurred_at"] = record.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return [_text(values[name]) for name in COLUMNS]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _guarded(cell: str) -> str:
    """The cell with a leading quote when a spreadsheet would read it as a formula; the quote shows
    the reader the cell was changed."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell
