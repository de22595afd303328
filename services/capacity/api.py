"""gRPC mapping of the capacity service: proto in, domain and store, proto out."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from services.platform.errors import invalid_argument, not_found, permission_denied
from services.platform.interceptors import current_assertion
from services.platform.protomap import from_enum, to_enum, to_timestamp

from .domain import Report, Status, UnitType, report_violations
from .models import UnitRow
from .store import CapacityStore, UnknownUnit


class CapacityApi(capacity_pb2_grpc.CapacityServiceServicer):
    def __init__(self, store: CapacityStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._store = store
        self._clock = clock

    async def GetCapacityOverview(self, request: capacity_pb2.GetCapacityOverviewRequest, context):
        unit_type = from_enum(capacity_pb2.UnitType, request.unit_type, UnitType)
        units = await asyncio.to_thread(
            self._store.list_units,
            request.municipality_number,
            request.region,
            unit_type.value if unit_type else "",
        )
        return capacity_pb2.GetCapacityOverviewResponse(units=[_unit(u) for u in units])

    async def ReportCapacity(self, request: capacity_pb2.ReportCapacityRequest, context):
        status = from_enum(capacity_pb2.CapacityStatus, request.status, Status)
        report = Report(
            unit_id=request.unit_id,
            resource_type=request.resource_type,
            total=request.total,
            available=request.available,
            occupied=request.occupied,
            status=status or Status.NORMAL,
            note=request.note,
            reported_at=self._clock(),
            reported_by=current_assertion().actor.client_id,
        )
        problems = report_violations(report)
        if status is None:
            problems["status"] = "required"
        if problems:
            raise invalid_argument(problems)
        unit = await asyncio.to_thread(self._store.find_unit, request.unit_id)
        if unit is None:
            raise not_found("UNIT_NOT_FOUND", f"no unit {request.unit_id!r}")
        if current_assertion().actor.orgnr_parent != unit.owner_orgnr:
            raise permission_denied("UNIT_NOT_OWNED", "only the organisation owning a unit reports its capacity")
        try:
            unit = await asyncio.to_thread(self._store.report, report)
        except UnknownUnit:
            raise not_found("UNIT_NOT_FOUND", f"no unit {request.unit_id!r}") from None
        return capacity_pb2.ReportCapacityResponse(unit=_unit(unit))


def _unit(row: UnitRow) -> capacity_pb2.Unit:
    return capacity_pb2.Unit(
        unit_id=row.unit_id,
        name=row.name,
        unit_type=to_enum(capacity_pb2.UnitType, UnitType(row.unit_type)),
        orgnr=row.orgnr,
        municipality_number=row.municipality_number,
        region=row.region,
        resources=[
            capacity_pb2.Resource(
                resource_type=r.resource_type,
                total=r.total,
                available=r.available,
                occupied=r.occupied,
                status=to_enum(capacity_pb2.CapacityStatus, Status(r.status)),
                note=r.note,
                report_time=to_timestamp(r.reported_at),
                reported_by=r.reported_by,
            )
            for r in row.resources
        ],
    )
