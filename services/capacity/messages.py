"""Domain values to capacity.v1 messages."""
from __future__ import annotations

from collections.abc import Iterable

from samhandling.capacity.v1 import capacity_pb2
from services.platform.protomap import to_enum, to_timestamp

from .alerts import AlertEvent, AlertView
from .domain import Change, ResourceTotal, UnitCapacity, totals


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
    return capacity_pb2.CapacityReport(unit_id=change.report.unit_id, resource=resource(change), position=change.position)


def total(value: ResourceTotal) -> capacity_pb2.ResourceTotal:
    return capacity_pb2.ResourceTotal(
        resource_type=value.resource_type, total=value.total, available=value.available,
        occupied=value.occupied, unit_count=value.unit_count,
    )


def units_and_totals(states: Iterable[UnitCapacity]) -> tuple[list[capacity_pb2.Unit], list[capacity_pb2.ResourceTotal]]:
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
                orgnr=a.orgnr, acknowledge_time=to_timestamp(a.acknowledged_at), client_id=a.client_id,
                hpr_number=a.hpr_number, name=a.name, note=a.note,
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
