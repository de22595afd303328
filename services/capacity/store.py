"""Capacity storage (synchronous; the api runs it off the event loop).

Every accepted report is kept as a row of capacity_reports with its position in the capacity
sequence (see sequence_store.py); `resources` holds a copy of the latest report per unit and
resource type, so reading the current state does not scan the history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from services.platform import pg_notify
from services.platform.watch import Page

from . import sequence_store
from .domain import (
    MAX_HISTORY_REPORTS,
    Change,
    Report,
    Snapshot,
    Status,
    Unit,
    UnitCapacity,
    UnitFilter,
    UnitType,
)
from .models import ReportRow, ResourceRow, UnitRow


class UnknownUnit(LookupError):
    pass


class CapacityStore:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions
        # Where replicas LISTEN for each other's commits (None: not PostgreSQL, they poll).
        self.listen_url = pg_notify.listen_url(sessions.kw["bind"].url)

    # -- reads -------------------------------------------------------------------------

    def find_unit(self, unit_id: str) -> Unit | None:
        with self._sessions() as session:
            row = session.get(UnitRow, unit_id)
            return None if row is None else _unit(row)

    def head(self) -> int:
        with self._sessions() as session:
            return sequence_store.head(session, sequence_store.CAPACITY)

    def snapshot(self, unit_filter: UnitFilter) -> Snapshot:
        """The matching units as of the current head, exactly (see `_state_as_of`)."""
        with self._sessions() as session:
            position = sequence_store.head(session, sequence_store.CAPACITY)
            units = session.scalars(_filtered(select(UnitRow), unit_filter).order_by(UnitRow.unit_id)).all()
            return Snapshot(position, _state_as_of(session, [_unit(u) for u in units], position))

    def changes(self, unit_filter: UnitFilter, after: int, limit: int) -> Page[Change]:
        """Reports of matching units after a position, in order, at most `limit`."""
        with self._sessions() as session:
            # Read the head first: every position up to it is committed, so nothing below it can
            # still appear; reading past it could hand out a position before a lower one is visible.
            head = sequence_store.head(session, sequence_store.CAPACITY)
            query = (
                _filtered(select(ReportRow).join(UnitRow, UnitRow.unit_id == ReportRow.unit_id), unit_filter)
                .where(ReportRow.position > after, ReportRow.position <= head)
                .order_by(ReportRow.position)
                .limit(limit)
            )
            rows = session.scalars(query).all()
        if len(rows) == limit:
            return Page(rows[-1].position, [_change(r) for r in rows], more=True)
        return Page(max(head, after), [_change(r) for r in rows])

    def history(self, unit_id: str, resource_type: str, start: datetime, end: datetime) -> tuple[list[Change], bool]:
        """(reports of the unit in [start, end), oldest first, at most the newest
        MAX_HISTORY_REPORTS; whether there were more)."""
        query = select(ReportRow).where(
            ReportRow.unit_id == unit_id, ReportRow.reported_at >= start, ReportRow.reported_at < end
        )
        if resource_type:
            query = query.where(ReportRow.resource_type == resource_type)
        with self._sessions() as session:
            if session.get(UnitRow, unit_id) is None:
                raise UnknownUnit(unit_id)
            rows = session.scalars(query.order_by(ReportRow.position.desc()).limit(MAX_HISTORY_REPORTS + 1)).all()
        newest = rows[:MAX_HISTORY_REPORTS]
        return [_change(r) for r in reversed(newest)], len(rows) > MAX_HISTORY_REPORTS

    # -- writes ------------------------------------------------------------------------

    def report(self, report: Report) -> tuple[Change, UnitCapacity]:
        """Stores the report as the next change and as the unit's current state of that
        resource type; returns the change and the unit right after it."""
        with self._sessions.begin() as session:
            position = sequence_store.lock(session, sequence_store.CAPACITY) + 1
            unit = session.get(UnitRow, report.unit_id)
            if unit is None:
                raise UnknownUnit(report.unit_id)
            values = report_columns(report)
            session.add(ReportRow(position=position, **values))
            session.merge(ResourceRow(position=position, **values))
            sequence_store.advance(session, sequence_store.CAPACITY, position)
            session.flush()
            state = _state_as_of(session, [_unit(unit)], position)[0]
        return Change(position, report), state

    def upsert_unit(self, unit: Unit) -> None:
        """Inserts or replaces a unit's description (seeding); keeps its reports."""
        with self._sessions.begin() as session:
            session.merge(
                UnitRow(
                    unit_id=unit.unit_id,
                    name=unit.name,
                    unit_type=unit.unit_type.value,
                    orgnr=unit.orgnr,
                    owner_orgnr=unit.owner_orgnr,
                    municipality_number=unit.municipality_number,
                    region=unit.region,
                )
            )

    def reported_resource_types(self, unit_id: str) -> set[str]:
        with self._sessions() as session:
            return set(session.scalars(select(ResourceRow.resource_type).where(ResourceRow.unit_id == unit_id)))


def _filtered(query: Select, unit_filter: UnitFilter) -> Select:
    if unit_filter.municipality_number:
        query = query.where(UnitRow.municipality_number == unit_filter.municipality_number)
    if unit_filter.region:
        query = query.where(UnitRow.region == unit_filter.region)
    if unit_filter.unit_type is not None:
        query = query.where(UnitRow.unit_type == unit_filter.unit_type.value)
    return query


def _state_as_of(session: Session, units: list[Unit], position: int) -> tuple[UnitCapacity, ...]:
    """The units' resources as of `position`, whatever committed since.

    `resources` may already hold a later report (each statement sees the latest commits); such
    a resource is taken from the history instead, as its latest report up to `position` (or
    left out if it was first reported after it). Reports up to `position` are all committed
    (sequence_store.py), so the result is exactly the state at `position`.
    """
    if not units:
        return ()
    rows = session.scalars(select(ResourceRow).where(ResourceRow.unit_id.in_([u.unit_id for u in units]))).all()
    current: dict[str, list[Change]] = {u.unit_id: [] for u in units}
    for row in rows:
        if row.position <= position:
            current[row.unit_id].append(_change(row))
            continue
        earlier = session.scalars(
            select(ReportRow)
            .where(
                ReportRow.unit_id == row.unit_id,
                ReportRow.resource_type == row.resource_type,
                ReportRow.position <= position,
            )
            .order_by(ReportRow.position.desc())
            .limit(1)
        ).first()
        if earlier is not None:
            current[row.unit_id].append(_change(earlier))
    return tuple(
        UnitCapacity(u, tuple(sorted(current[u.unit_id], key=lambda c: c.report.resource_type))) for u in units
    )


def _unit(row: UnitRow) -> Unit:
    return Unit(
        unit_id=row.unit_id,
        name=row.name,
        unit_type=UnitType(row.unit_type),
        orgnr=row.orgnr,
        owner_orgnr=row.owner_orgnr,
        municipality_number=row.municipality_number,
        region=row.region,
    )


def _change(row: ReportRow | ResourceRow) -> Change:
    return Change(
        row.position,
        Report(
            unit_id=row.unit_id,
            resource_type=row.resource_type,
            total=row.total,
            available=row.available,
            occupied=row.occupied,
            status=Status(row.status),
            note=row.note,
            reported_at=row.reported_at,
            reported_by=row.reported_by,
        ),
    )


def report_columns(report: Report) -> dict[str, object]:
    """The columns of a report's row (ReportRow and ResourceRow alike), but its position."""
    return {
        "unit_id": report.unit_id,
        "resource_type": report.resource_type,
        "total": report.total,
        "available": report.available,
        "occupied": report.occupied,
        "status": report.status.value,
        "note": report.note,
        "reported_at": report.reported_at,
        "reported_by": report.reported_by,
    }
