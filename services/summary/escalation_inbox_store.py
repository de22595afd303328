"""The escalation inboxes in the database (docs/escalation.md, "API"): the change sequence every
saved transition advances, and the reads of ListEscalations, WatchEscalations and
ListPatientEscalations. Answers are domain values (escalation_views.InboxItem), never rows, and
carry no patient data.

The change sequence: a transaction that saves an episode takes the sequence head's row with an
UPDATE as its last statement (the row lock on PostgreSQL, the write lock on SQLite, held to its
commit), so positions become visible strictly in order across processes and replicas: whoever
sees position n sees every position below it, and a watcher reading "after the last position seen"
skips nothing. Taken last, after every other row the transaction writes, so a transaction waiting
for the head holds nothing another one waits for. The same transaction sends NOTIFY on CHANNEL
(PostgreSQL), which wakes other replicas' watchers at its commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, and_, case, delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.platform import pg_notify
from services.platform.watch import Page

from .escalation_episodes import EventKind, NotifyReason, State
from .escalation_routing import TargetRole
from .escalation_rules import Level
from .escalation_statistics import EpisodeOutline
from .escalation_views import Box, InboxItem, InboxRole, LastNotice
from .models import (
    EscalationChangeRow,
    EscalationDeliveryRow,
    EscalationEpisodeRow,
    EscalationEventRow,
    EscalationSequenceRow,
    EscalationTargetRow,
)

__all__ = ["CHANNEL", "SEQUENCE", "EscalationInboxStore", "record_change"]

SEQUENCE = "escalations"
CHANNEL = "samhandling_escalations"  # NOTIFY payload: the sequence's name


def record_change(session: Session, episode_id: str, now: datetime) -> int:
    """Gives the episode's change the next position (under the head's lock, held to commit), in
    place of its previous one, and notifies the other replicas at commit. Run it last in the
    transaction."""
    session.execute(
        update(EscalationSequenceRow)
        .where(EscalationSequenceRow.name == SEQUENCE)
        .values(position=EscalationSequenceRow.position + 1)
    )
    position = _head(session)
    # Only an episode's last change is kept (a watcher is sent the escalation as it is, so an older
    # change of it tells nothing more): one row per episode. The episode's row is locked here.
    session.execute(delete(EscalationChangeRow).where(EscalationChangeRow.episode_id == episode_id))
    session.add(EscalationChangeRow(position=position, episode_id=episode_id, changed_at=now))
    pg_notify.notify(session, CHANNEL, SEQUENCE)
    return position


def _head(session: Session) -> int:
    position = session.scalar(select(EscalationSequenceRow.position).where(EscalationSequenceRow.name == SEQUENCE))
    if position is None:
        raise RuntimeError("the escalation sequence is missing; run the summary migrations")
    return int(position)


_e, _t = EscalationEpisodeRow, EscalationTargetRow
_LEVEL_RANK = case({level.name: int(level) for level in Level}, value=_e.level, else_=0)


def _latest(column: Any, *where: ColumnElement[bool], order: Any) -> Any:
    return select(column).where(*where).order_by(order.desc()).limit(1).scalar_subquery()


def _last_delivery(column: Any, orgnr: str) -> Any:
    d = EscalationDeliveryRow
    return _latest(column, d.episode_id == _e.episode_id, d.orgnr == orgnr, order=d.id)


def _event(column: Any, kind: EventKind) -> Any:
    v = EscalationEventRow
    return _latest(column, v.episode_id == _e.episode_id, v.kind == kind.name, order=v.seq)


_POSITION = (
    select(func.max(EscalationChangeRow.position))
    .where(EscalationChangeRow.episode_id == _e.episode_id)
    .scalar_subquery()
)


class EscalationInboxStore:
    """Reads of the inboxes of one summary database."""

    def __init__(self, sessions: sessionmaker) -> None:
        bind = sessions.kw["bind"]
        assert isinstance(bind, Engine), "the sessions of a store are bound to its engine"
        self._engine: Engine = bind

    def head(self) -> int:
        """The last position of the change sequence committed."""
        with Session(self._engine) as session:
            return _head(session)

    def inbox(
        self, orgnr: str, box: Box, *, resolved_since: datetime | None, limit: int, offset: int = 0
    ) -> list[InboxItem]:
        """The organisation's escalations (received: it is a target; sent: it is the source), the
        most urgent first: by level (highest first), then deadline (earliest first, none last), then
        opening; unresolved ones, and with `resolved_since` those resolved since then."""
        resolved_at = _event(EscalationEventRow.at, EventKind.RESOLVED)
        open_or_recent = _e.state != State.RESOLVED.name
        if resolved_since is not None:
            open_or_recent = or_(open_or_recent, resolved_at >= resolved_since)
        query = (
            _inbox_query(orgnr, box)
            .where(open_or_recent)
            .order_by(_LEVEL_RANK.desc(), _e.deadline.is_(None), _e.deadline, _e.opened_at, _e.episode_id)
            .limit(limit)
            .offset(offset)
        )
        with self._engine.connect() as connection:
            return [_item(r._mapping, box) for r in connection.execute(query)]

    def changes_after(self, orgnr: str, box: Box, after: int, limit: int) -> Page[InboxItem]:
        """The organisation's escalations changed after position `after` (the next `limit` changes
        of the sequence considered, each episode once, at its last change among them, in order),
        and the position read up to."""
        with self._engine.connect() as connection:
            changes = connection.execute(
                select(EscalationChangeRow.position, EscalationChangeRow.episode_id)
                .where(EscalationChangeRow.position > after)
                .order_by(EscalationChangeRow.position)
                .limit(limit)
            ).all()
            if not changes:
                return Page(after, [])
            last = {episode_id: position for position, episode_id in changes}
            rows = connection.execute(_inbox_query(orgnr, box).where(_e.episode_id.in_(last))).all()
        items = [_item(r._mapping, box, position=last[r._mapping["episode_id"]]) for r in rows]
        return Page(changes[-1].position, sorted(items, key=lambda i: i.position), more=len(changes) == limit)

    def statistics_outlines(self, orgnr: str, start: datetime, end: datetime) -> list[EpisodeOutline]:
        """The escalations opened in [start, end) that the organisation was a target of (a range of
        at most MAX_STATISTICS_DAYS: one small row each), with their opening level, the time to the
        organisation's first acknowledgement and whether a timeout escalated them."""
        v = EscalationEventRow
        opened_level = select(v.level).where(v.episode_id == _e.episode_id).order_by(v.seq).limit(1).scalar_subquery()
        acknowledged_at = (
            select(func.min(v.at))
            .where(v.episode_id == _e.episode_id, v.kind == EventKind.ACKNOWLEDGED.name, v.orgnr == orgnr)
            .scalar_subquery()
        )
        timed_out = select(v.seq).where(v.episode_id == _e.episode_id, v.kind == EventKind.TIMEOUT.name).exists()
        query = (
            select(_e.opened_at, opened_level.label("level"), acknowledged_at.label("acknowledged_at"), timed_out)
            .join(_t, and_(_t.episode_id == _e.episode_id, _t.orgnr == orgnr, _t.pending.is_(False)))
            .where(_e.opened_at >= start, _e.opened_at < end)
        )
        with self._engine.connect() as connection:
            return [
                EpisodeOutline(
                    opened_at=opened_at,
                    level=Level[level],
                    acknowledged_after=None if acked is None else acked - opened_at,
                    timed_out=bool(out),
                )
                for opened_at, level, acked, out in connection.execute(query)
            ]

    def patient_episode_ids(
        self, patient_id: str, limit: int, offset: int = 0, *, shared_with: str | None = None
    ) -> list[str]:
        """The patient's escalations, newest first; with `shared_with`, only those that
        organisation sees (the source, or a target added, not one still pending)."""
        query = select(_e.episode_id).where(_e.patient_id == patient_id)
        if shared_with is not None:
            targeted = select(_t.episode_id).where(
                _t.episode_id == _e.episode_id, _t.orgnr == shared_with, _t.pending.is_(False)
            )
            query = query.where(or_(_e.source_orgnr == shared_with, targeted.exists()))
        with self._engine.connect() as connection:
            return list(
                connection.scalars(
                    query.order_by(_e.opened_at.desc(), _e.episode_id.desc()).limit(limit).offset(offset)
                )
            )


def _inbox_query(orgnr: str, box: Box) -> Select[Any]:
    columns = (
        _e.episode_id,
        _e.level,
        _e.state,
        _e.opened_at,
        _e.deadline,
        _e.chain_exhausted,
        _event(EscalationEventRow.planned_for, EventKind.REASSESSMENT_PLANNED).label("planned_for"),
        _POSITION.label("position"),
    )
    if box is Box.SENT:
        return select(*columns).where(_e.source_orgnr == orgnr)
    d = EscalationDeliveryRow
    return select(
        *columns,
        _t.role,
        _t.declined,
        _last_delivery(d.created_at, orgnr).label("notice_at"),
        _last_delivery(d.reason, orgnr).label("notice_reason"),
        _last_delivery(d.push, orgnr).label("notice_push"),
    ).join(_t, and_(_t.episode_id == _e.episode_id, _t.orgnr == orgnr, _t.pending.is_(False)))


def _item(row: Any, box: Box, position: int | None = None) -> InboxItem:
    state = State[row["state"]]
    if box is Box.SENT:
        role, declined, notice = InboxRole.SOURCE, False, None
    else:
        role = InboxRole.RESPONSIBLE if row["role"] == TargetRole.RESPONSIBLE.name else InboxRole.INFORMED
        declined = bool(row["declined"])
        notice = (
            None
            if row["notice_at"] is None
            else LastNotice(row["notice_at"], NotifyReason[row["notice_reason"]], bool(row["notice_push"]))
        )
    return InboxItem(
        episode_id=row["episode_id"],
        level=Level[row["level"]],
        state=state,
        role=role,
        opened_at=row["opened_at"],
        deadline=row["deadline"],
        last_notice=notice,
        chain_exhausted=bool(row["chain_exhausted"]),
        declined=declined,
        reassess_at=row["planned_for"] if state is State.REASSESSMENT_PLANNED else None,
        position=int(row["position"] or 0) if position is None else position,
    )
