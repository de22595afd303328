"""Sharing rules, representatives and access requests, pure: what they are and what a valid
new rule is (docs/consent.md "How consent decides"). The decision itself is in decision.py."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from services.platform.actors import Actor
from services.platform.ids import (
    InvalidIdentifier,
    person_number_violations,
    validate_hpr_number,
    validate_org_number,
)
from services.platform.text import TextField, text_violations
from services.platform.vocabulary import ActorKind, DataCategory, PurposeOfUse

MAX_REASON = 500
MAX_JUSTIFICATION = 500
REASON = TextField(MAX_REASON, multiline=True)
JUSTIFICATION = TextField(MAX_JUSTIFICATION)
RULE_ID = TextField(64, required=True)
# Rules in force (not revoked) per patient, so a policy, and every decision read of it, stays
# small (docs/limits.md); rule lists and histories are paged.
MAX_ACTIVE_RULES = 50

# The categories personnel may ever see; CONSENT and ACCESS_LOG belong to the patient.
SHAREABLE = frozenset({DataCategory.MUNICIPAL_SERVICES, DataCategory.VITAL_SIGNS})

# HPR code list 9060 uses two capital letters (LE doctor, SP nurse, AA ambulance worker, ...);
# the list itself changes over time, so only the form is checked.
_AUTHORIZATION = re.compile(r"[A-Z]{2}")


class RuleType(Enum):
    RESERVATION = "RESERVATION"
    RESTRICTION = "RESTRICTION"
    BLOCK_PERSON = "BLOCK_PERSON"
    PERMIT = "PERMIT"


class RuleEffect(Enum):
    PERMIT = "PERMIT"
    DENY = "DENY"


def effect_of(rule_type: RuleType) -> RuleEffect:
    return RuleEffect.PERMIT if rule_type is RuleType.PERMIT else RuleEffect.DENY


class RuleState(Enum):
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"


class Obligation(Enum):
    FLAG_FOR_AUDIT = "FLAG_FOR_AUDIT"
    NOTIFY_PATIENT = "NOTIFY_PATIENT"


class NotificationKind(Enum):
    EMERGENCY_ACCESS = "EMERGENCY_ACCESS"
    CONSENT_AT_MOMENT = "CONSENT_AT_MOMENT"
    RULE_CHANGED = "RULE_CHANGED"


class SelectorKind(Enum):
    """Member names match the ActorSelector oneof fields (upper case)."""

    HPR_NUMBER = "hpr_number"
    ORG_NUMBER = "org_number"
    AUTHORIZATION = "authorization"
    ANYONE = "anyone"


class RepresentationKind(Enum):
    GUARDIAN = "GUARDIAN"  # a parent or appointed guardian (verge) of a child
    POWER_OF_ATTORNEY = "POWER_OF_ATTORNEY"  # fullmakt given by the patient


class RepresentationStatus(Enum):
    """Whether a representation lets its representative act for the patient at a moment."""

    IN_FORCE = "IN_FORCE"
    NOT_YET_VALID = "NOT_YET_VALID"
    ENDED = "ENDED"
    CHILD_TURNED_12 = "CHILD_TURNED_12"  # a guardian's, once the child is 12 by the date in Norway


# The author of seeded rules: no person made them in this system.
SEED_ACTOR = Actor(ActorKind.SYSTEM, client_id="samhandling-seed", client_name="Samhandling seed data")


@dataclass(frozen=True)
class ActorSelector:
    kind: SelectorKind
    value: str = ""  # empty for ANYONE

    def selects(self, actor: Actor) -> bool:
        match self.kind:
            case SelectorKind.HPR_NUMBER:
                return bool(actor.hpr_number) and actor.hpr_number == self.value
            case SelectorKind.ORG_NUMBER:
                return self.value in (actor.orgnr_parent, actor.orgnr_child)
            case SelectorKind.AUTHORIZATION:
                return actor.kind is ActorKind.PERSONNEL and actor.authorization == self.value
            case SelectorKind.ANYONE:
                return True


@dataclass(frozen=True)
class RuleContent:
    """What the author decides about a rule; the same for every version but the last revoke."""

    patient_id: str
    rule_type: RuleType
    selector: ActorSelector | None = None
    categories: frozenset[DataCategory] = frozenset()  # empty: all
    purposes: frozenset[PurposeOfUse] = frozenset()  # empty: all
    valid_from: datetime | None = None  # None: from creation
    valid_until: datetime | None = None  # None: until revoked

    @property
    def effect(self) -> RuleEffect:
        return effect_of(self.rule_type)


@dataclass(frozen=True)
class Rule:
    """One version of one rule. Never edited: every change is a new version."""

    rule_id: str
    version: int
    content: RuleContent
    state: RuleState
    created_by: Actor
    reason: str
    create_time: datetime
    policy_revision: int  # the patient's revision this version produced
    receipt: str = ""

    @property
    def patient_id(self) -> str:
        return self.content.patient_id

    @property
    def rule_type(self) -> RuleType:
        return self.content.rule_type

    def in_force(self, now: datetime) -> bool:
        c = self.content
        return (
            self.state is RuleState.ACTIVE
            and (c.valid_from is None or c.valid_from <= now)
            and (c.valid_until is None or now < c.valid_until)
        )

    def covers(self, category: DataCategory, purpose: PurposeOfUse | None) -> bool:
        c = self.content
        return (not c.categories or category in c.categories) and (not c.purposes or purpose in c.purposes)


@dataclass(frozen=True)
class Representation:
    """A person allowed to act for a patient for a period (guardian or power of attorney)."""

    representation_id: str
    patient_id: str
    representative_pid: str
    kind: RepresentationKind
    valid_from: datetime
    valid_until: datetime | None = None
    patient_name: str = ""  # from the population register, for showing; never decides anything


@dataclass(frozen=True)
class AccessRequest:
    patient_id: str
    actor: Actor
    category: DataCategory
    purpose: PurposeOfUse | None
    justification: str = ""
    consent_at_moment: bool = False
    write: bool = False  # registers or changes data (create, update, delete) rather than reading it


@dataclass(frozen=True)
class RuleDraft:
    """A new rule as asked for, before validation; None stands for an unspecified or unknown
    enum value, and `selector_problem` for a selector that could not even be read."""

    patient_id: str
    rule_type: RuleType | None
    selector: ActorSelector | None
    categories: Sequence[DataCategory | None]
    purposes: Sequence[PurposeOfUse | None]
    valid_from: datetime | None
    valid_until: datetime | None
    reason: str
    selector_problem: str = ""

    def content(self) -> RuleContent:
        assert self.rule_type is not None, "validate first"
        return RuleContent(
            patient_id=self.patient_id,
            rule_type=self.rule_type,
            selector=self.selector,
            categories=frozenset(c for c in self.categories if c is not None),
            purposes=frozenset(p for p in self.purposes if p is not None),
            valid_from=self.valid_from,
            valid_until=self.valid_until,
        )


def rule_violations(draft: RuleDraft, now: datetime, *, allow_synthetic: bool) -> dict[str, str]:
    """Field violations of a new rule; empty when it is valid."""
    problems = person_number_violations(draft.patient_id, allow_synthetic=allow_synthetic)
    if draft.rule_type is None:
        problems["rule_type"] = "required"
    whole = draft.rule_type in (RuleType.RESERVATION, RuleType.BLOCK_PERSON)
    if None in draft.categories:
        problems["data_categories"] = "unspecified or unknown category"
    elif not SHAREABLE.issuperset(draft.categories):
        problems["data_categories"] = "only MUNICIPAL_SERVICES and VITAL_SIGNS are ever shared"
    elif draft.categories and whole:
        # Both hold for everything by law (docs/consent.md "How consent decides"); a narrower one would be silently widened.
        problems["data_categories"] = "a reservation or block covers all categories; leave empty"
    if None in draft.purposes:
        problems["purposes"] = "unspecified or unknown purpose of use"
    elif draft.purposes and draft.rule_type is not RuleType.PERMIT:
        # The caller states the purpose: a restriction of some purposes only would be bypassed
        # silently by stating another. Only a permit may be narrowed to purposes.
        problems["purposes"] = (
            "only a permit can be limited to purposes; a reservation, restriction or block holds for all"
        )
    if problem := draft.selector_problem or _selector_problem(draft.rule_type, draft.selector):
        problems["actor"] = problem
    if draft.valid_until is not None:
        if draft.valid_until <= now:
            problems["valid_until"] = "must be in the future"
        elif draft.valid_from is not None and draft.valid_until <= draft.valid_from:
            problems["valid_until"] = "must be after valid_from"
    problems |= text_violations({"reason": (draft.reason, REASON)})
    return problems


def revocation_violations(rule_id: str, reason: str) -> dict[str, str]:
    return text_violations({"rule_id": (rule_id, RULE_ID), "reason": (reason, REASON)})


def justification_violations(justification: str) -> dict[str, str]:
    return text_violations({"justification": (justification, JUSTIFICATION)})


def _selector_problem(rule_type: RuleType | None, selector: ActorSelector | None) -> str:
    match rule_type:
        case RuleType.RESERVATION | RuleType.RESTRICTION:
            return "" if selector is None else "a reservation or restriction applies to everyone; leave unset"
        case RuleType.BLOCK_PERSON:
            if selector is None or selector.kind is not SelectorKind.HPR_NUMBER:
                return "a block names one health person: set hpr_number"
        case RuleType.PERMIT:
            if selector is None:
                return "a permit selects an HPR number, an organisation, an authorization or anyone"
        case None:
            return ""
    assert selector is not None
    try:
        match selector.kind:
            case SelectorKind.HPR_NUMBER:
                validate_hpr_number(selector.value)
            case SelectorKind.ORG_NUMBER:
                validate_org_number(selector.value)
            case SelectorKind.AUTHORIZATION:
                if not _AUTHORIZATION.fullmatch(selector.value):
                    return "authorization must be an HPR code of two capital letters, e.g. LE"
    except InvalidIdentifier as exc:
        return str(exc)
    return ""


@dataclass(frozen=True)
class Notification:
    """A message for the patient; the text never holds data content or others' free text."""

    notification_id: str
    patient_id: str
    kind: NotificationKind
    create_time: datetime
    actor: Actor
    text: str
    reference: str  # the decision id or rule id it concerns
