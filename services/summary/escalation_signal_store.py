"""The reads of the auditors' escalation signals (docs/escalation.md, "Auditors' signals"): a legal
entity's organisations, and for the acknowledgements and exhaustions in a range that concern them
what the pure rule (escalation_signals.py) reads. Answers are domain values, never rows; no patient
data is read."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from .escalation_episodes import Event, EventKind
from .escalation_routing import TargetRole
from .escalation_signals import (
    MAX_ESCALATION_SIGNAL_EVENTS,
    SIGNAL_EVENTS,
    DeadlineGiven,
    EpisodeFacts,
    SignalKind,
    TargetAdded,
)
from .escalation_store import _event as event_from_row
from .models import (
    EscalationDeliveryRow,
    EscalationEpisodeRow,
    EscalationEventRow,
    EscalationTargetRow,
    OrganisationRow,
)

__all__ = ["EscalationSignalStore", "SignalFacts"]

_e, _t, _v, _d = EscalationEpisodeRow, EscalationTargetRow, EscalationEventRow, EscalationDeliveryRow


@dataclass(frozen=True, slots=True)
class SignalFacts:
    episodes: list[EpisodeFacts]
    truncated: bool  # more than MAX_ESCALATION_SIGNAL_EVENTS events fell in the range: the oldest were left out


class EscalationSignalStore:
    """Reads of one summary database for the auditors' signals."""

    def __init__(self, sessions: sessionmaker) -> None:
        bind = sessions.kw["bind"]
        assert isinstance(bind, Engine), "the sessions of a store are bound to its engine"
        self._engine: Engine = bind

    def organisations_of(self, legal_entity: str) -> frozenset[str]:
        """The legal entity and the organisations the organisations table names it the parent of."""
        with self._engine.connect() as connection:
            children = connection.scalars(
                select(OrganisationRow.orgnr).where(OrganisationRow.parent_orgnr == legal_entity)
            )
            return frozenset({legal_entity, *children})

    def signal_facts(
        self, organisations: Collection[str], start: datetime, end: datetime, kinds: Collection[SignalKind]
    ) -> SignalFacts:
        """The episodes with an event in [start, end) that may be a signal for `organisations`: an
        acknowledgement by one of them, or an exhaustion where one of them is a target or the source
        (the newest MAX_ESCALATION_SIGNAL_EVENTS such events), each with its targets, those events and the
        deadlines of its deliveries."""
        orgs = sorted(set(organisations))
        conditions = []
        if SignalKind.ACKNOWLEDGED_LATE in kinds:
            conditions.append(and_(_v.kind == EventKind.ACKNOWLEDGED.name, _v.orgnr.in_(orgs)))
        if SignalKind.CHAIN_EXHAUSTED in kinds:
            targeted = select(_t.episode_id).where(
                _t.episode_id == _v.episode_id, _t.orgnr.in_(orgs), _t.pending.is_(False)
            )
            source = select(_e.episode_id).where(_e.episode_id == _v.episode_id, _e.source_orgnr.in_(orgs))
            conditions.append(and_(_v.kind == EventKind.CHAIN_EXHAUSTED.name, or_(targeted.exists(), source.exists())))
        if not orgs or not conditions:
            return SignalFacts([], truncated=False)
        wanted = {SIGNAL_EVENTS[k].name for k in kinds}
        with Session(self._engine) as connection:
            rows = connection.scalars(
                select(_v)
                .where(_v.kind.in_(wanted), _v.at >= start, _v.at < end, or_(*conditions))
                .order_by(_v.at.desc(), _v.episode_id, _v.seq)
                .limit(MAX_ESCALATION_SIGNAL_EVENTS + 1)
            ).all()
            truncated = len(rows) > MAX_ESCALATION_SIGNAL_EVENTS
            events: dict[str, list[Event]] = defaultdict(list)
            for row in sorted(rows[:MAX_ESCALATION_SIGNAL_EVENTS], key=lambda r: (r.episode_id, r.seq)):
                events[row.episode_id].append(event_from_row(row))
            if not events:
                return SignalFacts([], truncated=truncated)
            ids = sorted(events)
            episodes = connection.execute(
                select(_e.episode_id, _e.opened_at, _e.source_orgnr).where(_e.episode_id.in_(ids))
            ).all()
            targets: dict[str, list[TargetAdded]] = defaultdict(list)
            for episode_id, orgnr, role, added_at in connection.execute(
                select(_t.episode_id, _t.orgnr, _t.role, _t.added_at)
                .where(_t.episode_id.in_(ids), _t.pending.is_(False), _t.added_at.is_not(None))
                .order_by(_t.episode_id, _t.position)
            ):
                targets[episode_id].append(TargetAdded(orgnr, TargetRole[role], added_at))
            deadlines: dict[str, list[DeadlineGiven]] = defaultdict(list)
            for episode_id, orgnr, at, deadline in connection.execute(
                select(_d.episode_id, _d.orgnr, _d.created_at, _d.deadline)
                .where(_d.episode_id.in_(ids), _d.deadline.is_not(None))
                .order_by(_d.episode_id, _d.id)
            ):
                deadlines[episode_id].append(DeadlineGiven(orgnr, at, deadline))
        return SignalFacts(
            [
                EpisodeFacts(
                    episode_id=episode_id,
                    opened_at=opened_at,
                    source_orgnr=source_orgnr,
                    targets=tuple(targets[episode_id]),
                    events=tuple(events[episode_id]),
                    deadlines=tuple(deadlines[episode_id]),
                )
                for episode_id, opened_at, source_orgnr in episodes
            ],
            truncated=truncated,
        )
