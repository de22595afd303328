"""gRPC mapping of the capacity service: proto in, domain and store, proto out."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import ClassVar

import grpc

from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from services.platform.actor_convert import actor_from_message
from services.platform.actors import Actor
from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError, invalid_argument
from services.platform.interceptors import current_assertion
from services.platform.paging import fitting, newest_fitting, page, page_violations, resume_violation
from services.platform.protomap import from_enum, read_timestamp
from services.platform.vocabulary import ActorKind

from . import messages, sequences
from .alert_store import (
    Acknowledger,
    AlertExpired,
    AlertStore,
    NotTargeted,
    RequestIdReused,
    Sender,
    TooManyOpenAlerts,
    UnknownAlert,
)
from .alerts import (
    DEFAULT_ALERT_PAGE,
    EXPIRED_LISTED_FOR,
    MAX_ALERT_PAGE,
    MAX_OPEN_ALERTS,
    MAX_SNAPSHOT_ALERTS,
    AlertEvent,
    AlertRequest,
    Area,
    Severity,
    alert_id_violations,
    note_violations,
    request_violations,
    resolve_targets,
)
from .domain import (
    Change,
    Report,
    Status,
    UnitFilter,
    UnitType,
    filter_violations,
    history_violations,
    report_violations,
    resource_type_violations,
    unit_id_violations,
)
from .store import CapacityStore, UnknownUnit
from .wakeups import Wakeups
from .watch import PAGE, Heartbeat, Page, follow


class CapacityApi(capacity_pb2_grpc.CapacityServiceServicer):
    # Methods that change nothing here: their assertion is claimed beside the handler (Backend.read_only).
    READ_ONLY: ClassVar[frozenset[str]] = frozenset({"GetCapacityOverview", "ListCapacityHistory", "ListAlerts"})

    def __init__(
        self, capacity: CapacityStore, alerts: AlertStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        wakeups: Wakeups | None = None,
    ) -> None:
        self._capacity = capacity
        self._alerts = alerts
        self._clock = clock
        # Wakes this process's watchers after a commit here, and (PostgreSQL) after any replica's.
        self._wakeups = wakeups or Wakeups(capacity.listen_url)

    # -- capacity ----------------------------------------------------------------------

    async def GetCapacityOverview(
        self, request: capacity_pb2.GetCapacityOverviewRequest, context: grpc.aio.ServicerContext
    ) -> capacity_pb2.GetCapacityOverviewResponse:
        snapshot = await asyncio.to_thread(self._capacity.snapshot, _unit_filter(request))
        units, totals = messages.units_and_totals(snapshot.units)
        return capacity_pb2.GetCapacityOverviewResponse(units=units, totals=totals, position=snapshot.position)

    async def ReportCapacity(
        self, request: capacity_pb2.ReportCapacityRequest, context: grpc.aio.ServicerContext
    ) -> capacity_pb2.ReportCapacityResponse:
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
        unit = await asyncio.to_thread(self._capacity.find_unit, request.unit_id)
        if unit is None:
            raise _unit_not_found(request.unit_id)
        if current_assertion().actor.orgnr_parent != unit.owner_orgnr:
            raise Reason.UNIT_NOT_OWNED.error("only the organisation owning a unit reports its capacity")
        try:
            _, state = await asyncio.to_thread(self._capacity.report, report)
        except UnknownUnit:
            raise _unit_not_found(request.unit_id) from None
        self._wakeups.committed(sequences.CAPACITY)
        return capacity_pb2.ReportCapacityResponse(unit=messages.unit(state))

    async def ListCapacityHistory(
        self, request: capacity_pb2.ListCapacityHistoryRequest, context: grpc.aio.ServicerContext
    ) -> capacity_pb2.ListCapacityHistoryResponse:
        bad_times: dict[str, str] = {}
        start = read_timestamp(request, "from_time", bad_times)
        end = read_timestamp(request, "to_time", bad_times) or self._clock()
        problems = history_violations(start, end) | bad_times | unit_id_violations(request.unit_id)
        if request.resource_type:
            problems |= resource_type_violations(request.resource_type)
        if problems:
            raise invalid_argument(problems)
        assert start is not None, "history_violations refuses a missing from_time"
        try:
            changes, truncated = await asyncio.to_thread(
                self._capacity.history, request.unit_id, request.resource_type, start, end
            )
        except UnknownUnit:
            raise _unit_not_found(request.unit_id) from None
        reports, cut = newest_fitting([messages.report(c) for c in changes])
        return capacity_pb2.ListCapacityHistoryResponse(reports=reports, truncated=truncated or cut)

    async def WatchCapacity(
        self, request: capacity_pb2.WatchCapacityRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[capacity_pb2.WatchCapacityResponse]:
        unit_filter = _unit_filter(request)
        if request.resume_after:
            after = await self._resume_position(request.resume_after, self._capacity.head)
            await context.send_initial_metadata(())  # accepted: the gateway may start its answer
        else:
            snapshot = await asyncio.to_thread(self._capacity.snapshot, unit_filter)
            units, totals = messages.units_and_totals(snapshot.units)
            yield capacity_pb2.WatchCapacityResponse(
                position=snapshot.position, snapshot=capacity_pb2.CapacitySnapshot(units=units, totals=totals)
            )
            after = snapshot.position

        def read(seen: int) -> Awaitable[Page[Change]]:
            return asyncio.to_thread(self._capacity.changes, unit_filter, seen, PAGE)

        async with self._wakeups.watching(sequences.CAPACITY) as changed:
            async for change in follow(read, after, changed):
                if isinstance(change, Heartbeat):
                    yield capacity_pb2.WatchCapacityResponse(position=change.position)
                else:
                    yield capacity_pb2.WatchCapacityResponse(position=change.position, change=messages.report(change))

    # -- alerts ------------------------------------------------------------------------

    async def RaiseAlert(
        self, request: capacity_pb2.RaiseAlertRequest, context: grpc.aio.ServicerContext
    ) -> capacity_pb2.RaiseAlertResponse:
        actor = _organisation_actor()
        now = self._clock()
        bad_time: dict[str, str] = {}
        alert_request = AlertRequest(
            severity=from_enum(capacity_pb2.AlertSeverity, request.severity, Severity),
            message=request.message,
            target_orgnrs=tuple(request.target_orgnrs),
            area=Area(request.area.region, request.area.municipality_number),
            expires_at=read_timestamp(request, "expire_time", bad_time),
            request_id=request.request_id,
        )
        if problems := request_violations(alert_request, now) | bad_time:
            raise invalid_argument(problems)
        organisations = await asyncio.to_thread(self._alerts.organisations)
        targets, problems = resolve_targets(alert_request, organisations, actor.orgnr_parent)
        if problems:
            raise invalid_argument(problems)
        sender = Sender(actor.orgnr_parent, actor.client_id)
        try:
            alert, raised = await asyncio.to_thread(self._alerts.raise_alert, alert_request, targets, sender, now)
        except RequestIdReused:
            raise Reason.REQUEST_ID_REUSED.error(
                "another alert was raised under this request_id; use a new one for a new alert",
            ) from None
        except TooManyOpenAlerts:
            raise Reason.OPEN_ALERTS_LIMIT.error(
                f"the organisation has {MAX_OPEN_ALERTS} open alerts; raise more when some have expired",
            ) from None
        if raised:
            self._wakeups.committed(sequences.ALERTS)
        return capacity_pb2.RaiseAlertResponse(alert=messages.alert(alert.seen_by(sender.orgnr)))

    async def AcknowledgeAlert(
        self, request: capacity_pb2.AcknowledgeAlertRequest, context: grpc.aio.ServicerContext
    ) -> capacity_pb2.AcknowledgeAlertResponse:
        actor = _organisation_actor()
        problems = alert_id_violations(request.alert_id) | note_violations(request.note)
        if problems:
            raise invalid_argument(problems)
        person = actor.kind is ActorKind.PERSONNEL
        by = Acknowledger(
            orgnr=actor.orgnr_parent,
            client_id=actor.client_id,
            hpr_number=actor.hpr_number if person else "",
            name=actor.name if person else "",
        )
        try:
            alert, acknowledged = await asyncio.to_thread(
                self._alerts.acknowledge, request.alert_id, by, request.note, self._clock()
            )
        except UnknownAlert:
            raise Reason.ALERT_NOT_FOUND.error(f"no alert {request.alert_id!r}") from None
        except NotTargeted:
            raise Reason.ALERT_NOT_TARGETED.error(
                "only an organisation the alert targets acknowledges it"
            ) from None
        except AlertExpired:
            raise Reason.ALERT_EXPIRED.error("the alert has expired") from None
        if acknowledged:
            self._wakeups.committed(sequences.ALERTS)
        return capacity_pb2.AcknowledgeAlertResponse(alert=messages.alert(alert.seen_by(by.orgnr)))

    async def ListAlerts(
        self, request: capacity_pb2.ListAlertsRequest, context: grpc.aio.ServicerContext
    ) -> capacity_pb2.ListAlertsResponse:
        orgnr = _organisation_actor().orgnr_parent
        limit, below, problems = page_violations(
            request.page_size, request.page_token, default=DEFAULT_ALERT_PAGE, maximum=MAX_ALERT_PAGE
        )
        if problems:
            raise invalid_argument(problems)
        now = self._clock()
        since = now - EXPIRED_LISTED_FOR if request.include_expired else now
        alerts = await asyncio.to_thread(self._alerts.list_alerts, orgnr, since, limit + 1, below)
        shown, token = page(
            [messages.alert(a.seen_by(orgnr)) for a in alerts[:limit]], [a.position for a in alerts], len(alerts) > limit
        )
        return capacity_pb2.ListAlertsResponse(alerts=shown, next_page_token=token)

    async def WatchAlerts(
        self, request: capacity_pb2.WatchAlertsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[capacity_pb2.WatchAlertsResponse]:
        orgnr = _organisation_actor().orgnr_parent
        if request.resume_after:
            after = await self._resume_position(request.resume_after, self._alerts.head)
            await context.send_initial_metadata(())  # accepted: the gateway may start its answer
        else:
            after, alerts, truncated = await asyncio.to_thread(
                self._alerts.snapshot, orgnr, self._clock(), MAX_SNAPSHOT_ALERTS
            )
            shown = [messages.alert(a.seen_by(orgnr)) for a in alerts]
            count = fitting(shown, lambda m: m.ByteSize())
            yield capacity_pb2.WatchAlertsResponse(
                position=after,
                snapshot=capacity_pb2.AlertSnapshot(alerts=shown[:count], truncated=truncated or count < len(shown)),
            )

        def read(seen: int) -> Awaitable[Page[AlertEvent]]:
            return asyncio.to_thread(self._alerts.events, orgnr, seen, PAGE)

        async with self._wakeups.watching(sequences.ALERTS) as changed:
            async for event in follow(read, after, changed):
                if isinstance(event, Heartbeat):
                    yield capacity_pb2.WatchAlertsResponse(position=event.position)
                elif event.shown_to(orgnr):  # the store selects these already; the rule is the domain's
                    yield messages.alert_event(event, orgnr)

    @staticmethod
    async def _resume_position(resume_after: int, head: Callable[[], int]) -> int:
        if (problem := resume_violation(resume_after, await asyncio.to_thread(head))) is not None:
            raise invalid_argument({"resume_after": problem})
        return resume_after


def _unit_filter(request: capacity_pb2.GetCapacityOverviewRequest | capacity_pb2.WatchCapacityRequest) -> UnitFilter:
    unit_filter = UnitFilter(
        municipality_number=request.municipality_number,
        region=request.region,
        unit_type=from_enum(capacity_pb2.UnitType, request.unit_type, UnitType),
    )
    problems = filter_violations(unit_filter)
    if request.unit_type and unit_filter.unit_type is None:
        problems["unit_type"] = "not a known unit type"
    if problems:
        raise invalid_argument(problems)
    return unit_filter


def _organisation_actor() -> Actor:
    """The caller, who must act for an organisation: alerts go from and to organisations."""
    actor = actor_from_message(current_assertion().actor)
    if not actor.orgnr_parent:
        raise Reason.ORGANISATION_REQUIRED.error("alerts are sent, received and acknowledged by organisations")
    return actor


def _unit_not_found(unit_id: str) -> ServiceError:
    return Reason.UNIT_NOT_FOUND.error(f"no unit {unit_id!r}")
