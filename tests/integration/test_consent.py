"""Consent service over real gRPC with a real database (SQLite and PostgreSQL)."""
from __future__ import annotations

import grpc
import pytest
from google.protobuf import timestamp_pb2

from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2, consent_pb2_grpc
from services.platform.errors import error_info
from tests.support import DEMO_EHR_ACTOR, asserted, running_backend, settings_for

SERVICE = "/samhandling.consent.v1.ConsentService/"
ESKIL = "22750884907"  # no seeded rules
RAGNHILD = "19779998080"  # seeded reservation rule-seed-0001
TOR = "16758532406"  # seeded block of HPR 990000104, rule-seed-0003

VITALS = common_pb2.DATA_CATEGORY_VITAL_SIGNS
TREAT = common_pb2.PURPOSE_OF_USE_TREAT
BTG = common_pb2.PURPOSE_OF_USE_BTG
PERMIT = common_pb2.DECISION_PERMIT
DENY = common_pb2.DECISION_DENY


def personnel(hpr_number: str, orgnr_parent: str, orgnr_child: str) -> common_pb2.Actor:
    return common_pb2.Actor(
        kind=common_pb2.ACTOR_KIND_PERSONNEL, client_id="demo-ehr-baerum", hpr_number=hpr_number,
        orgnr_parent=orgnr_parent, orgnr_child=orgnr_child,
    )


BJORN = personnel("990000104", "910000047", "910000063")  # blocked by Tor
KRISTIN = personnel("990000103", "910000047", "910000055")


@pytest.fixture
def settings(tmp_path, db_url):
    return settings_for(tmp_path, consent=db_url)


class Consent:
    """The service as the gateway calls it: a fresh assertion per call."""

    def __init__(self, channel: grpc.aio.Channel, settings) -> None:
        self._stub = consent_pb2_grpc.ConsentServiceStub(channel)
        self._settings = settings

    def _metadata(self, method: str, patient_id: str):
        # Rule management is the patient's own call; the gateway asserts that patient.
        actor = common_pb2.Actor(kind=common_pb2.ACTOR_KIND_PATIENT, client_id="samhandling-web", pid=patient_id)
        return asserted(self._settings, "consent", SERVICE + method, actor=actor, patient_id=patient_id)

    async def check(self, patient_id: str, actor=DEMO_EHR_ACTOR, category=VITALS, purpose=TREAT,
                    asserted_patient: str | None = None):
        request = consent_pb2.CheckAccessRequest(
            patient_id=patient_id, actor=actor, data_category=category, purpose_of_use=purpose
        )
        return await self._stub.CheckAccess(request, metadata=asserted(
            self._settings, "consent", SERVICE + "CheckAccess",
            patient_id=patient_id if asserted_patient is None else asserted_patient,
        ))

    async def create(self, asserted_patient: str | None = None, **fields) -> consent_pb2.Rule:
        request = consent_pb2.CreateRuleRequest(**fields)
        patient = request.patient_id if asserted_patient is None else asserted_patient
        return (await self._stub.CreateRule(request, metadata=self._metadata("CreateRule", patient))).rule

    async def rules(self, patient_id: str, include_revoked: bool = True) -> list[consent_pb2.Rule]:
        request = consent_pb2.ListRulesRequest(patient_id=patient_id, include_revoked=include_revoked)
        return list((await self._stub.ListRules(request, metadata=self._metadata("ListRules", patient_id))).rules)

    async def revoke(self, patient_id: str, rule_id: str) -> consent_pb2.Rule:
        request = consent_pb2.RevokeRuleRequest(patient_id=patient_id, rule_id=rule_id)
        return (await self._stub.RevokeRule(request, metadata=self._metadata("RevokeRule", patient_id))).rule


async def refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return err.value


async def test_default_permit_for_a_care_relationship_with_fresh_decision_ids(settings):
    async with running_backend("consent", settings) as channel:
        consent = Consent(channel, settings)
        first = await consent.check(ESKIL)
        assert (first.decision, first.access_basis, first.decided_by) == (
            PERMIT, common_pb2.ACCESS_BASIS_CARE_RELATIONSHIP, "default:care-relationship"
        )
        second = await consent.check(ESKIL, asserted_patient=ESKIL)
        assert len(first.decision_id) == 32 and first.decision_id != second.decision_id
        no_purpose = await consent.check(ESKIL, purpose=common_pb2.PURPOSE_OF_USE_UNSPECIFIED)
        assert (no_purpose.decision, no_purpose.decided_by) == (DENY, "default:no-care-relationship")


async def test_seeded_reservation_denies_and_seeding_is_idempotent(settings):
    async with running_backend("consent", settings) as channel:
        consent = Consent(channel, settings)
        for purpose in (TREAT, BTG):
            answer = await consent.check(RAGNHILD, purpose=purpose)
            assert (answer.decision, answer.access_basis, answer.decided_by) == (
                DENY, common_pb2.ACCESS_BASIS_NONE, "rule-seed-0001"
            )
        await consent.revoke(RAGNHILD, "rule-seed-0001")
    # A second start seeds again: no duplicate, and the patient's revoke stands.
    async with running_backend("consent", settings) as channel:
        consent = Consent(channel, settings)
        [reservation] = await consent.rules(RAGNHILD)
        assert reservation.rule_id == "rule-seed-0001" and reservation.HasField("revoke_time")
        assert (await consent.check(RAGNHILD)).decision == PERMIT


async def test_restriction_denies_until_revoked_and_revoke_is_effective_at_once(settings):
    async with running_backend("consent", settings) as channel:
        consent = Consent(channel, settings)
        restriction = await consent.create(
            patient_id=ESKIL, rule_type=consent_pb2.RULE_TYPE_RESTRICTION, data_categories=[VITALS]
        )
        denied = await consent.check(ESKIL)
        assert (denied.decision, denied.decided_by) == (DENY, restriction.rule_id)
        other = await consent.check(ESKIL, category=common_pb2.DATA_CATEGORY_MUNICIPAL_SERVICES)
        assert other.decision == PERMIT
        emergency = await consent.check(ESKIL, purpose=common_pb2.PURPOSE_OF_USE_ETREAT)
        assert (emergency.decision, emergency.access_basis, emergency.decided_by) == (
            PERMIT, common_pb2.ACCESS_BASIS_EMERGENCY, restriction.rule_id
        )

        revoked = await consent.revoke(ESKIL, restriction.rule_id)
        assert revoked.HasField("revoke_time")
        assert (await consent.check(ESKIL)).decision == PERMIT

        again = await consent.revoke(ESKIL, restriction.rule_id)
        assert again == revoked
        assert await consent.rules(ESKIL, include_revoked=False) == []
        assert [r.rule_id for r in await consent.rules(ESKIL)] == [restriction.rule_id]


async def test_permit_opens_a_restriction_for_the_named_organisation_only(settings):
    async with running_backend("consent", settings) as channel:
        consent = Consent(channel, settings)
        await consent.create(patient_id=ESKIL, rule_type=consent_pb2.RULE_TYPE_RESTRICTION)
        permit = await consent.create(patient_id=ESKIL, rule_type=consent_pb2.RULE_TYPE_PERMIT, org_number="910000020")
        opened = await consent.check(ESKIL)
        assert (opened.decision, opened.access_basis, opened.decided_by) == (
            PERMIT, common_pb2.ACCESS_BASIS_CONSENT, permit.rule_id
        )
        assert (await consent.check(ESKIL, actor=KRISTIN)).decision == DENY
        assert [r.rule_id for r in await consent.rules(ESKIL)][0] == permit.rule_id  # newest first


async def test_block_denies_the_person_even_when_breaking_the_glass(settings):
    async with running_backend("consent", settings) as channel:
        consent = Consent(channel, settings)
        blocked = await consent.check(TOR, actor=BJORN, purpose=BTG)
        assert (blocked.decision, blocked.decided_by) == (DENY, "rule-seed-0003")
        assert (await consent.check(TOR, actor=KRISTIN, purpose=BTG)).decision == PERMIT

        block = await consent.create(patient_id=ESKIL, rule_type=consent_pb2.RULE_TYPE_BLOCK_PERSON,
                                     hpr_number=KRISTIN.hpr_number)
        answer = await consent.check(ESKIL, actor=KRISTIN, purpose=BTG)
        assert (answer.decision, answer.decided_by) == (DENY, block.rule_id)


async def test_bad_input_is_refused_with_field_violations_and_stores_nothing(settings):
    async with running_backend("consent", settings) as channel:
        consent = Consent(channel, settings)
        past = timestamp_pb2.Timestamp(seconds=1_000_000_000)
        cases = {
            "rule_type": dict(patient_id=ESKIL),
            "hpr_number": dict(patient_id=ESKIL, rule_type=consent_pb2.RULE_TYPE_BLOCK_PERSON),
            "org_number": dict(patient_id=ESKIL, rule_type=consent_pb2.RULE_TYPE_PERMIT, org_number="910000013"),
            "data_categories": dict(patient_id=ESKIL, rule_type=consent_pb2.RULE_TYPE_RESTRICTION,
                                    data_categories=[common_pb2.DATA_CATEGORY_UNSPECIFIED]),
            "expire_time": dict(patient_id=ESKIL, rule_type=consent_pb2.RULE_TYPE_RESTRICTION, expire_time=past),
            "patient_id": dict(patient_id="22750884908", rule_type=consent_pb2.RULE_TYPE_RESERVATION),
        }
        for field, fields in cases.items():
            err = await refused(consent.create(**fields))
            assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, field
            assert field in error_info(err)[1], field
        assert await consent.rules(ESKIL) == []

        err = await refused(consent.check("2275088490", category=common_pb2.DATA_CATEGORY_UNSPECIFIED))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(error_info(err)[1]) == {"patient_id", "data_category"}
        err = await refused(consent.revoke(ESKIL, ""))
        assert (err.code(), set(error_info(err)[1])) == (grpc.StatusCode.INVALID_ARGUMENT, {"rule_id"})


async def test_a_patient_cannot_touch_another_patients_rules(settings):
    async with running_backend("consent", settings) as channel:
        consent = Consent(channel, settings)
        err = await refused(consent.revoke(ESKIL, "rule-seed-0001"))
        assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.NOT_FOUND, "RULE_NOT_FOUND")
        assert (await consent.check(RAGNHILD)).decision == DENY

        err = await refused(consent.create(asserted_patient=ESKIL, patient_id=RAGNHILD,
                                           rule_type=consent_pb2.RULE_TYPE_RESTRICTION))
        assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "ASSERTION_PATIENT_MISMATCH")
        assert [r.rule_id for r in await consent.rules(RAGNHILD)] == ["rule-seed-0001"]

        err = await refused(consent.check(RAGNHILD, asserted_patient=ESKIL))
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED
