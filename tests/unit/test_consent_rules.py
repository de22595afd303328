"""Rule validation, consent receipts and notification texts (pure, no I/O)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey, KeySet

from services.consent.decision import Policy, decide
from services.consent.domain import (
    SEED_ACTOR,
    AccessRequest,
    ActorSelector,
    NotificationKind,
    RuleDraft,
    RuleState,
    RuleType,
    SelectorKind,
    rule_violations,
)
from services.consent.main import organisation_names, receipt_signer
from services.consent.notifications import access_notification, rule_changed
from services.consent.receipts import ReceiptSigner, receipt_content
from services.platform.actors import Actor
from services.platform.settings import Settings, SettingsError
from services.platform.vocabulary import ActorKind, DataCategory, PurposeOfUse
from tests.fixtures import people
from tests.fixtures.samples import block_rule_version

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PATIENT = people.ESKIL
HPR = ActorSelector(SelectorKind.HPR_NUMBER, people.BJORN_HPR)


def draft(rule_type: RuleType | None = RuleType.RESTRICTION, **fields) -> RuleDraft:
    values = dict(
        patient_id=PATIENT,
        rule_type=rule_type,
        selector=None,
        categories=(),
        purposes=(),
        valid_from=None,
        valid_until=None,
        reason="",
    )
    return RuleDraft(**(values | fields))


@pytest.mark.parametrize(
    "rule",
    [
        draft(RuleType.RESERVATION),
        draft(RuleType.RESTRICTION, categories=[DataCategory.VITAL_SIGNS]),
        draft(RuleType.BLOCK_PERSON, selector=HPR, reason="x" * 500),
        draft(
            RuleType.PERMIT,
            selector=ActorSelector(SelectorKind.ORG_NUMBER, "910000047"),
            valid_from=NOW + timedelta(days=1),
            valid_until=NOW + timedelta(days=30),
        ),
        draft(RuleType.PERMIT, selector=ActorSelector(SelectorKind.AUTHORIZATION, "LE")),
        draft(
            RuleType.PERMIT, selector=ActorSelector(SelectorKind.ANYONE), categories=[DataCategory.MUNICIPAL_SERVICES]
        ),
    ],
    ids=["reservation", "restriction", "block", "permit-org", "permit-authorization", "permit-anyone"],
)
def test_valid_rules(rule):
    assert rule_violations(rule, NOW, allow_synthetic=True) == {}


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (draft(None), "rule_type"),
        (draft(patient_id="22750884908"), "patient_id"),
        (draft(categories=[None]), "data_categories"),
        (draft(categories=[DataCategory.CONSENT]), "data_categories"),
        (draft(RuleType.RESERVATION, categories=[DataCategory.VITAL_SIGNS]), "data_categories"),
        (draft(RuleType.BLOCK_PERSON, selector=HPR, purposes=[PurposeOfUse.TREAT]), "purposes"),
        (draft(RuleType.RESTRICTION, purposes=[PurposeOfUse.COC]), "purposes"),  # another purpose would bypass it
        (draft(purposes=[None]), "purposes"),
        (draft(RuleType.RESTRICTION, selector=HPR), "actor"),
        (draft(RuleType.BLOCK_PERSON), "actor"),
        (draft(RuleType.BLOCK_PERSON, selector=ActorSelector(SelectorKind.ORG_NUMBER, "910000047")), "actor"),
        (draft(RuleType.PERMIT), "actor"),
        (draft(RuleType.PERMIT, selector=ActorSelector(SelectorKind.ORG_NUMBER, "910000013")), "actor"),
        (draft(RuleType.PERMIT, selector=ActorSelector(SelectorKind.HPR_NUMBER, "99-1")), "actor"),
        (draft(RuleType.PERMIT, selector=ActorSelector(SelectorKind.AUTHORIZATION, "le")), "actor"),
        (draft(selector_problem="anyone must be true when set"), "actor"),
        (draft(valid_until=NOW), "valid_until"),
        (draft(valid_from=NOW + timedelta(days=2), valid_until=NOW + timedelta(days=1)), "valid_until"),
        (draft(reason="x" * 501), "reason"),
    ],
)
def test_invalid_rules_name_the_field(rule, field):
    assert field in rule_violations(rule, NOW, allow_synthetic=True)


def test_synthetic_patients_are_refused_in_production():
    assert "patient_id" in rule_violations(draft(), NOW, allow_synthetic=False)


version = block_rule_version  # one version of Eskil's block of Bjørn (tests/fixtures/samples.py)


@pytest.fixture(scope="module")
def signer() -> ReceiptSigner:
    key = ECKey.generate_key("P-256", parameters={"kid": "test-receipts"}, private=True)
    return ReceiptSigner(key)


def test_receipt_verifies_with_the_published_key_and_carries_the_canonical_content(signer):
    rule = version()
    keys = json.loads(signer.jwks_json())
    assert [k["kid"] for k in keys["keys"]] == ["test-receipts"] and "d" not in keys["keys"][0]
    verified = jws.deserialize_compact(signer.sign(rule), KeySet.import_key_set(keys), algorithms=["ES256"])
    assert verified.protected == {"alg": "ES256", "kid": "test-receipts", "typ": "samhandling-consent-receipt+jws"}
    assert (
        json.loads(verified.payload)
        == receipt_content(rule)
        == {
            "rule_id": "r-1",
            "version": 1,
            "patient_id": PATIENT,
            "rule_type": "BLOCK_PERSON",
            "actor": {"hpr_number": people.BJORN_HPR},
            "data_categories": [],
            "purposes": [],
            "valid_from": None,
            "valid_until": None,
            "state": "ACTIVE",
            "created_by": {"kind": "PATIENT", "pid": PATIENT},
            "create_time": "2026-03-01T12:00:00.000000Z",
            "policy_revision": 3,
        }
    )


def test_a_tampered_receipt_does_not_verify(signer):
    keys = KeySet.import_key_set(json.loads(signer.jwks_json()))
    header, _, signature = signer.sign(version()).split(".")
    _, forged_payload, _ = signer.sign(version(RuleState.REVOKED)).split(".")
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(f"{header}.{forged_payload}.{signature}", keys, algorithms=["ES256"])
    other = ReceiptSigner(ECKey.generate_key("P-256", parameters={"kid": "test-receipts"}, private=True))
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(other.sign(version()), keys, algorithms=["ES256"])


def test_rule_change_notifications_say_what_changed_and_who_did_it():
    mine = rule_changed("n-1", version())
    assert (mine.kind, mine.reference) == (NotificationKind.RULE_CHANGED, "r-1")
    assert mine.text == (
        "Your block of the health person with HPR number 990000104 was created by you on 2026-03-01 12:00 UTC."
    )
    guardian = Actor(ActorKind.PATIENT, pid=people.MIKKEL, name="Mikkel Midlertidigsen")
    revoked = replace(
        version(
            RuleState.REVOKED,
            rule_type=RuleType.RESTRICTION,
            selector=None,
            categories=frozenset({DataCategory.VITAL_SIGNS}),
        ),
        created_by=guardian,
    )
    assert rule_changed("n-2", revoked).text == (
        "Your restriction of vital signs was revoked by your representative Mikkel Midlertidigsen "
        "on 2026-03-01 12:00 UTC."
    )
    seeded = replace(version(rule_type=RuleType.RESERVATION, selector=None), created_by=SEED_ACTOR)
    assert (
        "reservation against all sharing was created by the system Samhandling seed data"
        in rule_changed("n-3", seeded).text
    )


def test_an_emergency_opening_notifies_the_patient_without_the_health_persons_pid():
    nurse = Actor(
        ActorKind.PERSONNEL,
        pid=people.SIGRID,
        name="Sigrid Sykepleiersen",
        hpr_number=people.SIGRID_HPR,
        orgnr_parent="910000012",
        orgnr_child="910000020",
    )
    restriction = version(rule_type=RuleType.RESTRICTION, selector=None)
    request = AccessRequest(PATIENT, nurse, DataCategory.VITAL_SIGNS, PurposeOfUse.ETREAT, "fall, unconscious")
    decision = decide(Policy(PATIENT, (restriction,)), request, NOW)
    names = {"910000020": "Bodø kommune – hjemmesykepleie"}
    notification = access_notification("n-1", request, decision, "d-1", NOW, names)
    assert notification is not None
    assert (notification.kind, notification.reference, notification.actor.pid) == (
        NotificationKind.EMERGENCY_ACCESS,
        "d-1",
        "",
    )
    assert notification.text == (
        "Your restricted vital signs were opened in an emergency by Sigrid Sykepleiersen "
        "at Bodø kommune – hjemmesykepleie on 2026-03-01 12:00 UTC."
    )
    system = replace(
        request,
        actor=Actor(ActorKind.SYSTEM, client_name="Demo EHR", orgnr_parent="910000071"),
        justification="",
        consent_at_moment=True,
        purpose=PurposeOfUse.TREAT,
    )
    assert (
        access_notification("n-2", system, decide(Policy(PATIENT, (restriction,)), system, NOW), "d-2", NOW, names)
        is None
    )  # a system cannot declare consent: denied, nothing to tell
    consented = replace(request, purpose=PurposeOfUse.TREAT, justification="", consent_at_moment=True)
    told = access_notification(
        "n-3", consented, decide(Policy(PATIENT, (restriction,)), consented, NOW), "d-3", NOW, {}
    )
    assert told is not None and told.kind is NotificationKind.CONSENT_AT_MOMENT
    assert told.text.startswith(
        "Your restricted vital signs were opened with your consent at the moment by Sigrid "
        "Sykepleiersen at organisation 910000020"
    )


def test_production_refuses_the_development_receipt_key_and_seeded_organisation_names():
    assert organisation_names(Settings())["910000020"] == "Bodø kommune – hjemmesykepleie"
    assert "consent-receipts" in receipt_signer(Settings()).jwks_json()
    production = Settings(env="production")
    assert organisation_names(production) == {}
    with pytest.raises(SettingsError, match="refusing development key"):
        receipt_signer(production)
