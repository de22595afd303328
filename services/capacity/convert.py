"""Proto <-> domain mapping of the capacity service: capacity.v1 requests to domain values
(with their field violations), domain values to capacity.v1 messages. No I/O."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from samhandling.capacity.v1 import capacity_pb2
from services.platform.paging import fitting
from services.platform.protomap import from_enum, read_timestamp, to_enum, to_timestamp

from .alerts import AlertEvent, AlertRequest, AlertView, Area, Severity
from .domain import (
    Change,
    Report,
    ResourceTotal,
    Status,
    UnitCapacity,
    UnitFilter,
    UnitType,
    filter_violations,
    report_violations,
    totals,
)

# -- requests ------------------------------------------------------------------------------


def unit_filter(
    request: capacity_pb2.GetCapacityOverviewRequest | capacity_pb2.WatchCapacityRequest,
) -> tuple[UnitFilter, dict[str, str]]:
    value = UnitFilter(
        municipality_number=request.municipality_number,
        region=request.region,
        unit_type=from_enum(capacity_pb2.UnitType, request.unit_type, UnitType),
    )
    problems = filter_violations(value)
    if request.unit_type and value.unit_type is None:
        problems["unit_type"] = "not a known unit type"
    return value, problems


def report_from_request(
    request: capacity_pb2.ReportCapacityRequest, *, reported_at: datetime, reported_by: str
) -> tuple[Report, dict[str, str]]:
    status = from_enum(capacity_pb2.CapacityStatus, request.status, Status)
    report = Report(
        unit_id=request.unit_id,
        resource_type=request.resource_type,
        total=request.total,
        available=request.available,
        occupied=request.occupied,
        status=status or Status.NORMAL,
        note=request.note,
        reported_at=reported_at,
        reported_by=reported_by,
    )
    problems = report_violations(report)
    if status is None:
        problems["status"] = "required"
    return report, problems


def alert_request(request: capacity_pb2.RaiseAlertRequest) -> tuple[AlertRequest, dict[str, str]]:
    """The alert asked for, and the problems of reading it (its expire_time); the domain's
    request_violations checks the rest."""
    bad_time: dict[str, str] = {}
    value = AlertRequest(
        severity=from_enum(capacity_pb2.AlertSeverity, request.severity, Severity),
        message=request.message,
        target_orgnrs=tuple(request.target_orgnrs),
        area=Area(request.area.region, request.area.municipality_number),
        expires_at=read_timestamp(request, "expire_time", bad_time),
        request_id=request.request_id,
    )
    return value, bad_time


def history_range(
    request: capacity_pb2.ListCapacityHistoryRequest, clock: Callable[[], datetime]
) -> tuple[datetime | None, datetime, dict[str, str]]:
    """from_time (None when unset or bad), to_time (now when unset) and the problems of reading them."""
    bad_times: dict[str, str] = {}
    start = read_timestamp(request, "from_time", bad_times)
    end = read_timestamp(request, "to_time", bad_times) or clock()
    return start, end, bad_times


# -- answers -------------------------------------------------------------------------------


def unit(state: UnitCapacity) -> capacity_pb2.Unit:
    u = state.unit
    return capacity_pb2.Unit(
        unit_id=u.unit_id,
        name=u.name,
        unit_type=to_enum(capacity_pb2.UnitType, u.unit_type),
        orgnr=u.orgnr,
        municipality_number=u.municipality_number,
        region=u.region,
        resources=[resource(c) for c in state.resources],
    )


def resource(change: Change) -> capacity_pb2.Resource:
    r = change.report
    return capacity_pb2.Resource(
        resource_type=r.resource_type,
        total=r.total,
        available=r.available,
        occupied=r.occupied,
        status=to_enum(capacity_pb2.CapacityStatus, r.status),
        note=r.note,
        report_time=to_timestamp(r.reported_at),
        reported_by=r.reported_by,
    )


def report(change: Change) -> capacity_pb2.CapacityReport:
    return capacity_pb2.CapacityReport(
        unit_id=change.report.unit_id, resource=resource(change), position=change.position
    )


def total(value: ResourceTotal) -> capacity_pb2.ResourceTotal:
    return capacity_pb2.ResourceTotal(
        resource_type=value.resource_type,
        total=value.total,
        available=value.available,
        occupied=value.occupied,
        unit_count=value.unit_count,
    )


def units_and_totals(
    states: Iterable[UnitCapacity],
) -> tuple[list[capacity_pb2.Unit], list[capacity_pb2.ResourceTotal]]:
    states = list(states)
    return [unit(s) for s in states], [total(t) for t in totals(states)]


def alert(view: AlertView) -> capacity_pb2.Alert:
    value = view.alert
    return capacity_pb2.Alert(
        alert_id=value.alert_id,
        severity=to_enum(capacity_pb2.AlertSeverity, value.severity),
        message=value.message,
        area=capacity_pb2.AlertArea(region=value.area.region, municipality_number=value.area.municipality_number),
        target_orgnrs=value.target_orgnrs,
        sender_orgnr=value.sender_orgnr,
        sender_client_id=value.sender_client_id,
        raise_time=to_timestamp(value.raised_at),
        expire_time=to_timestamp(value.expires_at),
        acknowledgements=[
            capacity_pb2.Acknowledgement(
                orgnr=a.orgnr,
                acknowledge_time=to_timestamp(a.acknowledged_at),
                client_id=a.client_id,
                hpr_number=a.hpr_number,
                name=a.name,
                note=a.note,
            )
            for a in view.acknowledgements
        ],
        pending_orgnrs=view.pending_orgnrs,
    )


def alert_event(event: AlertEvent, viewer: str) -> capacity_pb2.WatchAlertsResponse:
    return capacity_pb2.WatchAlertsResponse(
        position=event.position,
        alert_event=capacity_pb2.AlertEvent(
            kind=to_enum(capacity_pb2.AlertEventKind, event.kind), alert=alert(event.alert.seen_by(viewer))
        ),
    )


def alert_snapshot(position: int, views: list[AlertView], truncated: bool) -> capacity_pb2.WatchAlertsResponse:
    """The first answer of a watch: the open alerts that fit one message (truncated when some
    were left out, here or by the store)."""
    shown = [alert(v) for v in views]
    count = fitting(shown, lambda m: m.ByteSize())
    return capacity_pb2.WatchAlertsResponse(
        position=position,
        snapshot=capacity_pb2.AlertSnapshot(alerts=shown[:count], truncated=truncated or count < len(shown)),
    )
