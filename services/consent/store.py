"""Storage of sharing rules (synchronous; the api runs it off the event loop).

Every read opens a new session and so sees every committed revoke: nothing is cached.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from .domain import DataCategory, Rule, RuleType
from .models import RuleRow


class UnknownRule(LookupError):
    pass


class ConsentStore:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def unrevoked_rules(self, patient_id: str) -> list[Rule]:
        """The patient's rules not revoked; expiry is left to the decision, which knows `now`."""
        query = select(RuleRow).where(RuleRow.patient_id == patient_id, RuleRow.revoked_at.is_(None))
        with self._sessions() as session:
            return [_rule(row) for row in session.scalars(query)]

    def list_rules(self, patient_id: str, include_revoked: bool = False) -> list[Rule]:
        """The patient's rules, newest first."""
        query = (
            select(RuleRow)
            .where(RuleRow.patient_id == patient_id)
            .order_by(RuleRow.created_at.desc(), RuleRow.rule_id.desc())
        )
        if not include_revoked:
            query = query.where(RuleRow.revoked_at.is_(None))
        with self._sessions() as session:
            return [_rule(row) for row in session.scalars(query)]

    def add(self, rule: Rule) -> Rule:
        with self._sessions.begin() as session:
            session.add(_row(rule))
        return rule

    def add_if_missing(self, rule: Rule) -> bool:
        """Adds a rule unless one with its id exists (seeding: a revoked seed rule stays revoked)."""
        with self._sessions.begin() as session:
            if session.get(RuleRow, rule.rule_id) is not None:
                return False
            session.add(_row(rule))
        return True

    def revoke(self, patient_id: str, rule_id: str, now: datetime) -> Rule:
        """Revokes one of the patient's rules; revoking a revoked rule keeps its first revoke time."""
        mine = (RuleRow.rule_id == rule_id, RuleRow.patient_id == patient_id)
        with self._sessions.begin() as session:
            session.execute(update(RuleRow).where(*mine, RuleRow.revoked_at.is_(None)).values(revoked_at=now))
            row = session.scalars(select(RuleRow).where(*mine)).one_or_none()
            if row is None:
                raise UnknownRule(rule_id)
            return _rule(row)


def _row(rule: Rule) -> RuleRow:
    return RuleRow(
        rule_id=rule.rule_id,
        patient_id=rule.patient_id,
        rule_type=rule.rule_type.value,
        categories=",".join(sorted(c.value for c in rule.categories)),
        hpr_number=rule.hpr_number,
        org_number=rule.org_number,
        created_at=rule.created_at,
        expires_at=rule.expires_at,
        revoked_at=rule.revoked_at,
    )


def _rule(row: RuleRow) -> Rule:
    return Rule(
        rule_id=row.rule_id,
        patient_id=row.patient_id,
        rule_type=RuleType(row.rule_type),
        categories=frozenset(DataCategory(c) for c in row.categories.split(",") if c),
        hpr_number=row.hpr_number,
        org_number=row.org_number,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )
