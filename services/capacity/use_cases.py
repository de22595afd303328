"""What each request of the capacity service does, over the stores and domain values: reports
and alerts written and their watchers woken, histories and snapshots read, the two change
sequences followed as streams. No proto, no gRPC, no SQL.

The stores are synchronous and run off the event loop here; waking this process's watchers
after a commit (Wakeups.committed) happens on the event loop, after the write returned."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import TypeVar

from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError, invalid_argument
from services.platform.paging import resume_violation
from services.platform.wakeups import follow_committed
from services.platform.watch import PAGE, Heartbeat

from . import sequence_store
from .alert_store import (
    AlertExpired,
    AlertStore,
    NotTargeted,
    RequestIdReused,
    TooManyOpenAlerts,
    UnknownAlert,
)
from .alerts import (
    MAX_OPEN_ALERTS,
    MAX_SNAPSHOT_ALERTS,
    Acknowledger,
    Alert,
    AlertEvent,
    AlertRequest,
    AlertView,
    Sender,
    resolve_targets,
)
from .domain import Change, Report, Snapshot, UnitCapacity, UnitFilter
from .store import CapacityStore, UnknownUnit
from .wakeups import Wakeups

T = TypeVar("T")  # what a followed sequence holds: a Change, an AlertEvent

# -- capacity ------------------------------------------------------------------------------


async def capacity_snapshot(capacity: CapacityStore, unit_filter: UnitFilter) -> Snapshot:
    return await asyncio.to_thread(capacity.snapshot, unit_filter)


async def report_capacity(
    capacity: CapacityStore, wakeups: Wakeups, report: Report, reporter_orgnr: str
) -> UnitCapacity:
    """Stores a report of the unit's owner (`reporter_orgnr`) and wakes the capacity watchers;
    the unit's capacity after it."""
    unit = await asyncio.to_thread(capacity.find_unit, report.unit_id)
    if unit is None:
        raise _unit_not_found(report.unit_id)
    if reporter_orgnr != unit.owner_orgnr:
        raise Reason.UNIT_NOT_OWNED.error("only the organisation owning a unit reports its capacity")
    try:
        _, state = await asyncio.to_thread(capacity.report, report)
    except UnknownUnit:
        raise _unit_not_found(report.unit_id) from None
    wakeups.committed(sequence_store.CAPACITY)
    return state


async def capacity_history(
    capacity: CapacityStore, unit_id: str, resource_type: str, start: datetime, end: datetime
) -> tuple[list[Change], bool]:
    try:
        return await asyncio.to_thread(capacity.history, unit_id, resource_type, start, end)
    except UnknownUnit:
        raise _unit_not_found(unit_id) from None


def follow_capacity(
    capacity: CapacityStore, wakeups: Wakeups, unit_filter: UnitFilter, after: int
) -> AsyncGenerator[Change | Heartbeat, None]:
    """The changes the filter selects after position `after`, as they commit (heartbeats between)."""
    return follow_committed(
        wakeups, sequence_store.CAPACITY, lambda seen: capacity.changes(unit_filter, seen, PAGE), after
    )


async def resume_position(store: CapacityStore | AlertStore, resume_after: int) -> int:
    """`resume_after`, when the store's sequence has handed it out (a watch resumes after it)."""
    if (problem := resume_violation(resume_after, await asyncio.to_thread(store.head))) is not None:
        raise invalid_argument({"resume_after": problem})
    return resume_after


# -- alerts --------------------------------------------------------------------------------


async def raise_alert(
    alerts: AlertStore, wakeups: Wakeups, request: AlertRequest, sender: Sender, now: datetime
) -> AlertView:
    """Raises the alert (a retry under the same request id answers with the raised one) and
    wakes the alert watchers; the alert as its sender sees it."""
    organisations = await asyncio.to_thread(alerts.organisations)
    targets, problems = resolve_targets(request, organisations, sender.orgnr)
    if problems:
        raise invalid_argument(problems)
    try:
        alert, raised = await asyncio.to_thread(alerts.raise_alert, request, targets, sender, now)
    except RequestIdReused:
        raise Reason.REQUEST_ID_REUSED.error(
            "another alert was raised under this request_id; use a new one for a new alert",
        ) from None
    except TooManyOpenAlerts:
        raise Reason.OPEN_ALERTS_LIMIT.error(
            f"the organisation has {MAX_OPEN_ALERTS} open alerts; raise more when some have expired",
        ) from None
    if raised:
        wakeups.committed(sequence_store.ALERTS)
    return alert.seen_by(sender.orgnr)


async def acknowledge_alert(
    alerts: AlertStore, wakeups: Wakeups, alert_id: str, by: Acknowledger, note: str, now: datetime
) -> AlertView:
    """Acknowledges the alert for `by`'s organisation (once: again answers with the first) and
    wakes the alert watchers; the alert as that organisation sees it."""
    try:
        alert, acknowledged = await asyncio.to_thread(alerts.acknowledge, alert_id, by, note, now)
    except UnknownAlert:
        raise Reason.ALERT_NOT_FOUND.error(f"no alert {alert_id!r}") from None
    except NotTargeted:
        raise Reason.ALERT_NOT_TARGETED.error("only an organisation the alert targets acknowledges it") from None
    except AlertExpired:
        raise Reason.ALERT_EXPIRED.error("the alert has expired") from None
    if acknowledged:
        wakeups.committed(sequence_store.ALERTS)
    return alert.seen_by(by.orgnr)


async def list_alerts(alerts: AlertStore, orgnr: str, since: datetime, limit: int, below: int | None) -> list[Alert]:
    """The organisation's alerts not expired by `since`, newest first, below position `below`:
    one more than `limit` when there are more."""
    return await asyncio.to_thread(alerts.list_alerts, orgnr, since, limit + 1, below)


async def alert_snapshot(alerts: AlertStore, orgnr: str, now: datetime) -> tuple[int, list[AlertView], bool]:
    """The position, the organisation's open alerts as it sees them (at most MAX_SNAPSHOT_ALERTS)
    and whether there were more."""
    after, found, truncated = await asyncio.to_thread(alerts.snapshot, orgnr, now, MAX_SNAPSHOT_ALERTS)
    return after, [a.seen_by(orgnr) for a in found], truncated


def follow_alerts(
    alerts: AlertStore, wakeups: Wakeups, orgnr: str, after: int
) -> AsyncGenerator[AlertEvent | Heartbeat, None]:
    """The alert events shown to the organisation after position `after`, as they commit. The
    store selects these already; the rule (AlertEvent.shown_to) is the domain's, so it is applied."""
    return follow_committed(
        wakeups,
        sequence_store.ALERTS,
        lambda seen: alerts.events(orgnr, seen, PAGE),
        after,
        keep=lambda event: event.shown_to(orgnr),
    )


def _unit_not_found(unit_id: str) -> ServiceError:
    return Reason.UNIT_NOT_FOUND.error(f"no unit {unit_id!r}")
