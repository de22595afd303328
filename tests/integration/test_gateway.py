"""The full request path in one process: real STS tokens, gateway, consent, audit, backends."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from urllib.parse import quote

import grpc
import pytest
from joserfc import jwt
from opentelemetry.trace import SpanKind

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2, consent_pb2_grpc
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.cli.call import call
from services.cli.token import Token
from services.platform.errors import error_info
from services.platform.keys import load_jwk
from tests.fixtures import people
from tests.fixtures.health_person import RESTRICTED_PATIENT, HealthPerson
from tests.fixtures.patient_calls import as_patient, restrict_vital_signs, revoke_rule
from tests.fixtures.spans import recording_spans
from tests.support import expect_error, running_suite, write_unless_ended

PATIENT = people.ESKIL
RESERVED_PATIENT = people.RAGNHILD
GET_SUMMARY = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"


def summary_stub(suite):
    return summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway)


async def test_summary_read_is_served_and_audited_for_the_auditor(suite):
    summary = await summary_stub(suite).GetPatientSummary(
        summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT), metadata=await suite.auth("demo-ehr")
    )
    assert summary.patient_id == PATIENT
    assert summary.municipal_services and summary.HasField("latest_news2")

    events = await audit_pb2_grpc.AuditServiceStub(suite.gateway).ListEvents(
        audit_pb2.ListEventsRequest(patient_id=PATIENT), metadata=await suite.auth("demo-auditor")
    )
    reads = [e for e in events.events if e.actor.client_id == "demo-ehr"]
    assert {e.data_category for e in reads} == {
        common_pb2.DATA_CATEGORY_MUNICIPAL_SERVICES,
        common_pb2.DATA_CATEGORY_VITAL_SIGNS,
    }
    for event in reads:
        assert event.patient_id == PATIENT
        assert event.actor.orgnr_parent == "910000012"
        assert event.purpose_of_use == common_pb2.PURPOSE_OF_USE_TREAT
        assert event.decision == common_pb2.DECISION_PERMIT
        assert event.action == audit_pb2.ACTION_READ
        assert len(event.trace_id) == 32 and event.decision_id


async def test_reserved_patient_is_denied_and_the_denial_audited(suite):
    await expect_error(
        summary_stub(suite).GetPatientSummary(
            summary_pb2.GetPatientSummaryRequest(patient_id=RESERVED_PATIENT), metadata=await suite.auth("demo-ehr")
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "CONSENT_DENIED",
    )
    events = await audit_pb2_grpc.AuditServiceStub(suite.gateway).ListEvents(
        audit_pb2.ListEventsRequest(patient_id=RESERVED_PATIENT), metadata=await suite.auth("demo-auditor")
    )
    denials = [e for e in events.events if e.actor.client_id == "demo-ehr"]
    assert denials and all(e.decision == common_pb2.DECISION_DENY for e in denials)


async def test_tokens_are_refused_with_specific_reasons(suite):
    stub = summary_stub(suite)
    request = summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT)
    await expect_error(stub.GetPatientSummary(request), grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")

    token = await suite.token("demo-ehr")
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-6]}{'A' * 6 if not signature.endswith('AAAAAA') else 'B' * 6}"
    await expect_error(
        stub.GetPatientSummary(request, metadata=(("authorization", f"Bearer {forged}"),)),
        grpc.StatusCode.UNAUTHENTICATED,
        "TOKEN_SIGNATURE_INVALID",
    )

    def resigned(**changes) -> tuple[tuple[str, str], ...]:
        # Re-signed with the STS's own development key, so only the changed claim is wrong.
        key = load_jwk(suite.settings.seeds_dir / "keys" / "sts-signing-1.dev-only.jwk.json", suite.settings)
        decoded = jwt.decode(token, key)
        value = jwt.encode(decoded.header, {**decoded.claims, **changes}, key)
        return (("authorization", f"Bearer {value}"),)

    now = int(time.time())
    await expect_error(
        stub.GetPatientSummary(request, metadata=resigned(iat=now - 900, nbf=now - 900, exp=now - 300)),
        grpc.StatusCode.UNAUTHENTICATED,
        "TOKEN_EXPIRED",
    )
    await expect_error(
        stub.GetPatientSummary(request, metadata=resigned(aud="nhn:kjernejournal")),
        grpc.StatusCode.UNAUTHENTICATED,
        "AUDIENCE_MISMATCH",
    )
    await expect_error(
        stub.GetPatientSummary(request, metadata=resigned(iss="https://helseid-sts.test.nhn.no")),
        grpc.StatusCode.UNAUTHENTICATED,
        "ISSUER_MISMATCH",
    )
    # NaN once disabled the not-yet-valid check (max(NaN, nbf) is NaN); time claims are NumericDates.
    for changes in ({"iat": float("nan"), "nbf": now + 3600}, {"iat": "1"}, {"iat": now + 0.5}, {"exp": True}):
        await expect_error(
            stub.GetPatientSummary(request, metadata=resigned(**changes)),
            grpc.StatusCode.UNAUTHENTICATED,
            "TOKEN_MALFORMED",
        )
    # At most SAMHANDLING_ACCESS_TOKEN_MAX_LIFETIME_SECONDS (3600 s) from iat to exp.
    for exp in (now + 3601, now + 10**9):
        await expect_error(
            stub.GetPatientSummary(request, metadata=resigned(iat=now, nbf=now, exp=exp)),
            grpc.StatusCode.UNAUTHENTICATED,
            "TOKEN_LIFETIME_TOO_LONG",
        )


async def test_missing_scope_and_unlisted_methods_are_denied(suite):
    report = capacity_pb2.ReportCapacityRequest(unit_id="x", resource_type="bed", total=1)
    await expect_error(
        capacity_pb2_grpc.CapacityServiceStub(suite.gateway).ReportCapacity(
            report, metadata=await suite.auth("demo-ehr")
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "SCOPE_MISSING",
    )
    check = consent_pb2.CheckAccessRequest(patient_id=PATIENT)
    await expect_error(
        consent_pb2_grpc.ConsentServiceStub(suite.gateway).CheckAccess(check, metadata=await suite.auth("demo-ehr")),
        grpc.StatusCode.PERMISSION_DENIED,
        "METHOD_NOT_ALLOWED",
    )


async def test_invalid_person_number_is_a_field_violation(suite):
    violations = await expect_error(
        summary_stub(suite).GetPatientSummary(
            summary_pb2.GetPatientSummaryRequest(patient_id="22750884908"), metadata=await suite.auth("demo-ehr")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
    )
    assert "patient_id" in violations


async def test_no_patient_data_without_the_audit_service(tmp_path):
    exporter, provider = recording_spans()
    async with running_suite(tmp_path, provider) as suite:
        metadata = await suite.auth("demo-ehr")
        await suite.backends["audit"].stop(grace=0)
        exporter.clear()
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await summary_stub(suite).GetPatientSummary(
                summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT), metadata=metadata
            )
    # The summary call runs beside the audit append and may have been made: its answer is not
    # released (test_gateway_audit_beside.py holds and fails the audit after it answered).
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info(err.value)[0] == "AUDIT_UNAVAILABLE"
    backend_calls = {s.name for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER and s.parent}
    assert "/samhandling.consent.v1.ConsentService/BatchCheckAccess" in backend_calls  # the decision was asked


async def test_a_restricted_category_is_left_out_and_the_rest_served(suite):
    restricted = RESTRICTED_PATIENT
    summary = await summary_stub(suite).GetPatientSummary(
        summary_pb2.GetPatientSummaryRequest(patient_id=restricted), metadata=await suite.auth("demo-ehr")
    )
    assert summary.municipal_services
    assert not summary.HasField("latest_vital_signs") and not summary.HasField("latest_news2")
    assert list(summary.withheld_categories) == [common_pb2.DATA_CATEGORY_VITAL_SIGNS]
    events = await audit_pb2_grpc.AuditServiceStub(suite.gateway).ListEvents(
        audit_pb2.ListEventsRequest(patient_id=restricted), metadata=await suite.auth("demo-auditor")
    )
    decisions = {e.data_category: e.decision for e in events.events if e.actor.client_id == "demo-ehr"}
    assert decisions == {
        common_pb2.DATA_CATEGORY_MUNICIPAL_SERVICES: common_pb2.DECISION_PERMIT,
        common_pb2.DATA_CATEGORY_VITAL_SIGNS: common_pb2.DECISION_DENY,
    }


async def test_a_backend_reached_directly_gives_nothing_away(suite):
    channel = grpc.aio.insecure_channel(suite.settings.addresses["summary"])
    async with channel:
        await expect_error(
            summary_pb2_grpc.PatientSummaryServiceStub(channel).GetPatientSummary(
                summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT), metadata=await suite.auth("demo-ehr")
            ),
            grpc.StatusCode.UNAUTHENTICATED,
            "ASSERTION_MISSING",
        )


async def test_standard_tools_work_through_reflection(suite):
    token = Token(await suite.token("demo-ehr"), dpop_key=None)
    body = json.dumps({"patient_id": PATIENT})
    method = "samhandling.summary.v1.PatientSummaryService/GetPatientSummary"
    gateway = suite.settings.addresses["gateway"]
    (answer,) = await asyncio.to_thread(lambda: [json.loads(a) for a in call(gateway, method, body, token)])
    assert answer["patientId"] == PATIENT and answer["municipalServices"]

    def first_of_a_stream() -> dict:
        lines = call(gateway, "samhandling.capacity.v1.CapacityService/WatchCapacity", '{"region": "Nordland"}', token)
        try:
            return json.loads(next(lines))
        finally:
            lines.close()  # leaving the stream cancels it

    snapshot = await asyncio.to_thread(first_of_a_stream)
    assert snapshot["snapshot"]["units"] and {u["region"] for u in snapshot["snapshot"]["units"]} == {"Nordland"}


async def test_one_trace_spans_gateway_consent_audit_and_summary(tmp_path):
    exporter, provider = recording_spans()
    async with running_suite(tmp_path, provider) as suite:
        metadata = await suite.auth("demo-ehr")
        exporter.clear()
        await summary_stub(suite).GetPatientSummary(
            summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT), metadata=metadata
        )
        events = await audit_pb2_grpc.AuditServiceStub(suite.gateway).ListEvents(
            audit_pb2.ListEventsRequest(patient_id=PATIENT), metadata=await suite.auth("demo-auditor")
        )
    server_spans = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    summary_read = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"
    gateway_span = next(s for s in server_spans if s.name == summary_read and s.parent is None)
    trace_id = gateway_span.context.trace_id
    in_trace = {s.name for s in server_spans if s.context.trace_id == trace_id}
    assert {
        "/samhandling.consent.v1.ConsentService/BatchCheckAccess",
        "/samhandling.audit.v1.AuditService/AppendEvents",
        summary_read,
    } <= in_trace
    backend_summary = [s for s in server_spans if s.name == summary_read and s.parent is not None]
    assert backend_summary and backend_summary[0].context.trace_id == trace_id
    sql = [s for s in exporter.get_finished_spans() if s.attributes.get("db.system") and s.context.trace_id == trace_id]
    assert sql, "SQL statements of the read are part of its trace"
    recorded = {e.trace_id for e in events.events if e.actor.client_id == "demo-ehr"}
    assert recorded == {format(trace_id, "032x")}


async def test_tokens_from_before_and_after_a_key_rotation_are_both_accepted(suite):
    from services.sts.key_rotation import PUBLICATION_SECONDS
    from services.sts.key_store import rotate_signing_keys

    def kid(token: str) -> str:
        return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "==="))["kid"]

    async def read(token: str) -> None:
        summary = await summary_stub(suite).GetPatientSummary(
            summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT), metadata=(("authorization", f"Bearer {token}"),)
        )
        assert summary.patient_id == PATIENT

    before = await suite.token("demo-ehr")
    await read(before)  # the gateway now holds the issuer's keys from before the rotation
    new_kid = rotate_signing_keys(suite.settings.var_dir, suite.settings.seeds_dir)
    assert kid(before) != new_kid
    # The new key is published at once and signs PUBLICATION_SECONDS later; wait for it.
    deadline = time.monotonic() + PUBLICATION_SECONDS + 10
    after = await suite.token("demo-ehr")
    while kid(after) != new_kid:
        assert time.monotonic() < deadline, "the STS did not start signing with the new key"
        await asyncio.sleep(0.5)
        after = await suite.token("demo-ehr")
    for token in (after, before):  # the same gateway, never restarted
        await read(token)


async def test_a_patients_revoke_is_effective_for_the_very_next_read(suite):
    patient = await as_patient(suite.settings, PATIENT)
    rule = await restrict_vital_signs(suite.gateway, PATIENT, patient)
    ehr = await suite.auth("demo-ehr")
    request = summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT)
    restricted = await summary_stub(suite).GetPatientSummary(request, metadata=ehr)
    assert restricted.municipal_services and not restricted.HasField("latest_news2")

    await revoke_rule(suite.gateway, PATIENT, rule.rule_id, patient)
    opened = await summary_stub(suite).GetPatientSummary(request, metadata=ehr)
    assert opened.HasField("latest_news2")


async def test_a_patient_manages_only_their_own_rules(suite):
    consent = consent_pb2_grpc.ConsentServiceStub(suite.gateway)
    other = await as_patient(suite.settings, RESERVED_PATIENT)
    before = await consent.ListRuleHistory(
        consent_pb2.ListRuleHistoryRequest(patient_id=RESERVED_PATIENT), metadata=other
    )
    rule_id = before.versions[0].rule_id
    me = await as_patient(suite.settings, PATIENT)
    attempts = [
        consent.ListRules(consent_pb2.ListRulesRequest(patient_id=RESERVED_PATIENT), metadata=me),
        consent.CreateRule(
            consent_pb2.CreateRuleRequest(
                patient_id=RESERVED_PATIENT,
                rule_type=consent_pb2.RULE_TYPE_PERMIT,
                actor=consent_pb2.ActorSelector(anyone=True),
            ),
            metadata=me,
        ),
        consent.RevokeRule(consent_pb2.RevokeRuleRequest(patient_id=RESERVED_PATIENT, rule_id=rule_id), metadata=me),
    ]
    for attempt in attempts:
        await expect_error(attempt, grpc.StatusCode.PERMISSION_DENIED, "CONSENT_DENIED")
    after = await consent.ListRuleHistory(
        consent_pb2.ListRuleHistoryRequest(patient_id=RESERVED_PATIENT), metadata=other
    )
    assert after == before


async def test_a_guardian_reads_the_access_log_of_the_child(suite):
    guardian, child = people.MIKKEL, people.FRIDA  # seeds/representatives.json
    events = await audit_pb2_grpc.AuditServiceStub(suite.gateway).ListEvents(
        audit_pb2.ListEventsRequest(patient_id=child), metadata=await as_patient(suite.settings, guardian)
    )
    # This very read is in the log, as the representative's (person numbers are never shown).
    own_read = [e for e in events.events if e.actor.kind == common_pb2.ACTOR_KIND_PATIENT]
    assert own_read and own_read[0].access_basis == common_pb2.ACCESS_BASIS_REPRESENTATIVE
    assert not own_read[0].actor.pid
    assert all(not e.justification for e in events.events)


async def test_a_guardian_gets_the_proof_of_the_childs_log_entry_without_their_own_person_number(suite):
    """GetPatientEventProof is decided as ListEvents (the access log category): the guardian gets
    the proof of the child's entry, which holds no person number of its actor (the guardian), and
    nothing of a patient they do not represent."""
    guardian, child = people.MIKKEL, people.FRIDA  # seeds/representatives.json
    metadata = await as_patient(suite.settings, guardian)
    audit = audit_pb2_grpc.AuditServiceStub(suite.gateway)
    events = await audit.ListEvents(audit_pb2.ListEventsRequest(patient_id=child), metadata=metadata)
    own_read = next(e for e in events.events if e.actor.kind == common_pb2.ACTOR_KIND_PATIENT)
    request = audit_pb2.GetPatientEventProofRequest(patient_id=child, sequence=own_read.sequence)
    deadline = time.monotonic() + 10  # until a checkpoint covers the entry (about a second)
    while True:
        try:
            proof = (await audit.GetPatientEventProof(request, metadata=metadata)).proof
            break
        except grpc.aio.AioRpcError as exc:
            if error_info(exc)[0] != "EVENT_NOT_FOUND" or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
    extra = base64.b64decode(proof.split("\n")[1].removeprefix("extra "))
    assert guardian.encode() not in proof.encode() + extra and child.encode() in extra
    leaf = json.loads(extra[1:])
    assert (extra[0], leaf["sequence"], leaf["access_basis"]) == (2, own_read.sequence, "REPRESENTATIVE")
    # Not a patient the guardian does not represent: the gateway's consent decision refuses.
    await expect_error(
        audit.GetPatientEventProof(
            audit_pb2.GetPatientEventProofRequest(patient_id=PATIENT, sequence=1), metadata=metadata
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "CONSENT_DENIED",
    )
    # Nor the child's entry asked for as another patient's own: as if there were none.
    other = await as_patient(suite.settings, PATIENT)
    await expect_error(
        audit.GetPatientEventProof(
            audit_pb2.GetPatientEventProofRequest(patient_id=PATIENT, sequence=own_read.sequence), metadata=other
        ),
        grpc.StatusCode.NOT_FOUND,
        "EVENT_NOT_FOUND",
    )


async def access_log(suite, patient_id: str, metadata) -> list[audit_pb2.AuditEvent]:
    answer = await audit_pb2_grpc.AuditServiceStub(suite.gateway).ListEvents(
        audit_pb2.ListEventsRequest(patient_id=patient_id), metadata=metadata
    )
    return [e for e in answer.events if e.actor.client_id == "demo-legevakt"]


async def test_an_emergency_opens_a_restriction_flagged_and_justified_for_the_auditors_only(suite):
    justification = "Bevisstløs pasient innbrakt, trenger siste målinger"
    doctor = await HealthPerson.signed_in(suite, "ETREAT")
    summary = await doctor.summary(RESTRICTED_PATIENT, ("x-samhandling-justification", quote(justification)))
    assert summary.HasField("latest_vital_signs") and not summary.withheld_categories

    audited = {
        e.data_category: e for e in await access_log(suite, RESTRICTED_PATIENT, await suite.auth("demo-auditor"))
    }
    opened = audited[common_pb2.DATA_CATEGORY_VITAL_SIGNS]
    assert (opened.decision, opened.access_basis, opened.flagged) == (
        common_pb2.DECISION_PERMIT,
        common_pb2.ACCESS_BASIS_EMERGENCY,
        True,
    )
    assert opened.decided_by == "rule-seed-0002" and opened.actor.hpr_number == people.LARS_HPR
    unrestricted = audited[common_pb2.DATA_CATEGORY_MUNICIPAL_SERVICES]
    assert unrestricted.access_basis == common_pb2.ACCESS_BASIS_CARE_RELATIONSHIP and not unrestricted.flagged
    assert opened.justification == unrestricted.justification == justification
    # The decision's obligations are recorded with the event, for the auditors.
    assert list(opened.obligations) == [audit_pb2.OBLIGATION_FLAG_FOR_AUDIT, audit_pb2.OBLIGATION_NOTIFY_PATIENT]
    assert not unrestricted.obligations

    seen = {
        e.data_category: e
        for e in await access_log(suite, RESTRICTED_PATIENT, await as_patient(suite.settings, RESTRICTED_PATIENT))
    }
    assert seen[common_pb2.DATA_CATEGORY_VITAL_SIGNS].flagged
    assert all(e.justification == "" and e.actor.pid == "" and not e.obligations for e in seen.values())
    assert seen[common_pb2.DATA_CATEGORY_VITAL_SIGNS].actor.hpr_number == people.LARS_HPR


async def test_consent_at_the_moment_opens_a_restriction_flagged(suite):
    doctor = await HealthPerson.signed_in(suite, "TREAT")
    without = await doctor.summary(RESTRICTED_PATIENT)
    assert list(without.withheld_categories) == [common_pb2.DATA_CATEGORY_VITAL_SIGNS]
    declared = await doctor.summary(RESTRICTED_PATIENT, ("x-samhandling-consent-at-moment", "true"))
    assert declared.HasField("latest_vital_signs") and not declared.withheld_categories

    vitals = [
        e
        for e in await access_log(suite, RESTRICTED_PATIENT, await suite.auth("demo-auditor"))
        if e.data_category == common_pb2.DATA_CATEGORY_VITAL_SIGNS
    ]
    assert [(e.access_basis, e.flagged) for e in vitals] == [
        (common_pb2.ACCESS_BASIS_CONSENT_AT_MOMENT, True),
        (common_pb2.ACCESS_BASIS_RESTRICTION, False),
    ]
    violations = await expect_error(
        doctor.summary(RESTRICTED_PATIENT, ("x-samhandling-consent-at-moment", "yes")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
    )
    assert "x-samhandling-consent-at-moment" in violations


async def test_the_policy_watch_is_not_served_through_the_gateway(suite):
    # Internal to the suite: only the gateway's own decision cache subscribes, at consent directly.
    watch = consent_pb2.WatchPolicyChangesRequest
    call = suite.gateway.stream_stream(
        "/samhandling.consent.v1.ConsentService/WatchPolicyChanges",
        request_serializer=watch.SerializeToString,
        response_deserializer=consent_pb2.WatchPolicyChangesResponse.FromString,
    )(metadata=await suite.auth("demo-ehr"))
    await write_unless_ended(call, watch(subscribe=watch.Subscribe(subscriber_id="intruder")))
    await expect_error(call.read(), grpc.StatusCode.PERMISSION_DENIED, "METHOD_NOT_ALLOWED")
