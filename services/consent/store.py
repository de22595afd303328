"""Storage of rule versions, policy revisions, notifications, representations and residents
(synchronous; the api runs it off the event loop).

Every read opens a new session and so sees every committed change: nothing is cached here.
Every rule change raises the patient's revision first thing in its transaction; that row lock
(PostgreSQL) or the write lock (SQLite) serialises all changes of one patient. Every rule
change also enters the decision caches' change feed last thing in its transaction
(policy_feed.record), so a committed change is always in the feed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from services.platform.actors import Actor
from services.platform.vocabulary import ActorKind, DataCategory, PurposeOfUse

from .decision import Policy
from .domain import (
    MAX_ACTIVE_RULES,
    SEED_ACTOR,
    ActorSelector,
    Notification,
    NotificationKind,
    Representation,
    RepresentationKind,
    Rule,
    RuleContent,
    RuleState,
    RuleType,
    SelectorKind,
)
from .models import NotificationRow, PolicyRevisionRow, RepresentationRow, ResidentRow, RuleVersionRow
from .notifications import rule_changed
from .policy_feed import record

# A person represents a handful of people (their children, a parent's power of attorney).
MAX_REPRESENTATIONS_LISTED = 100

Sign = Callable[[Rule], str]


class TooManyRules(Exception):
    """The patient has MAX_ACTIVE_RULES rules in force; one must be revoked before another is made."""


class UnknownRule(LookupError):
    pass


class _Unchanged(Exception):
    """Rolls a change back that turned out to change nothing."""

    def __init__(self, rule: Rule, revision: int) -> None:
        self.rule = rule
        self.revision = revision


class ConsentStore:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    @property
    def sessions(self) -> sessionmaker:
        """For the policy feed, which shares the database."""
        return self._sessions

    # --- reading ------------------------------------------------------------------------

    def policy(self, patient_id: str) -> Policy:
        """The patient's rules exactly as of their current revision, their representations and
        their home organisation (None for a patient not known as a resident)."""
        with self._sessions() as session:
            revision = _revision(session, patient_id)
            rows = _current(session, patient_id, revision)
            home = session.scalar(select(ResidentRow.home_orgnr).where(ResidentRow.patient_id == patient_id))
            return Policy(
                patient_id, tuple(_rule(r) for r, _ in rows), _representations(session, patient_id), revision, home
            )

    def representations(self, patient_id: str) -> tuple[Representation, ...]:
        with self._sessions() as session:
            return _representations(session, patient_id)

    def rules(
        self,
        patient_id: str,
        include_revoked: bool = False,
        limit: int | None = None,
        below: int | None = None,
    ) -> tuple[list[tuple[int, Rule]], int]:
        """The current version of each rule with the revision that created the rule, newest rule
        first, at most `limit`, only rules created below a revision if given; and the revision
        they are at."""
        with self._sessions() as session:
            revision = _revision(session, patient_id)
            query, created = _current_query(patient_id, revision)
            if not include_revoked:
                query = query.where(RuleVersionRow.state == RuleState.ACTIVE.value)
            if below is not None:
                query = query.where(created < below)
            rows = session.execute(query.order_by(created.desc()).limit(limit)).all()
        return [(made, _rule(row)) for row, made in rows], revision

    def history(self, patient_id: str, limit: int | None = None, after: int | None = None) -> list[Rule]:
        """Every version of every rule, oldest first (in the order of the revisions they made), at
        most `limit`, only those after a revision if given."""
        query = (
            select(RuleVersionRow)
            .where(RuleVersionRow.patient_id == patient_id)
            .order_by(RuleVersionRow.policy_revision)
            .limit(limit)
        )
        if after is not None:
            query = query.where(RuleVersionRow.policy_revision > after)
        with self._sessions() as session:
            return [_rule(row) for row in session.scalars(query)]

    def notifications(self, patient_id: str, below: int | None, limit: int) -> list[tuple[int, Notification]]:
        """Up to `limit` notifications with their sequence, newest first, below `below` if given."""
        query = (
            select(NotificationRow)
            .where(NotificationRow.patient_id == patient_id)
            .order_by(NotificationRow.sequence.desc())
            .limit(limit)
        )
        if below is not None:
            query = query.where(NotificationRow.sequence < below)
        with self._sessions() as session:
            return [(row.sequence, _notification(row)) for row in session.scalars(query)]

    # --- changing -----------------------------------------------------------------------

    def create_rule(self, content: RuleContent, author: Actor, reason: str, now: datetime, sign: Sign) -> Rule:
        """Stores version 1 of a new rule with its receipt and a RULE_CHANGED notification."""
        with self._sessions.begin() as session:
            revision = _next_revision(session, content.patient_id)  # locks the patient's rules
            in_force = sum(
                _rule(row).state is RuleState.ACTIVE for row, _ in _current(session, content.patient_id, revision - 1)
            )
            if in_force >= MAX_ACTIVE_RULES:
                raise TooManyRules(content.patient_id)
            rule = Rule(str(uuid.uuid4()), 1, content, RuleState.ACTIVE, author, reason, now, revision)
            return _insert(session, rule, sign, notify=True)

    def revoke_rule(
        self, patient_id: str, rule_id: str, author: Actor, reason: str, now: datetime, sign: Sign
    ) -> tuple[Rule, int]:
        """Adds a REVOKED version. Returns the rule's newest version and the patient's revision
        after the call; revoking a revoked rule changes nothing and returns what is there."""
        try:
            with self._sessions.begin() as session:
                revision = _next_revision(session, patient_id)
                current = session.scalars(
                    select(RuleVersionRow)
                    .where(RuleVersionRow.rule_id == rule_id, RuleVersionRow.patient_id == patient_id)
                    .order_by(RuleVersionRow.version.desc())
                    .limit(1)
                ).one_or_none()
                if current is None:
                    raise UnknownRule(rule_id)
                latest = _rule(current)
                if latest.state is RuleState.REVOKED:
                    raise _Unchanged(latest, revision - 1)
                rule = replace(
                    latest,
                    version=latest.version + 1,
                    state=RuleState.REVOKED,
                    created_by=author,
                    reason=reason,
                    create_time=now,
                    policy_revision=revision,
                    receipt="",
                )
                return _insert(session, rule, sign, notify=True), revision
        except _Unchanged as unchanged:
            return unchanged.rule, unchanged.revision

    def add_notification(self, notification: Notification) -> None:
        with self._sessions.begin() as session:
            session.add(_notification_row(notification))

    # --- seeding ------------------------------------------------------------------------

    def seed_rule(self, rule_id: str, content: RuleContent, reason: str, create_time: datetime, sign: Sign) -> bool:
        """Adds version 1 of a seeded rule unless the rule exists (a revoked seed rule stays revoked)."""
        with self._sessions.begin() as session:
            if session.get(RuleVersionRow, (rule_id, 1)) is not None:
                return False
            revision = _next_revision(session, content.patient_id)
            _insert(
                session,
                Rule(rule_id, 1, content, RuleState.ACTIVE, SEED_ACTOR, reason, create_time, revision),
                sign,
                notify=False,
            )
        return True

    def put_representation(self, rep: Representation) -> None:
        with self._sessions.begin() as session:
            session.merge(
                RepresentationRow(
                    representation_id=rep.representation_id,
                    patient_id=rep.patient_id,
                    representative_pid=rep.representative_pid,
                    kind=rep.kind.value,
                    valid_from=rep.valid_from,
                    valid_until=rep.valid_until,
                    patient_name=rep.patient_name,
                )
            )

    def representations_by(self, representative_pid: str) -> tuple[Representation, ...]:
        """The representations naming this person as representative, by id, at most
        MAX_REPRESENTATIONS_LISTED (a person represents a handful of people)."""
        with self._sessions() as session:
            rows = session.scalars(
                select(RepresentationRow)
                .where(RepresentationRow.representative_pid == representative_pid)
                .order_by(RepresentationRow.representation_id)
                .limit(MAX_REPRESENTATIONS_LISTED)
            )
            return tuple(_representation(row) for row in rows)

    def put_resident(self, patient_id: str, home_orgnr: str) -> None:
        """Records (or moves) the patient's home organisation."""
        with self._sessions.begin() as session:
            insert = _insert_for(session)
            session.execute(
                insert(ResidentRow)
                .values(patient_id=patient_id, home_orgnr=home_orgnr)
                .on_conflict_do_update(index_elements=["patient_id"], set_={"home_orgnr": home_orgnr})
            )


def _insert_for(session: Session) -> Callable[..., postgresql.Insert] | Callable[..., sqlite.Insert]:
    """The dialect's INSERT, which knows ON CONFLICT."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _revision(session: Session, patient_id: str) -> int:
    return session.scalar(select(PolicyRevisionRow.revision).where(PolicyRevisionRow.patient_id == patient_id)) or 0


def _next_revision(session: Session, patient_id: str) -> int:
    """Raises the patient's revision by one; the first statement of every change, so SQLite takes
    its write lock at once and PostgreSQL locks the patient's row until commit."""
    session.execute(
        _insert_for(session)(PolicyRevisionRow).values(patient_id=patient_id, revision=0).on_conflict_do_nothing()
    )
    return session.execute(
        update(PolicyRevisionRow)
        .where(PolicyRevisionRow.patient_id == patient_id)
        .values(revision=PolicyRevisionRow.revision + 1)
        .returning(PolicyRevisionRow.revision)
        .execution_options(synchronize_session=False)
    ).scalar_one()


def _current(session: Session, patient_id: str, revision: int) -> list[tuple[RuleVersionRow, int]]:
    """The newest version of each rule as of `revision`, with the revision that created the rule."""
    query, _ = _current_query(patient_id, revision)
    return [(row, created) for row, created in session.execute(query)]


def _current_query(
    patient_id: str, revision: int
) -> tuple[Select[tuple[RuleVersionRow, datetime]], ColumnElement[datetime]]:
    """(query of _current, its column of the revision that created each rule)."""
    as_of = (RuleVersionRow.patient_id == patient_id, RuleVersionRow.policy_revision <= revision)
    latest = (
        select(
            RuleVersionRow.rule_id,
            func.max(RuleVersionRow.version).label("version"),
            func.min(RuleVersionRow.policy_revision).label("created"),
        )
        .where(*as_of)
        .group_by(RuleVersionRow.rule_id)
        .subquery()
    )
    query = select(RuleVersionRow, latest.c.created).join(
        latest, and_(RuleVersionRow.rule_id == latest.c.rule_id, RuleVersionRow.version == latest.c.version)
    )
    return query, latest.c.created


def _insert(session: Session, rule: Rule, sign: Sign, *, notify: bool) -> Rule:
    rule = replace(rule, receipt=sign(rule))
    session.add(_row(rule))
    if notify:
        session.add(_notification_row(rule_changed(uuid.uuid4().hex, rule)))
    session.flush()  # the rows first: the feed's head lock is held as briefly as possible
    record(session, rule.content.patient_id, rule.policy_revision)
    return rule


def _row(rule: Rule) -> RuleVersionRow:
    content, author, selector = rule.content, rule.created_by, rule.content.selector
    return RuleVersionRow(
        rule_id=rule.rule_id,
        version=rule.version,
        patient_id=content.patient_id,
        rule_type=content.rule_type.value,
        selector_kind=selector.kind.value if selector else "",
        selector_value=selector.value if selector else "",
        categories=",".join(sorted(c.value for c in content.categories)),
        purposes=",".join(sorted(p.value for p in content.purposes)),
        valid_from=content.valid_from,
        valid_until=content.valid_until,
        state=rule.state.value,
        reason=rule.reason,
        created_by_kind=author.kind.value if author.kind else "",
        created_by_pid=author.pid,
        created_by_name=author.name,
        created_by_client_id=author.client_id,
        created_by_client_name=author.client_name,
        create_time=rule.create_time,
        policy_revision=rule.policy_revision,
        receipt=rule.receipt,
    )


def _rule(row: RuleVersionRow) -> Rule:
    content = RuleContent(
        patient_id=row.patient_id,
        rule_type=RuleType(row.rule_type),
        selector=ActorSelector(SelectorKind(row.selector_kind), row.selector_value) if row.selector_kind else None,
        categories=frozenset(DataCategory(c) for c in row.categories.split(",") if c),
        purposes=frozenset(PurposeOfUse(p) for p in row.purposes.split(",") if p),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
    )
    author = Actor(
        kind=ActorKind(row.created_by_kind) if row.created_by_kind else None,
        pid=row.created_by_pid,
        name=row.created_by_name,
        client_id=row.created_by_client_id,
        client_name=row.created_by_client_name,
    )
    return Rule(
        row.rule_id,
        row.version,
        content,
        RuleState(row.state),
        author,
        row.reason,
        row.create_time,
        row.policy_revision,
        row.receipt,
    )


def _representations(session: Session, patient_id: str) -> tuple[Representation, ...]:
    rows = session.scalars(
        select(RepresentationRow)
        .where(RepresentationRow.patient_id == patient_id)
        .order_by(RepresentationRow.representation_id)
    )
    return tuple(_representation(row) for row in rows)


def _representation(row: RepresentationRow) -> Representation:
    return Representation(
        row.representation_id,
        row.patient_id,
        row.representative_pid,
        RepresentationKind(row.kind),
        row.valid_from,
        row.valid_until,
        row.patient_name,
    )


def _notification_row(n: Notification) -> NotificationRow:
    a = n.actor
    return NotificationRow(
        notification_id=n.notification_id,
        patient_id=n.patient_id,
        kind=n.kind.value,
        create_time=n.create_time,
        actor_kind=a.kind.value if a.kind else "",
        actor_pid=a.pid,
        actor_name=a.name,
        actor_client_id=a.client_id,
        actor_client_name=a.client_name,
        actor_hpr_number=a.hpr_number,
        actor_authorization=a.authorization,
        actor_orgnr_parent=a.orgnr_parent,
        actor_orgnr_child=a.orgnr_child,
        text=n.text,
        reference=n.reference,
    )


def _notification(row: NotificationRow) -> Notification:
    actor = Actor(
        kind=ActorKind(row.actor_kind) if row.actor_kind else None,
        pid=row.actor_pid,
        name=row.actor_name,
        client_id=row.actor_client_id,
        client_name=row.actor_client_name,
        hpr_number=row.actor_hpr_number,
        authorization=row.actor_authorization,
        orgnr_parent=row.actor_orgnr_parent,
        orgnr_child=row.actor_orgnr_child,
    )
    return Notification(
        row.notification_id, row.patient_id, NotificationKind(row.kind), row.create_time, actor, row.text, row.reference
    )
