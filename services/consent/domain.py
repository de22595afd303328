"""Sharing rules and access requests, pure: what a rule is and what a valid new rule is."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from services.platform.ids import InvalidIdentifier, person_number_violations, validate_hpr_number, validate_org_number
from services.platform.vocabulary import ActorKind, DataCategory, PurposeOfUse


class RuleType(Enum):
    RESERVATION = "RESERVATION"
    RESTRICTION = "RESTRICTION"
    BLOCK_PERSON = "BLOCK_PERSON"
    PERMIT = "PERMIT"


# The only categories ever shown to anyone but the patient (and ACCESS_LOG to auditors).
SHAREABLE = frozenset({DataCategory.MUNICIPAL_SERVICES, DataCategory.VITAL_SIGNS})


@dataclass(frozen=True)
class Actor:
    """Who asks; only the fields access decisions use."""

    kind: ActorKind | None
    pid: str = ""
    hpr_number: str = ""
    orgnr_parent: str = ""
    orgnr_child: str = ""


@dataclass(frozen=True)
class AccessRequest:
    patient_id: str
    actor: Actor
    category: DataCategory | None
    purpose: PurposeOfUse | None


@dataclass(frozen=True)
class Rule:
    """One sharing rule; never deleted, only revoked."""

    rule_id: str
    patient_id: str
    rule_type: RuleType
    categories: frozenset[DataCategory]  # empty: all
    hpr_number: str
    org_number: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def covers(self, category: DataCategory | None) -> bool:
        return not self.categories or category in self.categories


@dataclass(frozen=True)
class NewRule:
    """A rule as asked for, before validation; None stands for an unspecified or unknown enum value."""

    patient_id: str
    rule_type: RuleType | None
    categories: Sequence[DataCategory | None]
    hpr_number: str
    org_number: str
    expires_at: datetime | None

    def to_rule(self, rule_id: str, created_at: datetime) -> Rule:
        assert self.rule_type is not None, "validate first"
        return Rule(
            rule_id=rule_id,
            patient_id=self.patient_id,
            rule_type=self.rule_type,
            categories=frozenset(c for c in self.categories if c is not None),
            hpr_number=self.hpr_number,
            org_number=self.org_number,
            created_at=created_at,
            expires_at=self.expires_at,
        )


def rule_violations(rule: NewRule, now: datetime, *, allow_synthetic: bool) -> dict[str, str]:
    """Field violations of a new rule; empty when it is valid."""
    problems = person_number_violations(rule.patient_id, allow_synthetic=allow_synthetic)
    if rule.rule_type is None:
        problems["rule_type"] = "required"
    if None in rule.categories:
        problems["data_categories"] = "unspecified or unknown category"
    elif not SHAREABLE.issuperset(rule.categories):
        problems["data_categories"] = "only MUNICIPAL_SERVICES and VITAL_SIGNS are ever shared"
    elif rule.categories and rule.rule_type in (RuleType.RESERVATION, RuleType.BLOCK_PERSON):
        # Both cover everything by law (DOMAIN.md §2); a narrower one would be silently widened.
        problems["data_categories"] = "a reservation or block covers all categories; leave empty"
    problems |= _named_party_violations(rule)
    if rule.expires_at is not None and rule.expires_at <= now:
        problems["expire_time"] = "must be in the future"
    return problems


def _named_party_violations(rule: NewRule) -> dict[str, str]:
    problems: dict[str, str] = {}
    if rule.hpr_number:
        try:
            validate_hpr_number(rule.hpr_number)
        except InvalidIdentifier as exc:
            problems["hpr_number"] = str(exc)
    if rule.org_number:
        try:
            validate_org_number(rule.org_number)
        except InvalidIdentifier as exc:
            problems["org_number"] = str(exc)
    match rule.rule_type:
        case RuleType.BLOCK_PERSON:
            if not rule.hpr_number:
                problems["hpr_number"] = "required for BLOCK_PERSON"
            if rule.org_number:
                problems["org_number"] = "a block names one person; leave empty"
        case RuleType.PERMIT:
            if not rule.hpr_number and not rule.org_number:
                problems["hpr_number"] = "a permit names an HPR number or an organisation number"
        case RuleType.RESERVATION | RuleType.RESTRICTION:
            for name in ("hpr_number", "org_number"):
                if getattr(rule, name):
                    problems[name] = "only for BLOCK_PERSON and PERMIT"
    return problems
