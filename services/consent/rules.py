"""The access decision (policy decision point), pure: a patient's rules and a request in,
permit or deny with its basis and the rule that decided out (DOMAIN.md §2)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.platform.vocabulary import EMERGENCY_PURPOSES, AccessBasis, ActorKind, DataCategory, Decision

from .domain import SHAREABLE, AccessRequest, Actor, Rule, RuleType

# Named defaults reported as `decided_by` when no rule of the patient decided.
OWN_DATA = "default:own-data"
AUDIT = "default:audit"
PATIENT_ONLY = "default:patient-only-category"
NO_CARE_RELATIONSHIP = "default:no-care-relationship"
CARE_RELATIONSHIP = "default:care-relationship"

# Callers that can have a care relationship; patients and auditors never do.
_CARE_KINDS = frozenset({ActorKind.SYSTEM, ActorKind.PERSONNEL})


@dataclass(frozen=True)
class AccessDecision:
    decision: Decision
    basis: AccessBasis
    decided_by: str


def _deny(decided_by: str) -> AccessDecision:
    return AccessDecision(Decision.DENY, AccessBasis.NONE, decided_by)


def decide(rules: Iterable[Rule], request: AccessRequest, now: datetime) -> AccessDecision:
    """Decides over the patient's rules; revoked, expired and other patients' rules are ignored."""
    actor = request.actor
    active = sorted(
        (r for r in rules if r.patient_id == request.patient_id and r.is_active(now)),
        key=lambda r: (r.created_at, r.rule_id),
    )
    if actor.kind is ActorKind.PATIENT and actor.pid and actor.pid == request.patient_id:
        return AccessDecision(Decision.PERMIT, AccessBasis.OWN_DATA, OWN_DATA)
    if actor.kind is ActorKind.AUDITOR and request.category is DataCategory.ACCESS_LOG:
        # Which organisation's events the auditor sees is the audit service's scoping.
        return AccessDecision(Decision.PERMIT, AccessBasis.AUDIT, AUDIT)
    for rule in active:
        if rule.rule_type is RuleType.RESERVATION:
            return _deny(rule.rule_id)
    for rule in active:
        if rule.rule_type is RuleType.BLOCK_PERSON and actor.hpr_number and rule.hpr_number == actor.hpr_number:
            return _deny(rule.rule_id)
    if request.category not in SHAREABLE:
        return _deny(PATIENT_ONLY)
    if request.purpose is None or actor.kind not in _CARE_KINDS:
        return _deny(NO_CARE_RELATIONSHIP)
    restriction = next(
        (r for r in active if r.rule_type is RuleType.RESTRICTION and r.covers(request.category)), None
    )
    if restriction is not None:
        permit = next(
            (r for r in active
             if r.rule_type is RuleType.PERMIT and r.covers(request.category) and _names(r, actor)),
            None,
        )
        if permit is not None:
            return AccessDecision(Decision.PERMIT, AccessBasis.CONSENT, permit.rule_id)
        if request.purpose in EMERGENCY_PURPOSES:
            return AccessDecision(Decision.PERMIT, AccessBasis.EMERGENCY, restriction.rule_id)
        return _deny(restriction.rule_id)
    if actor.orgnr_parent:
        return AccessDecision(Decision.PERMIT, AccessBasis.CARE_RELATIONSHIP, CARE_RELATIONSHIP)
    return _deny(NO_CARE_RELATIONSHIP)


def _names(permit: Rule, actor: Actor) -> bool:
    """Whether a permit names the actor: by HPR number, or by legal entity or point of care."""
    if permit.hpr_number and permit.hpr_number == actor.hpr_number:
        return True
    return bool(permit.org_number) and permit.org_number in (actor.orgnr_parent, actor.orgnr_child)
