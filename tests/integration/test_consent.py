"""Consent service over real gRPC with a real database (SQLite and PostgreSQL): decisions over
the seeded rules and residents (municipal services read within the parent organisation and
written by the data holder, vital signs recorded by any organisation), rule versions and history, receipts, representatives, notifications, batch
and explain, the policy change published before the patient is answered, and the residents
table itself."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
from dataclasses import replace

import grpc
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from google.protobuf import timestamp_pb2
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2, consent_pb2_grpc
from services.consent.domain import MAX_ACTIVE_RULES
from services.consent.main import BACKEND, make_api, receipt_signer
from services.consent.models import Base, ResidentRow
from services.consent.seed import home_organisations, seed
from services.consent.store import ConsentStore
from services.platform.db import alembic_config, make_engine, make_sessions, migrate
from services.platform.errors import error_info
from tests.fixtures import people
from tests.support import DEMO_EHR_ACTOR, asserted, running_backend, settings_for

SERVICE = "/samhandling.consent.v1.ConsentService/"
NOT_A_RESIDENT = people.SIGRID  # a valid synthetic person number missing from seeds/patients.json
BODO, BAERUM, HOSPITAL_TRUST = "910000012", "910000047", "910000071"

VITALS = common_pb2.DATA_CATEGORY_VITAL_SIGNS
SERVICES = common_pb2.DATA_CATEGORY_MUNICIPAL_SERVICES
TREAT, ETREAT, BTG = common_pb2.PURPOSE_OF_USE_TREAT, common_pb2.PURPOSE_OF_USE_ETREAT, common_pb2.PURPOSE_OF_USE_BTG
PERMIT, DENY = common_pb2.DECISION_PERMIT, common_pb2.DECISION_DENY
OPENED = [consent_pb2.OBLIGATION_FLAG_FOR_AUDIT, consent_pb2.OBLIGATION_NOTIFY_PATIENT]
RESTRICTION = consent_pb2.RULE_TYPE_RESTRICTION


def personnel(name: str, hpr_number: str, orgnr_parent: str, orgnr_child: str) -> common_pb2.Actor:
    return common_pb2.Actor(
        kind=common_pb2.ACTOR_KIND_PERSONNEL,
        client_id="demo-ehr-baerum",
        client_name="Demo EHR Bærum",
        name=name,
        pid=people.KRISTIN,
        hpr_number=hpr_number,
        authorization="LE",
        orgnr_parent=orgnr_parent,
        orgnr_child=orgnr_child,
    )


def patient(pid: str, name: str = "") -> common_pb2.Actor:
    return common_pb2.Actor(kind=common_pb2.ACTOR_KIND_PATIENT, client_id="samhandling-web", pid=pid, name=name)


KRISTIN = personnel("Kristin Korttidsen", people.KRISTIN_HPR, "910000047", "910000055")
BJORN = personnel("Bjørn Beredskapsen", people.BJORN_HPR, "910000047", "910000063")
HANNE = personnel("Hanne Helsesen", "990000108", HOSPITAL_TRUST, "910000098")
BAERUM_EHR = common_pb2.Actor(
    kind=common_pb2.ACTOR_KIND_SYSTEM,
    client_id="demo-ehr-baerum",
    client_name="Demo EHR Bærum",
    orgnr_parent=BAERUM,
    orgnr_child="910000063",
)


@pytest.fixture
def settings(tmp_path, db_url):
    return settings_for(tmp_path, consent=db_url)


@contextlib.asynccontextmanager
async def serving(settings, hub=None):
    """The consent backend as main.py builds it (with `hub` instead of its own, if given)."""
    spec = replace(BACKEND, make_api=lambda store, s: make_api(store, s, hub))
    async with running_backend("consent", settings, spec=spec) as channel:
        yield Consent(channel, settings)


class Consent:
    """The service as the gateway calls it: a fresh assertion per call."""

    def __init__(self, channel: grpc.aio.Channel, settings) -> None:
        self.stub = consent_pb2_grpc.ConsentServiceStub(channel)
        self._settings = settings

    def call(self, method: str, request, *, actor: common_pb2.Actor, patient_id: str):
        metadata = asserted(self._settings, "consent", SERVICE + method, actor=actor, patient_id=patient_id)
        return getattr(self.stub, method)(request, metadata=metadata)

    async def check(self, patient_id: str, actor=DEMO_EHR_ACTOR, category=VITALS, purpose=TREAT, **fields):
        request = consent_pb2.CheckAccessRequest(
            patient_id=patient_id, actor=actor, data_category=category, purpose_of_use=purpose, **fields
        )
        return await self.call("CheckAccess", request, actor=actor, patient_id=patient_id)

    async def create(self, patient_id: str, by: common_pb2.Actor | None = None, **fields) -> consent_pb2.Rule:
        request = consent_pb2.CreateRuleRequest(patient_id=patient_id, **fields)
        return (await self.call("CreateRule", request, actor=by or patient(patient_id), patient_id=patient_id)).rule

    async def revoke(self, patient_id: str, rule_id: str, by: common_pb2.Actor | None = None) -> consent_pb2.Rule:
        request = consent_pb2.RevokeRuleRequest(patient_id=patient_id, rule_id=rule_id, reason="changed my mind")
        return (await self.call("RevokeRule", request, actor=by or patient(patient_id), patient_id=patient_id)).rule

    async def rules(self, patient_id: str, include_revoked: bool = False, by=None) -> consent_pb2.ListRulesResponse:
        request = consent_pb2.ListRulesRequest(patient_id=patient_id, include_revoked=include_revoked)
        return await self.call("ListRules", request, actor=by or patient(patient_id), patient_id=patient_id)

    async def history(self, patient_id: str, by=None) -> list[consent_pb2.Rule]:
        request = consent_pb2.ListRuleHistoryRequest(patient_id=patient_id)
        return list(
            (
                await self.call("ListRuleHistory", request, actor=by or patient(patient_id), patient_id=patient_id)
            ).versions
        )

    async def notifications(self, patient_id: str, by=None, **paging) -> consent_pb2.ListNotificationsResponse:
        request = consent_pb2.ListNotificationsRequest(patient_id=patient_id, **paging)
        return await self.call("ListNotifications", request, actor=by or patient(patient_id), patient_id=patient_id)


async def refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return err.value


def outcome(answer: consent_pb2.CheckAccessResponse) -> tuple:
    return answer.decision, answer.access_basis, list(answer.decided_by), list(answer.obligations)


async def test_decisions_over_the_seeded_rules_with_notifications_for_every_opening(settings):
    async with serving(settings) as consent:
        first, second = await consent.check(people.ESKIL), await consent.check(people.ESKIL)
        assert outcome(first) == (PERMIT, common_pb2.ACCESS_BASIS_CARE_RELATIONSHIP, ["default:care-relationship"], [])
        assert len(first.decision_id) == 32 and first.decision_id != second.decision_id
        assert first.policy_revision == 0

        for fields in ({}, {"purpose": BTG, "justification": "unconscious"}, {"consent_at_moment": True}):
            answer = await consent.check(people.RAGNHILD, actor=KRISTIN, **fields)
            assert outcome(answer) == (DENY, common_pb2.ACCESS_BASIS_RESERVATION, ["rule-seed-0001"], [])
            assert answer.policy_revision == 1
        blocked = await consent.check(people.TOR, actor=BJORN, purpose=BTG, justification="unconscious")
        assert outcome(blocked) == (DENY, common_pb2.ACCESS_BASIS_BLOCK, ["rule-seed-0003"], [])
        assert (await consent.check(people.TOR, actor=KRISTIN)).decision == PERMIT

        assert outcome(await consent.check(people.GUNNAR, actor=KRISTIN)) == (
            DENY,
            common_pb2.ACCESS_BASIS_RESTRICTION,
            ["rule-seed-0002"],
            [],
        )
        assert (await consent.check(people.GUNNAR, actor=KRISTIN, purpose=ETREAT)).decision == DENY  # no justification
        assert (await consent.check(people.GUNNAR, category=SERVICES)).decision == PERMIT  # his municipality's own EHR
        emergency = await consent.check(people.GUNNAR, actor=KRISTIN, purpose=ETREAT, justification="short of breath")
        assert outcome(emergency) == (PERMIT, common_pb2.ACCESS_BASIS_EMERGENCY, ["rule-seed-0002"], OPENED)
        consented = await consent.check(people.GUNNAR, actor=KRISTIN, consent_at_moment=True)
        assert outcome(consented) == (PERMIT, common_pb2.ACCESS_BASIS_CONSENT_AT_MOMENT, ["rule-seed-0002"], OPENED)

        told = (await consent.notifications(people.GUNNAR)).notifications
        assert [(n.kind, n.reference) for n in told] == [
            (consent_pb2.NOTIFICATION_KIND_CONSENT_AT_MOMENT, consented.decision_id),
            (consent_pb2.NOTIFICATION_KIND_EMERGENCY_ACCESS, emergency.decision_id),
        ]
        assert told[1].text.startswith(
            "Your restricted vital signs were opened in an emergency by Kristin Korttidsen at Bærum helsehus – KAD on "
        )
        assert told[1].actor.hpr_number == people.KRISTIN_HPR and told[1].actor.pid == ""
        # Denials and unrestricted permits tell nobody anything.
        assert (await consent.notifications(people.RAGNHILD)).notifications == []


async def test_municipal_services_stay_with_the_parent_organisation_and_vital_signs_are_recorded_anywhere(settings):
    care = (PERMIT, common_pb2.ACCESS_BASIS_CARE_RELATIONSHIP, ["default:care-relationship"], [])
    no_care = (DENY, common_pb2.ACCESS_BASIS_NONE, ["default:no-care-relationship"], [])
    outside = (DENY, common_pb2.ACCESS_BASIS_NONE, ["default:outside-parent-organisation"], [])
    holder = (PERMIT, common_pb2.ACCESS_BASIS_CARE_RELATIONSHIP, ["default:data-holder"], [])
    not_holder = (DENY, common_pb2.ACCESS_BASIS_NONE, ["default:not-data-holder"], [])
    async with serving(settings) as consent:
        # Reads: each municipality within itself, vital signs for any organisation.
        assert outcome(await consent.check(people.ESKIL, category=SERVICES)) == care
        assert outcome(await consent.check(people.ESKIL, actor=KRISTIN, category=SERVICES)) == outside
        assert outcome(await consent.check(people.ESKIL, actor=HANNE, category=SERVICES)) == outside
        assert outcome(await consent.check(people.ESKIL, actor=KRISTIN)) == care
        assert outcome(await consent.check(people.ASTRID, actor=KRISTIN, category=SERVICES)) == care
        assert outcome(await consent.check(people.ASTRID, category=SERVICES)) == outside
        assert outcome(await consent.check(people.TOR, category=SERVICES)) == care  # moved to Bodø
        assert outcome(await consent.check(NOT_A_RESIDENT, category=SERVICES)) == outside

        # Opened as a restriction is, flagged and told to the patient.
        emergency = await consent.check(
            people.ESKIL, actor=HANNE, category=SERVICES, purpose=ETREAT, justification="confused, lives alone"
        )
        assert outcome(emergency) == (
            PERMIT,
            common_pb2.ACCESS_BASIS_EMERGENCY,
            ["default:outside-parent-organisation"],
            OPENED,
        )
        consented = await consent.check(people.ESKIL, actor=KRISTIN, category=SERVICES, consent_at_moment=True)
        assert outcome(consented) == (
            PERMIT,
            common_pb2.ACCESS_BASIS_CONSENT_AT_MOMENT,
            ["default:outside-parent-organisation"],
            OPENED,
        )
        assert outcome(await consent.check(people.ESKIL, actor=HANNE, category=SERVICES, purpose=ETREAT)) == outside
        told = (await consent.notifications(people.ESKIL)).notifications
        assert [(n.kind, n.reference) for n in told] == [
            (consent_pb2.NOTIFICATION_KIND_CONSENT_AT_MOMENT, consented.decision_id),
            (consent_pb2.NOTIFICATION_KIND_EMERGENCY_ACCESS, emergency.decision_id),
        ]
        assert told[1].text.startswith(
            "Your municipal services were opened in an emergency by Hanne Helsesen at "
            "Nordlandssykehuset Bodø – akuttmottak (not part of your municipality) on "
        )
        assert told[1].actor.hpr_number == "990000108" and told[1].actor.pid == ""

        # An explicit permit of the organisation opens them without an opening to tell.
        await consent.create(
            people.ESKIL,
            rule_type=consent_pb2.RULE_TYPE_PERMIT,
            actor=consent_pb2.ActorSelector(org_number=HOSPITAL_TRUST),
        )
        assert outcome(await consent.check(people.ESKIL, actor=HANNE, category=SERVICES))[:2] == (
            PERMIT,
            common_pb2.ACCESS_BASIS_EXPLICIT_PERMIT,
        )

        # Municipal services are written by the data holder only, whatever the patient permits (above) or restricts.
        assert outcome(await consent.check(people.TOR, category=SERVICES, write=True)) == holder
        assert outcome(await consent.check(people.TOR, actor=BAERUM_EHR, category=SERVICES, write=True)) == not_holder
        assert outcome(await consent.check(people.ESKIL, actor=HANNE, category=SERVICES, write=True)) == not_holder
        assert outcome(await consent.check(people.ASTRID, actor=BAERUM_EHR, category=SERVICES, write=True)) == holder
        assert (
            outcome(await consent.check(people.GUNNAR, category=SERVICES, write=True)) == holder
        )  # not opened, not flagged
        assert outcome(await consent.check(NOT_A_RESIDENT, category=SERVICES, write=True)) == not_holder

        # Vital signs are recorded on the care relationship by any organisation: the home municipality,
        # another one, the hospital; with a restriction (it limits reading only) and without a known home.
        for pid, actor in (
            (people.TOR, DEMO_EHR_ACTOR),
            (people.TOR, BAERUM_EHR),
            (people.ESKIL, HANNE),
            (people.ASTRID, BAERUM_EHR),
            (people.GUNNAR, DEMO_EHR_ACTOR),
            (people.GUNNAR, HANNE),
            (NOT_A_RESIDENT, HANNE),
        ):
            assert outcome(await consent.check(pid, actor=actor, write=True)) == care, (pid, actor.client_id)
        assert (
            outcome(
                await consent.check(people.ESKIL, actor=personnel("Uten Virksomhet", "990000199", "", ""), write=True)
            )
            == no_care
        )
        for actor in (BAERUM_EHR, HANNE):
            assert outcome(await consent.check(people.RAGNHILD, actor=actor, write=True)) == (
                DENY,
                common_pb2.ACCESS_BASIS_RESERVATION,
                ["rule-seed-0001"],
                [],
            )
        assert outcome(await consent.check(people.TOR, actor=BJORN, write=True)) == (
            DENY,
            common_pb2.ACCESS_BASIS_BLOCK,
            ["rule-seed-0003"],
            [],
        )
        assert len((await consent.notifications(people.GUNNAR)).notifications) == 0  # a write opens nothing


async def test_every_change_is_a_new_version_with_history_revision_and_notification(settings):
    async with serving(settings) as consent:
        restriction = await consent.create(
            people.ESKIL, rule_type=RESTRICTION, data_categories=[VITALS], reason="private"
        )
        assert (restriction.version, restriction.state, restriction.effect) == (
            1,
            consent_pb2.RULE_STATE_ACTIVE,
            consent_pb2.RULE_EFFECT_DENY,
        )
        assert (restriction.created_by.pid, restriction.reason) == (people.ESKIL, "private")
        permit = await consent.create(
            people.ESKIL,
            rule_type=consent_pb2.RULE_TYPE_PERMIT,
            actor=consent_pb2.ActorSelector(org_number="910000047"),
            purposes=[TREAT],
            valid_until=timestamp_pb2.Timestamp(seconds=4_102_444_800),
        )
        denied = await consent.check(people.ESKIL, actor=KRISTIN)
        assert (denied.decision, denied.policy_revision) == (DENY, 2)  # a permit does not open a restriction
        assert (
            await consent.check(people.ESKIL, actor=KRISTIN, category=SERVICES)
        ).access_basis == common_pb2.ACCESS_BASIS_EXPLICIT_PERMIT

        revoked = await consent.revoke(people.ESKIL, restriction.rule_id)
        assert (revoked.rule_id, revoked.version, revoked.state) == (
            restriction.rule_id,
            2,
            consent_pb2.RULE_STATE_REVOKED,
        )
        assert revoked.data_categories == [VITALS] and revoked.reason == "changed my mind"
        after = await consent.check(people.ESKIL, actor=KRISTIN)
        assert (after.decision, after.access_basis, after.policy_revision) == (
            PERMIT,
            common_pb2.ACCESS_BASIS_EXPLICIT_PERMIT,
            3,
        )
        assert await consent.revoke(people.ESKIL, restriction.rule_id) == revoked  # idempotent: no third version

        current = await consent.rules(people.ESKIL)
        assert ([r.rule_id for r in current.rules], current.policy_revision) == ([permit.rule_id], 3)
        everything = await consent.rules(people.ESKIL, include_revoked=True)
        assert [(r.rule_id, r.version) for r in everything.rules] == [(permit.rule_id, 1), (restriction.rule_id, 2)]
        assert [(v.rule_id, v.version) for v in await consent.history(people.ESKIL)] == [
            (restriction.rule_id, 1),
            (permit.rule_id, 1),
            (restriction.rule_id, 2),
        ]
        told = (await consent.notifications(people.ESKIL)).notifications
        assert [n.kind for n in told] == [consent_pb2.NOTIFICATION_KIND_RULE_CHANGED] * 3
        assert told[0].text.startswith("Your restriction of vital signs was revoked by you on ")
        assert told[0].reference == restriction.rule_id

        err = await refused(consent.revoke(people.ESKIL, "rule-seed-0001"))  # Ragnhild's, not Eskil's
        assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.NOT_FOUND, "RULE_NOT_FOUND")
        await consent.revoke(people.RAGNHILD, "rule-seed-0001")
    # A second start seeds again: nothing is duplicated and the patient's revoke stands.
    async with serving(settings) as consent:
        [reservation] = (await consent.rules(people.RAGNHILD, include_revoked=True)).rules
        assert (reservation.rule_id, reservation.version, reservation.state) == (
            "rule-seed-0001",
            2,
            consent_pb2.RULE_STATE_REVOKED,
        )
        assert [v.created_by.client_id for v in await consent.history(people.RAGNHILD)] == [
            "samhandling-seed",
            "samhandling-web",
        ]
        assert (await consent.check(people.RAGNHILD)).policy_revision == 2


async def test_receipts_verify_with_the_published_keys_and_tampering_shows(settings):
    async with serving(settings) as consent:
        rule = await consent.create(
            people.ESKIL,
            rule_type=consent_pb2.RULE_TYPE_BLOCK_PERSON,
            actor=consent_pb2.ActorSelector(hpr_number=people.BJORN_HPR),
        )
        revoked = await consent.revoke(people.ESKIL, rule.rule_id)
        answer = await consent.call(
            "GetReceiptKeys", consent_pb2.GetReceiptKeysRequest(), actor=DEMO_EHR_ACTOR, patient_id=""
        )
        jwks = json.loads(answer.jwks_json)
        assert [k["kid"] for k in jwks["keys"]] == ["consent-receipts"]
        assert not {"d", "dev_only"} & set(jwks["keys"][0])
        keys = KeySet.import_key_set(jwks)
        for version in (rule, revoked, (await consent.history(people.GUNNAR))[0]):
            content = json.loads(jws.deserialize_compact(version.receipt, keys, algorithms=["ES256"]).payload)
            assert (content["rule_id"], content["version"], content["patient_id"], content["state"]) == (
                version.rule_id,
                version.version,
                version.patient_id,
                consent_pb2.RuleState.Name(version.state)[11:],
            )
            assert content["created_by"] == {
                "kind": common_pb2.ActorKind.Name(version.created_by.kind)[11:],
                "pid": version.created_by.pid,
            }
        content = json.loads(jws.deserialize_compact(revoked.receipt, keys, algorithms=["ES256"]).payload)
        assert content["policy_revision"] == 2 and content["actor"] == {"hpr_number": people.BJORN_HPR}

        header, _, signature = rule.receipt.split(".")
        _, revoked_payload, _ = revoked.receipt.split(".")
        with pytest.raises(BadSignatureError):
            jws.deserialize_compact(f"{header}.{revoked_payload}.{signature}", keys, algorithms=["ES256"])


async def test_representatives_manage_whom_they_represent_and_nobody_else(settings):
    guardian, attorney = patient(people.MIKKEL, "Mikkel Midlertidigsen"), patient(people.ASTRID)
    async with serving(settings) as consent:
        rule = await consent.create(people.FRIDA, by=guardian, rule_type=RESTRICTION)
        assert (rule.patient_id, rule.created_by.pid, rule.created_by.name) == (
            people.FRIDA,
            people.MIKKEL,
            "Mikkel Midlertidigsen",
        )
        assert [r.rule_id for r in (await consent.rules(people.FRIDA, by=guardian)).rules] == [rule.rule_id]
        [told] = (await consent.notifications(people.FRIDA, by=guardian)).notifications
        assert "by your representative Mikkel Midlertidigsen" in told.text
        decision = await consent.check(
            people.FRIDA, actor=guardian, category=common_pb2.DATA_CATEGORY_CONSENT, purpose=0
        )
        assert outcome(decision) == (PERMIT, common_pb2.ACCESS_BASIS_REPRESENTATIVE, ["rep-seed-0001"], [])
        await consent.create(people.LIV, by=attorney, rule_type=consent_pb2.RULE_TYPE_RESERVATION)

        for who, whom in (
            (guardian, people.ESKIL),
            (guardian, people.LIV),
            (attorney, people.FRIDA),
            (patient(people.ESKIL), people.FRIDA),
        ):
            before = await consent.history(whom)
            for call in (
                consent.create(whom, by=who, rule_type=consent_pb2.RULE_TYPE_RESERVATION),
                consent.revoke(whom, rule.rule_id, by=who),
                consent.rules(whom, by=who),
                consent.history(whom, by=who),
                consent.notifications(whom, by=who),
            ):
                err = await refused(call)
                assert (err.code(), error_info(err)[0]) == (
                    grpc.StatusCode.PERMISSION_DENIED,
                    "NOT_PATIENT_OR_REPRESENTATIVE",
                )
            assert await consent.history(whom) == before
        not_theirs = await consent.check(
            people.ESKIL, actor=guardian, category=common_pb2.DATA_CATEGORY_ACCESS_LOG, purpose=0
        )
        assert outcome(not_theirs) == (DENY, common_pb2.ACCESS_BASIS_NONE, ["default:not-the-patient"], [])

        # The gateway's assertion must be about the patient of the request, whoever acts.
        request = consent_pb2.CreateRuleRequest(patient_id=people.FRIDA, rule_type=RESTRICTION)
        err = await refused(consent.call("CreateRule", request, actor=guardian, patient_id=people.ESKIL))
        assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "ASSERTION_PATIENT_MISMATCH")
        assert len(await consent.history(people.FRIDA)) == 1


async def test_a_person_lists_whom_they_represent_with_each_status_by_name(settings):
    """On both databases: the representations naming the caller, by id, each with the status
    that consent's decisions follow (Jonas, seeded as 12, is no longer the guardian's to act for)."""
    guardian = patient(people.MIKKEL, "Mikkel Midlertidigsen")
    request = consent_pb2.ListRepresentationsRequest()
    async with serving(settings) as consent:
        listed = await consent.call("ListRepresentations", request, actor=guardian, patient_id=people.MIKKEL)
        assert [(r.representation_id, r.patient_id, r.patient_name, r.status) for r in listed.representations] == [
            ("rep-seed-0001", people.FRIDA, "Frida Fantasisen", consent_pb2.REPRESENTATION_STATUS_IN_FORCE),
            ("rep-seed-0003", people.JONAS, "Jonas Jubileumsen", consent_pb2.REPRESENTATION_STATUS_CHILD_TURNED_12),
        ]
        for rep in listed.representations:
            decision = await consent.check(
                rep.patient_id, actor=guardian, category=common_pb2.DATA_CATEGORY_CONSENT, purpose=0
            )
            in_force = rep.status == consent_pb2.REPRESENTATION_STATUS_IN_FORCE
            assert (decision.decision == PERMIT) is in_force, rep.representation_id
        attorney = await consent.call(
            "ListRepresentations", request, actor=patient(people.ASTRID), patient_id=people.ASTRID
        )
        [liv] = attorney.representations
        assert (liv.patient_name, liv.kind, liv.status) == (
            "Liv Liksomsen",
            consent_pb2.REPRESENTATION_KIND_POWER_OF_ATTORNEY,
            consent_pb2.REPRESENTATION_STATUS_IN_FORCE,
        )
        nobody = await consent.call(
            "ListRepresentations", request, actor=patient(people.ESKIL), patient_id=people.ESKIL
        )
        assert list(nobody.representations) == []
        # Only about the caller: an assertion about anyone else, or a caller who is no person, is refused.
        err = await refused(consent.call("ListRepresentations", request, actor=guardian, patient_id=people.FRIDA))
        assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "ASSERTION_PATIENT_MISMATCH")
        err = await refused(consent.call("ListRepresentations", request, actor=KRISTIN, patient_id=KRISTIN.pid))
        assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_PATIENT_OR_REPRESENTATIVE")


async def test_batch_and_explain(settings):
    async with serving(settings) as consent:
        items = [
            consent_pb2.CheckAccessRequest(
                patient_id=people.GUNNAR, actor=KRISTIN, data_category=c, purpose_of_use=p, justification=j, write=w
            )
            for c, p, j, w in (
                (VITALS, TREAT, "", False),
                (SERVICES, TREAT, "", False),
                (VITALS, BTG, "collapsed", False),
                (VITALS, TREAT, "", True),
            )
        ]
        batch = await consent.call(
            "BatchCheckAccess",
            consent_pb2.BatchCheckAccessRequest(requests=items),
            actor=KRISTIN,
            patient_id=people.GUNNAR,
        )
        assert [outcome(r) for r in batch.responses] == [
            (DENY, common_pb2.ACCESS_BASIS_RESTRICTION, ["rule-seed-0002"], []),
            (DENY, common_pb2.ACCESS_BASIS_NONE, ["default:outside-parent-organisation"], []),
            (PERMIT, common_pb2.ACCESS_BASIS_EMERGENCY, ["rule-seed-0002"], OPENED),
            # The write, carried through: recorded on the care relationship although reading is restricted.
            (PERMIT, common_pb2.ACCESS_BASIS_CARE_RELATIONSHIP, ["default:care-relationship"], []),
        ]
        assert len({r.decision_id for r in batch.responses}) == 4
        assert {r.policy_revision for r in batch.responses} == {1}
        [told] = (await consent.notifications(people.GUNNAR)).notifications
        assert told.reference == batch.responses[2].decision_id

        too_many = consent_pb2.BatchCheckAccessRequest(requests=[items[0]] * 101)
        err = await refused(consent.call("BatchCheckAccess", too_many, actor=KRISTIN, patient_id=people.GUNNAR))
        assert (err.code(), set(error_info(err)[1])) == (grpc.StatusCode.INVALID_ARGUMENT, {"requests"})
        bad = consent_pb2.BatchCheckAccessRequest(
            requests=[items[0], consent_pb2.CheckAccessRequest(patient_id=people.GUNNAR)]
        )
        err = await refused(consent.call("BatchCheckAccess", bad, actor=KRISTIN, patient_id=people.GUNNAR))
        assert set(error_info(err)[1]) == {"requests[1].data_category"}
        mixed = consent_pb2.BatchCheckAccessRequest(
            requests=[
                items[0],
                consent_pb2.CheckAccessRequest(
                    patient_id=people.ESKIL, actor=KRISTIN, data_category=VITALS, purpose_of_use=TREAT
                ),
            ]
        )
        err = await refused(consent.call("BatchCheckAccess", mixed, actor=KRISTIN, patient_id=people.GUNNAR))
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED

        explained = await consent.call(
            "ExplainAccess", consent_pb2.ExplainAccessRequest(request=items[2]), actor=KRISTIN, patient_id=people.GUNNAR
        )
        assert outcome(explained.decision) == outcome(batch.responses[2]) and explained.decision.decision_id == ""
        assert explained.explanation[-1] == (
            "Decision: permit on emergency; the access is flagged for audit and the patient is notified."
        )
        assert "The patient has restricted vital signs (rule rule-seed-0002)." in explained.explanation
        assert not any(re.search(r"\d{11}", line) for line in explained.explanation)
        assert len((await consent.notifications(people.GUNNAR)).notifications) == 1  # explaining records nothing
        written = await consent.call(
            "ExplainAccess", consent_pb2.ExplainAccessRequest(request=items[3]), actor=KRISTIN, patient_id=people.GUNNAR
        )
        assert outcome(written.decision) == outcome(batch.responses[3])
        assert written.explanation[0].startswith("Asked to write: vital signs for treatment (TREAT)")
        err = await refused(
            consent.call(
                "ExplainAccess",
                consent_pb2.ExplainAccessRequest(request=consent_pb2.CheckAccessRequest(patient_id=people.GUNNAR)),
                actor=KRISTIN,
                patient_id=people.GUNNAR,
            )
        )
        assert set(error_info(err)[1]) == {"request.data_category"}


async def test_bad_input_is_refused_with_field_violations_and_notifications_page(settings):
    async with serving(settings) as consent:
        cases = {
            "rule_type": {},
            "actor": dict(rule_type=consent_pb2.RULE_TYPE_PERMIT, actor=consent_pb2.ActorSelector(anyone=False)),
            "data_categories": dict(rule_type=RESTRICTION, data_categories=[common_pb2.DATA_CATEGORY_ACCESS_LOG]),
            "valid_until": dict(rule_type=RESTRICTION, valid_until=timestamp_pb2.Timestamp(seconds=1_000_000_000)),
            "reason": dict(rule_type=RESTRICTION, reason="x" * 501),
        }
        for field, fields in cases.items():
            err = await refused(consent.create(people.ESKIL, **fields))
            assert (err.code(), set(error_info(err)[1])) == (grpc.StatusCode.INVALID_ARGUMENT, {field}), field
        assert await consent.history(people.ESKIL) == []
        err = await refused(consent.check("2275088490", category=common_pb2.DATA_CATEGORY_UNSPECIFIED))
        assert set(error_info(err)[1]) == {"patient_id", "data_category"}
        err = await refused(consent.revoke(people.ESKIL, ""))
        assert set(error_info(err)[1]) == {"rule_id"}

        for _ in range(3):
            await consent.create(people.ESKIL, rule_type=RESTRICTION)
        first = await consent.notifications(people.ESKIL, page_size=2)
        rest = await consent.notifications(people.ESKIL, page_size=2, page_token=first.next_page_token)
        assert (len(first.notifications), len(rest.notifications), rest.next_page_token) == (2, 1, "")
        everything = (await consent.notifications(people.ESKIL)).notifications
        assert [n.notification_id for n in everything] == [
            n.notification_id for n in [*first.notifications, *rest.notifications]
        ]
        for paging, field in (({"page_size": 501}, "page_size"), ({"page_token": "nonsense"}, "page_token")):
            err = await refused(consent.notifications(people.ESKIL, **paging))
            assert set(error_info(err)[1]) == {field}


class GatedHub:
    """A PolicyChangeHub stand-in whose publish waits until the test lets it return."""

    def __init__(self) -> None:
        self.published: list[tuple[str, int]] = []
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def publish(self, patient_id: str, revision: int) -> None:
        self.published.append((patient_id, revision))
        self.reached.set()
        await self.release.wait()

    def watch(self, request_iterator, context):
        raise AssertionError("not watched in this test")


async def test_a_change_is_published_after_commit_and_before_the_answer(settings):
    hub = GatedHub()
    async with serving(settings, hub) as consent:
        creating = asyncio.create_task(consent.create(people.ESKIL, rule_type=RESTRICTION))
        reached = asyncio.create_task(hub.reached.wait())
        # Whichever comes first: an answer without a publish fails here instead of hanging.
        await asyncio.wait((creating, reached), return_when=asyncio.FIRST_COMPLETED)
        assert hub.published == [(people.ESKIL, 1)] and not creating.done()
        # Committed before publishing: a decision asked now already sees the new revision.
        assert (await consent.check(people.ESKIL)).policy_revision == 1
        hub.release.set()
        rule = await creating
        await consent.revoke(people.ESKIL, rule.rule_id)
        await consent.revoke(people.ESKIL, rule.rule_id)  # a retry publishes again, at the same revision
        assert hub.published == [(people.ESKIL, 1), (people.ESKIL, 2), (people.ESKIL, 2)]


async def test_concurrent_changes_get_distinct_consecutive_revisions(settings):
    async with serving(settings) as consent:
        rules = await asyncio.gather(*(consent.create(people.ESKIL, rule_type=RESTRICTION) for _ in range(8)))
        revisions = sorted(
            json.loads(jws.extract_compact(r.receipt.encode()).payload)["policy_revision"] for r in rules
        )
        assert revisions == list(range(1, 9))
        assert [len(await consent.history(people.ESKIL)), (await consent.rules(people.ESKIL)).policy_revision] == [8, 8]


# --- residents: the store and the seed -----------------------------------------------------


def test_residents_are_stored_moved_and_unknown_patients_have_no_home(db_url):
    migrate(db_url, BACKEND.migrations)
    engine = make_engine(db_url)
    try:
        store = ConsentStore(make_sessions(engine))
        assert store.policy(people.ESKIL).home_orgnr is None
        store.put_resident(people.ESKIL, BODO)
        store.put_resident(people.ASTRID, BAERUM)
        assert (store.policy(people.ESKIL).home_orgnr, store.policy(people.ASTRID).home_orgnr) == (BODO, BAERUM)
        store.put_resident(people.ESKIL, BAERUM)  # moved: the same row, a new home
        assert store.policy(people.ESKIL).home_orgnr == BAERUM
        assert store.policy(NOT_A_RESIDENT).home_orgnr is None
        with engine.connect() as connection:
            assert connection.execute(sa.select(sa.func.count()).select_from(ResidentRow)).scalar_one() == 2
            # The hand-written migration matches the models.
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()


def test_the_seed_loads_every_patient_s_home_organisation_idempotently(tmp_path, db_url):
    settings = settings_for(tmp_path, consent=db_url)
    BACKEND.migrate(settings)
    BACKEND.seed(settings)
    BACKEND.seed(settings)
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = dict(connection.execute(sa.select(ResidentRow.patient_id, ResidentRow.home_orgnr)).all())
    finally:
        engine.dispose()
    patients = json.loads((settings.seeds_dir / "patients.json").read_text(encoding="utf-8"))
    assert set(rows) == {p["patient_id"] for p in patients}
    assert (rows[people.ESKIL], rows[people.TOR], rows[people.RAGNHILD], rows[people.ASTRID]) == (
        BODO,
        BODO,
        BAERUM,
        BAERUM,
    )


def test_a_municipality_without_exactly_one_legal_entity_is_a_seed_error():
    patients = [{"patient_id": people.ESKIL, "municipality_number": "1804"}]
    bodo = {"orgnr": BODO, "kind": "municipality", "parent_orgnr": None, "municipality_number": "1804"}
    child = {"orgnr": "910000020", "kind": "point_of_care", "parent_orgnr": BODO, "municipality_number": "1804"}
    hospital = {"orgnr": HOSPITAL_TRUST, "kind": "hospital_trust", "parent_orgnr": None, "municipality_number": "1804"}
    assert home_organisations(patients, [child, hospital, bodo]) == {people.ESKIL: BODO}
    for organisations in ([child, hospital], [bodo, bodo | {"orgnr": "910000047"}]):
        with pytest.raises(ValueError, match="municipality 1804"):
            home_organisations(patients, organisations)


async def test_rules_in_force_are_limited_and_every_list_of_them_is_paged(settings):
    """docs/limits.md: 50 rules in force per patient; ListRules, ListRuleHistory and
    ListNotifications in pages (AIP-158) whose tokens are range-checked."""
    async with serving(settings) as consent:
        made = [await consent.create(people.ESKIL, rule_type=RESTRICTION) for _ in range(MAX_ACTIVE_RULES)]
        err = await refused(consent.create(people.ESKIL, rule_type=RESTRICTION))
        assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.FAILED_PRECONDITION, "RULES_LIMIT")
        history_before = await consent.history(people.ESKIL)
        await consent.revoke(people.ESKIL, made[0].rule_id)
        newest = await consent.create(people.ESKIL, rule_type=RESTRICTION)  # room again

        async def pages(method: str, request_type, items: str, **fields) -> list[list]:
            found, token = [], ""
            while True:
                request = request_type(patient_id=people.ESKIL, page_size=20, page_token=token, **fields)
                page = await consent.call(method, request, actor=patient(people.ESKIL), patient_id=people.ESKIL)
                found.append(list(getattr(page, items)))
                if not (token := page.next_page_token):
                    return found

        in_force = await pages("ListRules", consent_pb2.ListRulesRequest, "rules")
        assert [len(p) for p in in_force] == [20, 20, 10]
        everything = await pages("ListRules", consent_pb2.ListRulesRequest, "rules", include_revoked=True)
        assert sum(map(len, everything)) == MAX_ACTIVE_RULES + 1
        assert [r.rule_id for page in everything for r in page] == [
            newest.rule_id,
            *(r.rule_id for r in reversed(made)),
        ]
        versions = await pages("ListRuleHistory", consent_pb2.ListRuleHistoryRequest, "versions")
        flat = [(v.rule_id, v.version) for page in versions for v in page]
        assert len(flat) == len(set(flat)) == MAX_ACTIVE_RULES + 2
        assert flat[:MAX_ACTIVE_RULES] == [(v.rule_id, v.version) for v in history_before]

        sequence_2_63 = "djE6OTIyMzM3MjAzNjg1NDc3NTgwOA=="  # "v1:9223372036854775808"
        for method, request_type in (
            ("ListRules", consent_pb2.ListRulesRequest),
            ("ListRuleHistory", consent_pb2.ListRuleHistoryRequest),
            ("ListNotifications", consent_pb2.ListNotificationsRequest),
        ):
            for paging in ({"page_token": sequence_2_63}, {"page_token": "A" * 100_000}, {"page_size": -1}):
                err = await refused(
                    consent.call(
                        method,
                        request_type(patient_id=people.ESKIL, **paging),
                        actor=patient(people.ESKIL),
                        patient_id=people.ESKIL,
                    )
                )
                assert (err.code(), set(error_info(err)[1])) == (grpc.StatusCode.INVALID_ARGUMENT, set(paging))


def test_representations_from_before_0004_keep_working_and_the_seed_names_them(tmp_path, db_url):
    """Revision 0004 adds the patient's name to representations stored before it (empty until
    the seed, as the population register's stand-in, names them); downgrading drops it again."""
    settings = settings_for(tmp_path, consent=db_url)
    config = alembic_config(db_url, BACKEND.migrations)
    command.upgrade(config, "0003")
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO representations (representation_id, patient_id, representative_pid, kind, valid_from,"
                    " valid_until) VALUES ('rep-seed-0001', :child, :guardian, 'GUARDIAN', :start, NULL)"
                ),
                {"child": people.FRIDA, "guardian": people.MIKKEL, "start": "2022-01-26 00:00:00.000000"},
            )
        command.upgrade(config, "head")
        store = ConsentStore(make_sessions(engine))
        [old] = store.representations_by(people.MIKKEL)
        assert (old.patient_id, old.patient_name, old.valid_until) == (people.FRIDA, "", None)
        seed(store, settings.seeds_dir, receipt_signer(settings), allow_synthetic=True)
        assert [(r.representation_id, r.patient_name) for r in store.representations_by(people.MIKKEL)] == [
            ("rep-seed-0001", "Frida Fantasisen"),
            ("rep-seed-0003", "Jonas Jubileumsen"),
        ]
        command.downgrade(config, "0003")
        with engine.connect() as connection:
            assert "patient_name" not in {c["name"] for c in sa.inspect(connection).get_columns("representations")}
    finally:
        engine.dispose()


def test_a_seeded_representation_without_the_patient_s_name_is_a_seed_error(tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(settings_for(tmp_path).seeds_dir, seeds)
    representations = json.loads((seeds / "representatives.json").read_text(encoding="utf-8"))
    del representations[0]["patient_name"]
    (seeds / "representatives.json").write_text(json.dumps(representations), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'consent.db'}"
    migrate(url, BACKEND.migrations)
    engine = make_engine(url)
    try:
        store = ConsentStore(make_sessions(engine))
        settings = settings_for(tmp_path, consent=url)
        with pytest.raises(ValueError, match=r"rep-seed-0001: \{'patient_name'"):
            seed(store, seeds, receipt_signer(settings), allow_synthetic=True)
        assert store.representations_by(people.MIKKEL) == ()  # nothing of the bad seed is stored
    finally:
        engine.dispose()
