"""Capacity storage (synchronous; the api runs it off the event loop)."""
from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from .domain import Report
from .models import ResourceRow, UnitRow


class UnknownUnit(LookupError):
    pass


class CapacityStore:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def list_units(self, municipality_number: str = "", region: str = "", unit_type: str = "") -> list[UnitRow]:
        query = select(UnitRow).order_by(UnitRow.unit_id)
        if municipality_number:
            query = query.where(UnitRow.municipality_number == municipality_number)
        if region:
            query = query.where(UnitRow.region == region)
        if unit_type:
            query = query.where(UnitRow.unit_type == unit_type)
        with self._sessions() as session:
            return list(session.scalars(query))

    def find_unit(self, unit_id: str) -> UnitRow | None:
        with self._sessions() as session:
            return session.get(UnitRow, unit_id)

    def get_unit(self, unit_id: str) -> UnitRow:
        unit = self.find_unit(unit_id)
        if unit is None:
            raise UnknownUnit(unit_id)
        return unit

    def report(self, report: Report) -> UnitRow:
        """Stores the report as the unit's current state of that resource type."""
        with self._sessions.begin() as session:
            if session.get(UnitRow, report.unit_id) is None:
                raise UnknownUnit(report.unit_id)
            values = asdict(report)
            values["status"] = report.status.value
            session.merge(ResourceRow(**values))
        return self.get_unit(report.unit_id)

    def upsert_unit(self, unit: UnitRow) -> None:
        """Inserts or replaces a unit's description (seeding); keeps reported resources."""
        with self._sessions.begin() as session:
            session.merge(unit)
