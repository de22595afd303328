"""Audit events as CSV for auditors' spreadsheets, pure: RFC 4180 (comma, CRLF, quotes doubled),
UTF-8, a header row, one row per event with the record's fields (docs/audit-log.md "The access log is a transparency log").

Every cell is guarded against formula injection whatever separator the spreadsheet splits it by
(Norway's Excel uses `;`): wherever a part of the cell could become a cell of its own (at the start,
or after any of `,` `;` TAB `|` CR LF) and begins, after spaces and double quotes, with a formula
trigger, a `'` goes before the trigger."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import UTC
from enum import Enum

from .events import StoredEvent

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
FORMULA_TRIGGERS = "=+-@\t\r"
# Where a spreadsheet may start a new cell when it splits by another separator than the comma, or
# a new row when it does not honour the quotes (OWASP: the separator matters, not only the start).
CELL_BREAKS = ",;\t|\r\n"
# A trigger at the start of the cell or of any part: after a break, spaces and double quotes (a
# quoted cell is still run as a formula) — the trigger itself may be a break (TAB, CR).
_EXPOSED_TRIGGER = re.compile(f'(?:^|(?<=[{re.escape(CELL_BREAKS)}]))([ "]*)(?=[{re.escape(FORMULA_TRIGGERS)}])')


def events_csv(events: Iterable[StoredEvent]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for event in events:
        writer.writerow(guarded(value) for value in _row(event))
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


def guarded(cell: str) -> str:
    """The cell with a `'` before every trigger a spreadsheet could read as the start of a formula,
    whichever of the common separators it splits by; the quote shows the reader the cell was changed."""
    return _EXPOSED_TRIGGER.sub(lambda match: match.group(1) + "'", cell)
