"""Alert storage (synchronous; the api runs it off the event loop).

Raises and acknowledgements take positions in the alert sequence (sequence_store.py) and are
kept as alert_events, which WatchAlerts follows. Each write runs under the sequence's lock,
which also serialises the idempotency checks (request id, acknowledging twice).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from services.platform.watch import Page

from . import sequence_store
from .alerts import (
    MAX_OPEN_ALERTS,
    Acknowledgement,
    Acknowledger,
    Alert,
    AlertEvent,
    AlertRequest,
    Area,
    EventKind,
    Organisation,
    Sender,
    Severity,
)
from .models import AlertEventRow, AlertRow, AlertTargetRow, OrganisationRow


class UnknownAlert(LookupError):
    pass


class NotTargeted(Exception):
    """The organisation is not among the alert's targets."""


class AlertExpired(Exception):
    pass


class TooManyOpenAlerts(Exception):
    """The sender has MAX_OPEN_ALERTS alerts that have not expired."""


class RequestIdReused(Exception):
    """The sender already raised another alert under this request id."""


class AlertStore:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    # -- organisations -----------------------------------------------------------------

    def organisations(self) -> list[Organisation]:
        with self._sessions() as session:
            return [_organisation(r) for r in session.scalars(select(OrganisationRow).order_by(OrganisationRow.orgnr))]

    def upsert_organisations(self, organisations: Iterable[Organisation]) -> None:
        with self._sessions.begin() as session:
            for o in organisations:
                session.merge(
                    OrganisationRow(
                        orgnr=o.orgnr,
                        name=o.name,
                        parent_orgnr=o.parent_orgnr,
                        kind=o.kind,
                        municipality_number=o.municipality_number,
                        region=o.region,
                    )
                )

    # -- reads -------------------------------------------------------------------------

    def head(self) -> int:
        with self._sessions() as session:
            return sequence_store.head(session, sequence_store.ALERTS)

    def list_alerts(
        self,
        orgnr: str,
        expiring_after: datetime,
        limit: int,
        below: int | None = None,
    ) -> list[Alert]:
        """At most `limit` alerts the organisation sent or was targeted by that expire after a
        time, newest first, optionally only those older than a position."""
        query = _visible(orgnr).where(AlertRow.expires_at > expiring_after)
        if below is not None:
            query = query.where(AlertRow.position < below)
        with self._sessions() as session:
            return _load(session, query.limit(limit))

    def snapshot(self, orgnr: str, now: datetime, limit: int) -> tuple[int, list[Alert], bool]:
        """(head, the organisation's newest `limit` alerts open at `now`, newest first, exactly as
        of the head, whether more were open)."""
        with self._sessions() as session:
            position = sequence_store.head(session, sequence_store.ALERTS)
            query = _visible(orgnr).where(AlertRow.expires_at > now, AlertRow.position <= position)
            alerts = _load(session, query.limit(limit + 1))
            return position, [a.as_of(position) for a in alerts[:limit]], len(alerts) > limit

    def events(self, orgnr: str, after: int, limit: int) -> Page[AlertEvent]:
        """Events after a position that the organisation may see (AlertEvent.shown_to), in order."""
        with self._sessions() as session:
            head = sequence_store.head(session, sequence_store.ALERTS)  # as in CapacityStore.changes
            targeted = exists().where(AlertTargetRow.alert_id == AlertRow.alert_id, AlertTargetRow.orgnr == orgnr)
            query = (
                select(AlertEventRow)
                .join(AlertRow, AlertRow.alert_id == AlertEventRow.alert_id)
                .where(
                    AlertEventRow.position > after,
                    AlertEventRow.position <= head,
                    or_(
                        AlertRow.sender_orgnr == orgnr,
                        and_(AlertEventRow.kind == EventKind.RAISED.value, targeted),
                        and_(AlertEventRow.kind == EventKind.ACKNOWLEDGED.value, AlertEventRow.orgnr == orgnr),
                    ),
                )
                .order_by(AlertEventRow.position)
                .limit(limit)
            )
            rows = session.scalars(query).all()
            alerts = (
                {
                    a.alert_id: a
                    for a in _load(session, select(AlertRow).where(AlertRow.alert_id.in_({r.alert_id for r in rows})))
                }
                if rows
                else {}
            )
        events = [
            AlertEvent(r.position, EventKind(r.kind), alerts[r.alert_id].as_of(r.position), r.orgnr) for r in rows
        ]
        if len(rows) == limit:
            return Page(rows[-1].position, events, more=True)
        return Page(max(head, after), events)

    # -- writes ------------------------------------------------------------------------

    def raise_alert(
        self, request: AlertRequest, targets: Sequence[str], sender: Sender, now: datetime
    ) -> tuple[Alert, bool]:
        """Stores the alert and its RAISED event; (alert, True). A retry of a stored request
        (same sender, request id and content) stores nothing: (stored alert, False). The request
        is valid (alerts.request_violations) and `targets` resolved from it."""
        assert request.severity is not None, "request_violations requires a severity"
        with self._sessions.begin() as session:
            head = sequence_store.lock(session, sequence_store.ALERTS)
            stored = session.scalar(
                select(AlertRow).where(
                    AlertRow.sender_orgnr == sender.orgnr,
                    AlertRow.sender_client_id == sender.client_id,
                    AlertRow.request_id == request.request_id,
                )
            )
            if stored is not None:
                if stored.request_digest != request.digest():
                    raise RequestIdReused(request.request_id)
                return _load(session, select(AlertRow).where(AlertRow.alert_id == stored.alert_id))[0], False
            if _open_sent(session, sender.orgnr, now) >= MAX_OPEN_ALERTS:  # raises are serialised by the lock
                raise TooManyOpenAlerts(sender.orgnr)
            position = head + 1
            alert_id = str(uuid.uuid4())
            session.add(
                AlertRow(
                    alert_id=alert_id,
                    position=position,
                    severity=request.severity.value,
                    message=request.message,
                    area_region=request.area.region,
                    area_municipality_number=request.area.municipality_number,
                    sender_orgnr=sender.orgnr,
                    sender_client_id=sender.client_id,
                    request_id=request.request_id,
                    request_digest=request.digest(),
                    raised_at=now,
                    expires_at=request.expires_at,
                )
            )
            session.flush()  # the alert before the rows that refer to it
            session.add_all(AlertTargetRow(alert_id=alert_id, orgnr=orgnr) for orgnr in targets)
            session.add(
                AlertEventRow(
                    position=position, alert_id=alert_id, kind=EventKind.RAISED.value, orgnr="", occurred_at=now
                )
            )
            sequence_store.advance(session, sequence_store.ALERTS, position)
            session.flush()
            return _load(session, select(AlertRow).where(AlertRow.alert_id == alert_id))[0], True

    def acknowledge(self, alert_id: str, by: Acknowledger, note: str, now: datetime) -> tuple[Alert, bool]:
        """Records the organisation's acknowledgement and its event; (alert, True). If the
        organisation has acknowledged already, nothing changes: (alert, False)."""
        with self._sessions.begin() as session:
            head = sequence_store.lock(session, sequence_store.ALERTS)
            found = _load(session, select(AlertRow).where(AlertRow.alert_id == alert_id))
            if not found:
                raise UnknownAlert(alert_id)
            alert = found[0]
            if by.orgnr not in alert.target_orgnrs:
                raise NotTargeted(alert_id)
            if any(a.orgnr == by.orgnr for a in alert.acknowledgements):
                return alert, False
            if alert.expired(now):
                raise AlertExpired(alert_id)
            position = head + 1
            target = session.get(AlertTargetRow, (alert_id, by.orgnr))
            target.acknowledged_at, target.ack_position = now, position
            target.ack_client_id, target.ack_hpr_number, target.ack_name, target.ack_note = (
                by.client_id,
                by.hpr_number,
                by.name,
                note,
            )
            session.add(
                AlertEventRow(
                    position=position,
                    alert_id=alert_id,
                    kind=EventKind.ACKNOWLEDGED.value,
                    orgnr=by.orgnr,
                    occurred_at=now,
                )
            )
            sequence_store.advance(session, sequence_store.ALERTS, position)
            session.flush()
            return _load(session, select(AlertRow).where(AlertRow.alert_id == alert_id))[0], True


def _open_sent(session: Session, orgnr: str, now: datetime) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(AlertRow).where(AlertRow.sender_orgnr == orgnr, AlertRow.expires_at > now)
        )
        or 0
    )


def _visible(orgnr: str) -> Select[tuple[AlertRow]]:
    """Alerts the organisation sent or is targeted by, newest first."""
    targeted = exists().where(AlertTargetRow.alert_id == AlertRow.alert_id, AlertTargetRow.orgnr == orgnr)
    return select(AlertRow).where(or_(AlertRow.sender_orgnr == orgnr, targeted)).order_by(AlertRow.position.desc())


def _load(session: Session, query: Select[tuple[AlertRow]]) -> list[Alert]:
    """The alerts of a query, in its order, with their targets and acknowledgements."""
    rows = session.scalars(query).all()
    if not rows:
        return []
    targets: dict[str, list[AlertTargetRow]] = {r.alert_id: [] for r in rows}
    for t in session.scalars(
        select(AlertTargetRow).where(AlertTargetRow.alert_id.in_(targets)).order_by(AlertTargetRow.orgnr)
    ):
        targets[t.alert_id].append(t)
    return [_alert(r, targets[r.alert_id]) for r in rows]


def _alert(row: AlertRow, targets: list[AlertTargetRow]) -> Alert:
    acknowledged = sorted((a for t in targets if (a := _acknowledgement(t)) is not None), key=lambda a: a.position)
    return Alert(
        alert_id=row.alert_id,
        severity=Severity(row.severity),
        message=row.message,
        area=Area(row.area_region, row.area_municipality_number),
        target_orgnrs=tuple(t.orgnr for t in targets),
        sender_orgnr=row.sender_orgnr,
        sender_client_id=row.sender_client_id,
        raised_at=row.raised_at,
        expires_at=row.expires_at,
        position=row.position,
        acknowledgements=tuple(acknowledged),
    )


def _acknowledgement(t: AlertTargetRow) -> Acknowledgement | None:
    """The target's acknowledgement; None until it acknowledges (both columns are set then)."""
    if t.ack_position is None or t.acknowledged_at is None:
        return None
    return Acknowledgement(
        orgnr=t.orgnr,
        acknowledged_at=t.acknowledged_at,
        client_id=t.ack_client_id,
        hpr_number=t.ack_hpr_number,
        name=t.ack_name,
        note=t.ack_note,
        position=t.ack_position,
    )


def _organisation(row: OrganisationRow) -> Organisation:
    return Organisation(
        orgnr=row.orgnr,
        name=row.name,
        parent_orgnr=row.parent_orgnr,
        kind=row.kind,
        municipality_number=row.municipality_number,
        region=row.region,
    )
