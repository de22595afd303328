"""The summary through the gateway: real STS tokens, consent, audit and the summary service.
Writes and reads are decided, audited with their action, and limited the way NHN limits OKT:
the patient's parent organisation, plus what the patient's rules allow."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import grpc
import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.platform.errors import error_info
from tests.fixtures import people
from tests.fixtures.patient_calls import as_patient

S = summary_pb2
SERVICES = common_pb2.DATA_CATEGORY_MUNICIPAL_SERVICES
VITALS = common_pb2.DATA_CATEGORY_VITAL_SIGNS


async def patient_log(suite, patient_id: str) -> list[audit_pb2.AuditEvent]:
    answer = await audit_pb2_grpc.AuditServiceStub(suite.gateway).ListEvents(
        audit_pb2.ListEventsRequest(patient_id=patient_id), metadata=await as_patient(suite.settings, patient_id)
    )
    return list(answer.events)


async def test_demo_ehr_writes_both_kinds_for_its_own_municipality_audited_as_writes(suite):
    stub = summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway)
    ehr = await suite.auth("demo-ehr")
    created = await stub.CreateMunicipalService(
        S.CreateMunicipalServiceRequest(
            patient_id=people.TOR,
            source_record_id="bodo-okt-1",
            service=S.MunicipalServiceInput(iplos_code="06", start_date=common_pb2.Date(year=2026, month=1, day=2)),
        ),
        metadata=ehr,
    )
    assert created.created and (created.service.iplos_code, created.service.iplos_display) == ("6", "Trygghetsalarm")
    await stub.SetMunicipalServiceOnHold(
        S.SetMunicipalServiceOnHoldRequest(patient_id=people.TOR, source_record_id="bodo-okt-1", on_hold=True),
        metadata=ehr,
    )
    measured = await stub.RecordVitalSigns(
        S.RecordVitalSignsRequest(
            patient_id=people.TOR,
            source_record_id="bodo-obs-1",
            vital_signs=S.VitalSigns(
                measure_time=datetime(2026, 1, 2, 9, tzinfo=UTC),
                respiration_rate=26,
                spo2=91,
                on_oxygen=True,
                systolic_bp=95,
                pulse=120,
                consciousness=S.CONSCIOUSNESS_VOICE,
                temperature_celsius=39.2,
            ),
        ),
        metadata=ehr,
    )
    # 3 + 3 + 2 + 2 + 2 + 3 + 2
    assert (measured.news2.total, measured.news2.clinical_risk) == (17, S.CLINICAL_RISK_HIGH)

    # The patient's own log shows what was done, by whom and on which basis (not the method).
    writes = sorted(
        (e.data_category, e.action, e.decision)
        for e in await patient_log(suite, people.TOR)
        if e.actor.client_id == "demo-ehr"
    )
    permit = common_pb2.DECISION_PERMIT
    assert writes == sorted(
        [
            (SERVICES, audit_pb2.ACTION_CREATE, permit),
            (SERVICES, audit_pb2.ACTION_UPDATE, permit),
            (VITALS, audit_pb2.ACTION_CREATE, permit),
        ]
    )


async def test_no_writes_for_another_municipalitys_patient(suite):
    stub = summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.CreateMunicipalService(
            S.CreateMunicipalServiceRequest(
                patient_id=people.ODD,
                source_record_id="bodo-okt-2",
                service=S.MunicipalServiceInput(iplos_code="06", start_date=common_pb2.Date(year=2026, month=1, day=2)),
            ),
            metadata=await suite.auth("demo-ehr"),
        )
    assert (err.value.code(), error_info(err.value)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "CONSENT_DENIED")
    denied = [e for e in await patient_log(suite, people.ODD) if e.actor.client_id == "demo-ehr"]
    assert [(e.action, e.decision) for e in denied] == [(audit_pb2.ACTION_CREATE, common_pb2.DECISION_DENY)]
    summary = await stub.GetPatientSummary(
        S.GetPatientSummaryRequest(patient_id=people.ODD), metadata=await as_patient(suite.settings, people.ODD)
    )
    assert "bodo-okt-2" not in {s.source_record_id for s in summary.municipal_services}


async def test_a_reader_outside_the_parent_organisation_gets_services_withheld_and_the_denial_is_logged(suite):
    stub = summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway)
    outside = await stub.GetPatientSummary(
        S.GetPatientSummaryRequest(patient_id=people.ESKIL), metadata=await suite.auth("demo-ehr-baerum")
    )
    assert list(outside.withheld_categories) == [SERVICES]
    assert not outside.municipal_services and outside.HasField("latest_news2")
    inside = await stub.GetPatientSummary(
        S.GetPatientSummaryRequest(patient_id=people.ESKIL), metadata=await suite.auth("demo-ehr")
    )
    assert inside.municipal_services and not inside.withheld_categories

    by_baerum = {
        e.data_category: e for e in await patient_log(suite, people.ESKIL) if e.actor.client_id == "demo-ehr-baerum"
    }
    assert by_baerum[SERVICES].decision == common_pb2.DECISION_DENY
    assert by_baerum[VITALS].decision == common_pb2.DECISION_PERMIT


async def test_a_patient_reads_their_summary_and_fhir_bundle_on_the_json_api(suite):
    base = f"http://{suite.settings.addresses['gateway_http']}/api/v1/patients/{people.ESKIL}"
    headers = dict(await as_patient(suite.settings, people.ESKIL))
    async with httpx.AsyncClient(timeout=10.0) as client:
        summary = await client.get(f"{base}/summary", headers=headers)
        fhir = await client.get(f"{base}/fhir", headers=headers)
        other = await client.get(
            f"http://{suite.settings.addresses['gateway_http']}/api/v1/patients/{people.TOR}/fhir", headers=headers
        )
    assert summary.status_code == 200, summary.text
    assert summary.json()["activeServiceCount"] == 1
    assert fhir.status_code == 200 and fhir.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(json.loads(fhir.content))
    assert {e.resource.__resource_type__ for e in bundle.entry} >= {"Patient", "EpisodeOfCare", "Observation"}
    assert other.status_code == 403  # another patient's data
