"""Whom a person represents, and a patient's access log narrowed by filters, through the real
gateway with real tokens from the dev STS (gRPC and the JSON API): ListRepresentations is the
caller's own data, decided by consent and audited as such; ListEvents' filters narrow the log
the way the web page "Logg over bruk" asks it to."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import grpc
import httpx
import sqlalchemy as sa

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2, consent_pb2_grpc
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.audit.models import AuditEventRow
from services.cli.token import Identity, Token, obtain_token
from services.platform.dpop import grpc_target, make_proof
from services.platform.protomap import to_timestamp
from tests.fixtures import people
from tests.fixtures.patient_calls import as_patient
from tests.support import Suite, expect_error

FRIDA, JONAS = people.FRIDA, people.JONAS
LEGEVAKT, BODO = "910000039", "910000012"
LIST_REPRESENTATIONS = "/samhandling.consent.v1.ConsentService/ListRepresentations"
GET_SUMMARY = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"


def dpop(suite: Suite, token: Token, method: str, *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    assert token.dpop_key is not None
    proof = make_proof(
        token.dpop_key, "POST", grpc_target(suite.settings.gateway_public_url, method), access_token=token.access_token
    )
    return (("authorization", f"DPoP {token.access_token}"), ("dpop", proof), *extra)


async def test_a_guardian_lists_whom_he_represents_and_the_read_is_audited_as_his_own(suite) -> None:
    consent = consent_pb2_grpc.ConsentServiceStub(suite.gateway)
    mikkel = await as_patient(suite.settings, people.MIKKEL)

    answer = await consent.ListRepresentations(consent_pb2.ListRepresentationsRequest(), metadata=mikkel)

    shown = [(r.representation_id, r.patient_id, r.patient_name, r.kind, r.status) for r in answer.representations]
    guardian = consent_pb2.REPRESENTATION_KIND_GUARDIAN
    assert shown == [  # Liv's power of attorney (rep-seed-0002) is Astrid's, not his
        ("rep-seed-0001", FRIDA, "Frida Fantasisen", guardian, consent_pb2.REPRESENTATION_STATUS_IN_FORCE),
        ("rep-seed-0003", JONAS, "Jonas Jubileumsen", guardian, consent_pb2.REPRESENTATION_STATUS_CHILD_TURNED_12),
    ]
    frida = answer.representations[0]
    assert frida.valid_from.ToDatetime(UTC) == datetime(2022, 1, 26, tzinfo=UTC)
    assert frida.valid_until.ToDatetime(UTC) == datetime(2034, 1, 26, tzinfo=UTC)
    # The status is what consent then decides: he may act for Frida, no longer for Jonas.
    await consent.ListRules(consent_pb2.ListRulesRequest(patient_id=FRIDA), metadata=mikkel)
    await expect_error(
        consent.ListRules(consent_pb2.ListRulesRequest(patient_id=JONAS), metadata=mikkel),
        grpc.StatusCode.PERMISSION_DENIED,
        "CONSENT_DENIED",
    )

    # The read is in the log as a read of his own consent data, by him, and he sees it there.
    own = await audit_pb2_grpc.AuditServiceStub(suite.gateway).ListEvents(
        audit_pb2.ListEventsRequest(patient_id=people.MIKKEL), metadata=mikkel
    )
    [read] = [e for e in own.events if e.data_category == common_pb2.DATA_CATEGORY_CONSENT]
    assert (read.actor.kind, read.action, read.access_basis, read.decision) == (
        common_pb2.ACTOR_KIND_PATIENT,
        audit_pb2.ACTION_READ,
        common_pb2.ACCESS_BASIS_OWN_DATA,
        common_pb2.DECISION_PERMIT,
    )
    engine = sa.create_engine(suite.settings.database_url("audit"))
    try:
        with engine.connect() as connection:
            stored = connection.execute(
                sa.select(AuditEventRow.patient_id, AuditEventRow.actor_pid, AuditEventRow.decided_by).where(
                    AuditEventRow.method == LIST_REPRESENTATIONS
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in stored] == [(people.MIKKEL, people.MIKKEL, "default:own-data")]


async def test_only_a_patient_login_lists_representations(suite) -> None:
    consent = consent_pb2_grpc.ConsentServiceStub(suite.gateway)
    lars = await obtain_token(suite.settings, Identity("demo-legevakt", user=people.LARS), dpop=True)
    await expect_error(
        consent.ListRepresentations(
            consent_pb2.ListRepresentationsRequest(), metadata=dpop(suite, lars, LIST_REPRESENTATIONS)
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "PRINCIPAL_NOT_ALLOWED",
    )
    await expect_error(
        consent.ListRepresentations(consent_pb2.ListRepresentationsRequest(), metadata=await suite.auth("demo-ehr")),
        grpc.StatusCode.PERMISSION_DENIED,
        "PRINCIPAL_NOT_ALLOWED",
    )
    # Someone who represents nobody gets an empty list.
    eskil = await consent.ListRepresentations(
        consent_pb2.ListRepresentationsRequest(), metadata=await as_patient(suite.settings, people.ESKIL)
    )
    assert list(eskil.representations) == []


async def test_the_json_api_lists_representations_and_filters_the_access_log(suite) -> None:
    # Gunnar's log: a Bodø EHR read, an emergency opening his restriction at the legevakt, his own reads.
    summary = summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway)
    await summary.GetPatientSummary(
        summary_pb2.GetPatientSummaryRequest(patient_id=people.GUNNAR), metadata=await suite.auth("demo-ehr")
    )
    before_emergency = datetime.now(UTC)
    lars = await obtain_token(suite.settings, Identity("demo-legevakt", user=people.LARS, purpose="ETREAT"), dpop=True)
    await summary.GetPatientSummary(
        summary_pb2.GetPatientSummaryRequest(patient_id=people.GUNNAR),
        metadata=dpop(suite, lars, GET_SUMMARY, ("x-samhandling-justification", quote("Bevisstløs, trenger målinger"))),
    )
    base = f"http://{suite.settings.addresses['gateway_http']}/api/v1"
    log_url = f"{base}/patients/{people.GUNNAR}/access-log"
    async with httpx.AsyncClient(timeout=30.0) as client:
        mikkel = dict(await as_patient(suite.settings, people.MIKKEL))
        listed = (await client.get(f"{base}/representations", headers=mikkel)).json()["representations"]
        assert [(r["patientName"], r["status"]) for r in listed] == [
            ("Frida Fantasisen", "REPRESENTATION_STATUS_IN_FORCE"),
            ("Jonas Jubileumsen", "REPRESENTATION_STATUS_CHILD_TURNED_12"),
        ]

        gunnar = dict(await as_patient(suite.settings, people.GUNNAR))

        async def log(**params: str) -> list[dict]:
            answer = await client.get(log_url, headers=gunnar, params=params)
            assert answer.status_code == 200, answer.text[:300]
            return answer.json().get("events", [])

        everything = await log()
        kinds = {e["actor"]["kind"] for e in everything}
        assert {"ACTOR_KIND_SYSTEM", "ACTOR_KIND_PERSONNEL", "ACTOR_KIND_PATIENT"} <= kinds  # his first read is in
        others = await log(excludePatientActors="true")
        assert others and all(e["actor"]["kind"] != "ACTOR_KIND_PATIENT" for e in others)
        [flagged] = await log(flaggedOnly="true", excludePatientActors="true")
        assert (flagged["actor"]["orgnrChild"], flagged["dataCategory"]) == (LEGEVAKT, "DATA_CATEGORY_VITAL_SIGNS")
        assert flagged["purposeOfUse"] == "PURPOSE_OF_USE_ETREAT" and flagged["justification"] == ""  # never shown
        at_legevakt = await log(actorOrgnr=LEGEVAKT)  # both categories of Lars's one read
        assert len(at_legevakt) == 2 and {e["actor"]["orgnrChild"] for e in at_legevakt} == {LEGEVAKT}
        assert {e["actor"]["orgnrParent"] for e in await log(actorOrgnr=BODO, excludePatientActors="true")} == {BODO}
        since = to_timestamp(before_emergency).ToJsonString()
        later = await log(startTime=since, excludePatientActors="true")
        assert [e["actor"]["orgnrChild"] for e in later] == [LEGEVAKT, LEGEVAKT]
        # Paged by one, with the token bound to the filters.
        first = (
            await client.get(log_url, headers=gunnar, params={"excludePatientActors": "true", "pageSize": "1"})
        ).json()
        assert len(first["events"]) == 1 and first["nextPageToken"]
        again = await client.get(log_url, headers=gunnar, params={"pageSize": "1", "pageToken": first["nextPageToken"]})
        assert again.status_code == 400
        assert [v["field"] for v in again.json()["error"]["fieldViolations"]] == ["page_token"]
        # A range that ends before it starts, and an organisation number that is not one.
        bad = await client.get(
            log_url, headers=gunnar, params={"startTime": since, "endTime": since, "actorOrgnr": "910000013"}
        )
        assert bad.status_code == 400
        assert {v["field"] for v in bad.json()["error"]["fieldViolations"]} == {"end_time", "actor_orgnr"}
