"""The access decision and rule validation, branch by branch (pure, no I/O)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.consent.domain import (
    AccessRequest,
    Actor,
    ActorKind,
    DataCategory,
    NewRule,
    PurposeOfUse,
    Rule,
    RuleType,
    rule_violations,
)
from services.consent.rules import (
    AUDIT,
    CARE_RELATIONSHIP,
    NO_CARE_RELATIONSHIP,
    OWN_DATA,
    PATIENT_ONLY,
    AccessBasis,
    AccessDecision,
    Decision,
    decide,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PATIENT = "22750884907"
OTHER_PATIENT = "19779998080"

EHR = Actor(ActorKind.SYSTEM, orgnr_parent="910000012", orgnr_child="910000020")
NURSE = Actor(ActorKind.PERSONNEL, pid="08847810026", hpr_number="990000101",
              orgnr_parent="910000012", orgnr_child="910000020")
HOSPITAL = Actor(ActorKind.SYSTEM, orgnr_parent="910000071", orgnr_child="910000098")
AUDITOR = Actor(ActorKind.AUDITOR, orgnr_parent="910000012", orgnr_child="910000020")
SELF = Actor(ActorKind.PATIENT, pid=PATIENT)


def rule(rule_type: RuleType, rule_id: str = "r1", *, categories=(), hpr="", org="", patient=PATIENT,
         expires: datetime | None = None, revoked: datetime | None = None,
         created: datetime = NOW - timedelta(days=1)) -> Rule:
    return Rule(rule_id, patient, rule_type, frozenset(categories), hpr, org, created, expires, revoked)


def ask(actor: Actor = EHR, category: DataCategory | None = DataCategory.VITAL_SIGNS,
        purpose: PurposeOfUse | None = PurposeOfUse.TREAT) -> AccessRequest:
    return AccessRequest(PATIENT, actor, category, purpose)


def permit(basis: AccessBasis, by: str) -> AccessDecision:
    return AccessDecision(Decision.PERMIT, basis, by)


def deny(by: str) -> AccessDecision:
    return AccessDecision(Decision.DENY, AccessBasis.NONE, by)


# --- own data and audit ---------------------------------------------------------------

@pytest.mark.parametrize("category", list(DataCategory))
def test_patient_sees_all_own_data_even_under_reservation(category):
    rules = [rule(RuleType.RESERVATION)]
    assert decide(rules, ask(SELF, category, purpose=None), NOW) == permit(AccessBasis.OWN_DATA, OWN_DATA)


def test_patient_actor_for_another_patient_has_no_care_relationship():
    other = Actor(ActorKind.PATIENT, pid=OTHER_PATIENT)
    assert decide([], ask(other), NOW) == deny(NO_CARE_RELATIONSHIP)
    assert decide([], ask(other, DataCategory.CONSENT), NOW) == deny(PATIENT_ONLY)


def test_patient_kind_without_pid_is_not_the_patient():
    assert decide([], AccessRequest("", Actor(ActorKind.PATIENT), DataCategory.CONSENT, None), NOW) == deny(PATIENT_ONLY)


def test_same_pid_with_another_kind_is_not_own_data():
    nurse_as_patient = Actor(ActorKind.PERSONNEL, pid=PATIENT, hpr_number="990000101", orgnr_parent="910000012")
    assert decide([], ask(nurse_as_patient, DataCategory.CONSENT), NOW) == deny(PATIENT_ONLY)


def test_auditor_reads_the_access_log_even_under_reservation():
    rules = [rule(RuleType.RESERVATION)]
    assert decide(rules, ask(AUDITOR, DataCategory.ACCESS_LOG, None), NOW) == permit(AccessBasis.AUDIT, AUDIT)


def test_auditor_gets_no_patient_data():
    assert decide([], ask(AUDITOR, DataCategory.VITAL_SIGNS, None), NOW) == deny(NO_CARE_RELATIONSHIP)
    assert decide([], ask(AUDITOR, DataCategory.VITAL_SIGNS, PurposeOfUse.TREAT), NOW) == deny(NO_CARE_RELATIONSHIP)


@pytest.mark.parametrize("category", [DataCategory.CONSENT, DataCategory.ACCESS_LOG, None])
def test_categories_other_than_shared_ones_are_for_the_patient_only(category):
    assert decide([], ask(NURSE, category, PurposeOfUse.BTG), NOW) == deny(PATIENT_ONLY)


# --- reservation and block --------------------------------------------------------------

@pytest.mark.parametrize("purpose", list(PurposeOfUse))
def test_reservation_denies_every_purpose_including_emergencies(purpose):
    rules = [rule(RuleType.RESERVATION, "res"), rule(RuleType.PERMIT, "p", hpr="990000101")]
    assert decide(rules, ask(NURSE, purpose=purpose), NOW) == deny("res")


@pytest.mark.parametrize("purpose", list(PurposeOfUse))
def test_block_denies_the_named_person_always(purpose):
    rules = [rule(RuleType.BLOCK_PERSON, "blk", hpr="990000101"), rule(RuleType.PERMIT, "p", hpr="990000101")]
    assert decide(rules, ask(NURSE, purpose=purpose), NOW) == deny("blk")


def test_block_does_not_touch_other_persons_or_systems():
    rules = [rule(RuleType.BLOCK_PERSON, "blk", hpr="990000104")]
    assert decide(rules, ask(NURSE), NOW) == permit(AccessBasis.CARE_RELATIONSHIP, CARE_RELATIONSHIP)
    assert decide(rules, ask(EHR), NOW) == permit(AccessBasis.CARE_RELATIONSHIP, CARE_RELATIONSHIP)


# --- purpose of use ---------------------------------------------------------------------

def test_no_purpose_denies():
    assert decide([], ask(EHR, purpose=None), NOW) == deny(NO_CARE_RELATIONSHIP)


def test_unknown_actor_kind_denies():
    assert decide([], ask(Actor(None, orgnr_parent="910000012")), NOW) == deny(NO_CARE_RELATIONSHIP)


# --- restriction ------------------------------------------------------------------------

def test_restriction_of_a_category_denies_ordinary_treatment():
    rules = [rule(RuleType.RESTRICTION, "rst", categories={DataCategory.VITAL_SIGNS})]
    assert decide(rules, ask(EHR, DataCategory.VITAL_SIGNS), NOW) == deny("rst")
    assert decide(rules, ask(EHR, DataCategory.MUNICIPAL_SERVICES), NOW) == permit(
        AccessBasis.CARE_RELATIONSHIP, CARE_RELATIONSHIP
    )


@pytest.mark.parametrize("category", [DataCategory.VITAL_SIGNS, DataCategory.MUNICIPAL_SERVICES])
def test_restriction_without_categories_covers_all(category):
    assert decide([rule(RuleType.RESTRICTION, "rst")], ask(EHR, category), NOW) == deny("rst")


@pytest.mark.parametrize("purpose", [PurposeOfUse.TREAT, PurposeOfUse.COC])
def test_restriction_denies_non_emergency_purposes(purpose):
    assert decide([rule(RuleType.RESTRICTION, "rst")], ask(EHR, purpose=purpose), NOW) == deny("rst")


@pytest.mark.parametrize("purpose", [PurposeOfUse.ETREAT, PurposeOfUse.BTG])
def test_restriction_is_opened_in_emergencies_naming_the_restriction(purpose):
    rules = [rule(RuleType.RESTRICTION, "rst")]
    assert decide(rules, ask(HOSPITAL, purpose=purpose), NOW) == permit(AccessBasis.EMERGENCY, "rst")


@pytest.mark.parametrize(
    "permit_rule",
    [
        rule(RuleType.PERMIT, "p", hpr="990000101"),
        rule(RuleType.PERMIT, "p", org="910000012"),
        rule(RuleType.PERMIT, "p", org="910000020"),
        rule(RuleType.PERMIT, "p", hpr="990000101", categories={DataCategory.VITAL_SIGNS}),
    ],
    ids=["hpr", "orgnr_parent", "orgnr_child", "hpr-for-the-category"],
)
def test_permit_naming_the_actor_opens_a_restriction_as_consent(permit_rule):
    rules = [rule(RuleType.RESTRICTION, "rst"), permit_rule]
    assert decide(rules, ask(NURSE, purpose=PurposeOfUse.ETREAT), NOW) == permit(AccessBasis.CONSENT, "p")


@pytest.mark.parametrize(
    "permit_rule",
    [
        rule(RuleType.PERMIT, "p", hpr="990000105"),
        rule(RuleType.PERMIT, "p", org="910000071"),
        rule(RuleType.PERMIT, "p", hpr="990000101", categories={DataCategory.MUNICIPAL_SERVICES}),
        rule(RuleType.PERMIT, "p", hpr="990000101", patient=OTHER_PATIENT),
        rule(RuleType.PERMIT, "p", hpr="990000101", expires=NOW),
        rule(RuleType.PERMIT, "p", hpr="990000101", revoked=NOW - timedelta(seconds=1)),
    ],
    ids=["other-hpr", "other-org", "other-category", "other-patient", "expired", "revoked"],
)
def test_permit_not_naming_the_actor_or_inactive_does_not_open_a_restriction(permit_rule):
    rules = [rule(RuleType.RESTRICTION, "rst"), permit_rule]
    assert decide(rules, ask(NURSE), NOW) == deny("rst")


def test_empty_hpr_of_a_system_never_matches_a_permit():
    rules = [rule(RuleType.RESTRICTION, "rst"), rule(RuleType.PERMIT, "p", hpr="990000101")]
    assert decide(rules, ask(EHR), NOW) == deny("rst")


def test_the_oldest_covering_restriction_decides():
    rules = [
        rule(RuleType.RESTRICTION, "newer", created=NOW - timedelta(hours=1)),
        rule(RuleType.RESTRICTION, "older", created=NOW - timedelta(days=3)),
    ]
    assert decide(rules, ask(EHR), NOW) == deny("older")


# --- statutory default ------------------------------------------------------------------

@pytest.mark.parametrize("purpose", list(PurposeOfUse))
def test_default_care_relationship_for_an_actor_with_an_organisation(purpose):
    assert decide([], ask(EHR, purpose=purpose), NOW) == permit(AccessBasis.CARE_RELATIONSHIP, CARE_RELATIONSHIP)


def test_no_organisation_no_care_relationship():
    loner = Actor(ActorKind.PERSONNEL, pid="08847810026", hpr_number="990000101")
    assert decide([], ask(loner), NOW) == deny(NO_CARE_RELATIONSHIP)


# --- expiry and revocation --------------------------------------------------------------

@pytest.mark.parametrize("rule_type", [RuleType.RESERVATION, RuleType.RESTRICTION])
def test_rule_applies_until_its_expiry_and_not_at_it(rule_type):
    expires = NOW + timedelta(minutes=5)
    rules = [rule(rule_type, "r", expires=expires)]
    assert decide(rules, ask(EHR), NOW).decision is Decision.DENY
    assert decide(rules, ask(EHR), expires - timedelta(microseconds=1)).decision is Decision.DENY
    assert decide(rules, ask(EHR), expires) == permit(AccessBasis.CARE_RELATIONSHIP, CARE_RELATIONSHIP)


@pytest.mark.parametrize("rule_type", [RuleType.RESERVATION, RuleType.RESTRICTION, RuleType.BLOCK_PERSON])
def test_revoked_rule_no_longer_applies(rule_type):
    active = rule(rule_type, "r", hpr="990000101" if rule_type is RuleType.BLOCK_PERSON else "")
    revoked = rule(rule_type, "r", hpr=active.hpr_number, revoked=NOW - timedelta(seconds=1))
    assert decide([active], ask(NURSE), NOW) == deny("r")
    assert decide([revoked], ask(NURSE), NOW) == permit(AccessBasis.CARE_RELATIONSHIP, CARE_RELATIONSHIP)


def test_other_patients_rules_are_ignored():
    rules = [rule(RuleType.RESERVATION, "theirs", patient=OTHER_PATIENT)]
    assert decide(rules, ask(EHR), NOW) == permit(AccessBasis.CARE_RELATIONSHIP, CARE_RELATIONSHIP)


# --- validation of new rules ------------------------------------------------------------

def new(rule_type: RuleType | None, *, categories=(), hpr="", org="", patient=PATIENT,
        expires: datetime | None = None) -> NewRule:
    return NewRule(patient, rule_type, list(categories), hpr, org, expires)


@pytest.mark.parametrize(
    "draft",
    [
        new(RuleType.RESERVATION),
        new(RuleType.RESTRICTION, categories=[DataCategory.VITAL_SIGNS], expires=NOW + timedelta(days=1)),
        new(RuleType.BLOCK_PERSON, hpr="990000104"),
        new(RuleType.PERMIT, hpr="990000101"),
        new(RuleType.PERMIT, org="910000071", categories=[DataCategory.MUNICIPAL_SERVICES]),
    ],
)
def test_valid_rules_have_no_violations(draft):
    assert rule_violations(draft, NOW, allow_synthetic=True) == {}


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (new(None), "rule_type"),
        (new(RuleType.RESERVATION, patient="12345678901"), "patient_id"),
        (new(RuleType.RESTRICTION, categories=[None]), "data_categories"),
        (new(RuleType.RESTRICTION, categories=[DataCategory.CONSENT]), "data_categories"),
        (new(RuleType.RESERVATION, categories=[DataCategory.VITAL_SIGNS]), "data_categories"),
        (new(RuleType.BLOCK_PERSON, categories=[DataCategory.VITAL_SIGNS], hpr="990000104"), "data_categories"),
        (new(RuleType.BLOCK_PERSON), "hpr_number"),
        (new(RuleType.BLOCK_PERSON, hpr="99-0001"), "hpr_number"),
        (new(RuleType.BLOCK_PERSON, hpr="990000104", org="910000012"), "org_number"),
        (new(RuleType.PERMIT), "hpr_number"),
        (new(RuleType.PERMIT, org="910000013"), "org_number"),
        (new(RuleType.RESTRICTION, hpr="990000101"), "hpr_number"),
        (new(RuleType.RESERVATION, org="910000012"), "org_number"),
        (new(RuleType.RESTRICTION, expires=NOW), "expire_time"),
    ],
)
def test_invalid_rules_name_the_field(draft, field):
    assert field in rule_violations(draft, NOW, allow_synthetic=True)


def test_synthetic_patients_are_refused_when_not_allowed():
    assert "patient_id" in rule_violations(new(RuleType.RESERVATION), NOW, allow_synthetic=False)
