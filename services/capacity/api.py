"""gRPC handlers of the capacity service: parse (convert.py), run the use case (use_cases.py),
render (convert.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

import grpc

from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from services.platform.actor_convert import actor_from_message
from services.platform.actors import Actor
from services.platform.error_reasons import Reason
from services.platform.errors import invalid_argument
from services.platform.interceptors import current_assertion
from services.platform.paging import newest_fitting, page, page_violations
from services.platform.vocabulary import ActorKind
from services.platform.watch import Heartbeat

from . import convert, use_cases
from .alerts import (
    DEFAULT_ALERT_PAGE,
    EXPIRED_LISTED_FOR,
    MAX_ALERT_PAGE,
    Acknowledger,
    Sender,
    alert_id_violations,
    note_violations,
    request_violations,
)
from .domain import UnitFilter, history_violations, resource_type_violations, unit_id_violations
from .wakeups import Wakeups

if TYPE_CHECKING:
    from .alert_store import AlertStore
    from .store import CapacityStore


class CapacityApi(capacity_pb2_grpc.CapacityServiceServicer):
    # Methods that change nothing here: their assertion is claimed beside the handler (Backend.read_only).
    READ_ONLY: ClassVar[frozenset[str]] = frozenset({"GetCapacityOverview", "ListCapacityHistory", "ListAlerts"})

    def __init__(
        self,
        capacity: CapacityStore,
        alerts: AlertStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
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
        snapshot = await use_cases.capacity_snapshot(self._capacity, _unit_filter(request))
        units, totals = convert.units_and_totals(snapshot.units)
        return capacity_pb2.GetCapacityOverviewResponse(units=units, totals=totals, position=snapshot.position)

    async def ReportCapacity(
        self, request: capacity_pb2.ReportCapacityRequest, context: grpc.aio.ServicerContext
    ) -> capacity_pb2.ReportCapacityResponse:
        report, problems = convert.report_from_request(
            request, reported_at=self._clock(), reported_by=current_assertion().actor.client_id
        )
        if problems:
            raise invalid_argument(problems)
        state = await use_cases.report_capacity(
            self._capacity, self._wakeups, report, current_assertion().actor.orgnr_parent
        )
        return capacity_pb2.ReportCapacityResponse(unit=convert.unit(state))

    async def ListCapacityHistory(
        self, request: capacity_pb2.ListCapacityHistoryRequest, context: grpc.aio.ServicerContext
    ) -> capacity_pb2.ListCapacityHistoryResponse:
        start, end, bad_times = convert.history_range(request, self._clock)
        problems = history_violations(start, end) | bad_times | unit_id_violations(request.unit_id)
        if request.resource_type:
            problems |= resource_type_violations(request.resource_type)
        if problems:
            raise invalid_argument(problems)
        assert start is not None, "history_violations refuses a missing from_time"
        changes, truncated = await use_cases.capacity_history(
            self._capacity, request.unit_id, request.resource_type, start, end
        )
        reports, cut = newest_fitting([convert.report(c) for c in changes])
        return capacity_pb2.ListCapacityHistoryResponse(reports=reports, truncated=truncated or cut)

    async def WatchCapacity(
        self, request: capacity_pb2.WatchCapacityRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[capacity_pb2.WatchCapacityResponse]:
        unit_filter = _unit_filter(request)
        if request.resume_after:
            after = await use_cases.resume_position(self._capacity, request.resume_after)
            await context.send_initial_metadata(())  # accepted: the gateway may start its answer
        else:
            snapshot = await use_cases.capacity_snapshot(self._capacity, unit_filter)
            units, totals = convert.units_and_totals(snapshot.units)
            yield capacity_pb2.WatchCapacityResponse(
                position=snapshot.position, snapshot=capacity_pb2.CapacitySnapshot(units=units, totals=totals)
            )
            after = snapshot.position
        changes = use_cases.follow_capacity(self._capacity, self._wakeups, unit_filter, after)
        async with aclosing(changes):
            async for change in changes:
                if isinstance(change, Heartbeat):
                    yield capacity_pb2.WatchCapacityResponse(position=change.position)
                else:
                    yield capacity_pb2.WatchCapacityResponse(position=change.position, change=convert.report(change))

    # -- alerts ------------------------------------------------------------------------

    async def RaiseAlert(
        self, request: capacity_pb2.RaiseAlertRequest, context: grpc.aio.ServicerContext
    ) -> capacity_pb2.RaiseAlertResponse:
        actor = _organisation_actor()
        now = self._clock()
        alert_request, bad_time = convert.alert_request(request)
        if problems := request_violations(alert_request, now) | bad_time:
            raise invalid_argument(problems)
        view = await use_cases.raise_alert(
            self._alerts, self._wakeups, alert_request, Sender(actor.orgnr_parent, actor.client_id), now
        )
        return capacity_pb2.RaiseAlertResponse(alert=convert.alert(view))

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
        view = await use_cases.acknowledge_alert(
            self._alerts, self._wakeups, request.alert_id, by, request.note, self._clock()
        )
        return capacity_pb2.AcknowledgeAlertResponse(alert=convert.alert(view))

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
        alerts = await use_cases.list_alerts(self._alerts, orgnr, since, limit, below)
        shown, token = page(
            [convert.alert(a.seen_by(orgnr)) for a in alerts[:limit]], [a.position for a in alerts], len(alerts) > limit
        )
        return capacity_pb2.ListAlertsResponse(alerts=shown, next_page_token=token)

    async def WatchAlerts(
        self, request: capacity_pb2.WatchAlertsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[capacity_pb2.WatchAlertsResponse]:
        orgnr = _organisation_actor().orgnr_parent
        if request.resume_after:
            after = await use_cases.resume_position(self._alerts, request.resume_after)
            await context.send_initial_metadata(())  # accepted: the gateway may start its answer
        else:
            after, views, truncated = await use_cases.alert_snapshot(self._alerts, orgnr, self._clock())
            yield convert.alert_snapshot(after, views, truncated)
        events = use_cases.follow_alerts(self._alerts, self._wakeups, orgnr, after)
        async with aclosing(events):
            async for event in events:
                if isinstance(event, Heartbeat):
                    yield capacity_pb2.WatchAlertsResponse(position=event.position)
                else:
                    yield convert.alert_event(event, orgnr)


def _unit_filter(request: capacity_pb2.GetCapacityOverviewRequest | capacity_pb2.WatchCapacityRequest) -> UnitFilter:
    unit_filter, problems = convert.unit_filter(request)
    if problems:
        raise invalid_argument(problems)
    return unit_filter


def _organisation_actor() -> Actor:
    """The caller, who must act for an organisation: alerts go from and to organisations."""
    actor = actor_from_message(current_assertion().actor)
    if not actor.orgnr_parent:
        raise Reason.ORGANISATION_REQUIRED.error("alerts are sent, received and acknowledged by organisations")
    return actor
