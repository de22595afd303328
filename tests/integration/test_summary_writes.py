"""Writes to the summary service from source systems (OKT records, vital signs, the SpO2
scale) over real gRPC with a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select

from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.platform.db import make_engine
from services.platform.errors import error_info
from services.summary.models import MunicipalServiceRow, VitalSignsRow
from services.summary.patients import MAX_OPEN_SERVICES
from tests.fixtures import people
from tests.fixtures.summary_inputs import home_nursing, vital_signs
from tests.support import DEMO_EHR_ACTOR, asserted, expect_error, running_backend, settings_for

S = summary_pb2
P = "/samhandling.summary.v1.PatientSummaryService/"
SERVICES = common_pb2.DATA_CATEGORY_MUNICIPAL_SERVICES
VITALS = common_pb2.DATA_CATEGORY_VITAL_SIGNS
SIGRID = common_pb2.Actor(
    kind=common_pb2.ACTOR_KIND_PERSONNEL,
    client_id="demo-legevakt",
    pid=people.SIGRID,
    name="Sigrid Sykepleiersen",
    hpr_number=people.SIGRID_HPR,
    authorization="SP",
    orgnr_parent="910000012",
    orgnr_child="910000020",
)


@pytest.fixture
def settings(tmp_path, db_url):
    return settings_for(tmp_path, summary=db_url)


@pytest.fixture
async def stub(settings):
    async with running_backend("summary", settings) as channel:
        yield summary_pb2_grpc.PatientSummaryServiceStub(channel)


def meta(settings, method: str, patient_id: str, category: int, actor=DEMO_EHR_ACTOR):
    return asserted(settings, "summary", P + method, actor=actor, patient_id=patient_id, data_categories=(category,))


async def create(stub, settings, record_id: str, service: S.MunicipalServiceInput, patient_id: str = people.TOR):
    return await stub.CreateMunicipalService(
        S.CreateMunicipalServiceRequest(patient_id=patient_id, source_record_id=record_id, service=service),
        metadata=meta(settings, "CreateMunicipalService", patient_id, SERVICES),
    )


async def status(stub, settings) -> int:
    answer = await stub.GetMunicipalServiceStatus(
        S.GetMunicipalServiceStatusRequest(patient_id=people.TOR),
        metadata=meta(settings, "GetMunicipalServiceStatus", people.TOR, SERVICES),
    )
    return answer.active_service_count


def count(settings, model) -> int:
    engine = make_engine(settings.database_urls["summary"])
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(model))
    finally:
        engine.dispose()


async def test_the_same_create_twice_is_one_record_and_an_update_changes_it(stub, settings):
    before_rows, before_active = count(settings, MunicipalServiceRow), await status(stub, settings)
    first = await create(stub, settings, "ehr-77", home_nursing())
    again = await create(stub, settings, "ehr-77", home_nursing())
    assert first.created and not again.created
    assert again.service == first.service
    assert first.service.source_system == "demo-ehr" and first.service.provider_orgnr == "910000020"
    assert count(settings, MunicipalServiceRow) == before_rows + 1
    assert await status(stub, settings) == before_active + 1

    # Other content under the same source id is a conflict, never a silent overwrite.
    await expect_error(
        create(stub, settings, "ehr-77", home_nursing(weekly_extent="9 timer")),
        grpc.StatusCode.ALREADY_EXISTS,
        "SOURCE_RECORD_CONFLICT",
    )

    updated = await stub.UpdateMunicipalService(
        S.UpdateMunicipalServiceRequest(
            patient_id=people.TOR,
            source_record_id="ehr-77",
            service=home_nursing(weekly_extent="9 timer", iplos_code="06"),
        ),
        metadata=meta(settings, "UpdateMunicipalService", people.TOR, SERVICES),
    )
    assert updated.service.service_id == first.service.service_id
    # An old client's padded "06" is stored and answered as 9151 writes it.
    assert (updated.service.weekly_extent, updated.service.iplos_code, updated.service.iplos_display) == (
        "9 timer",
        "6",
        "Trygghetsalarm",
    )
    assert count(settings, MunicipalServiceRow) == before_rows + 1

    on_hold = await stub.SetMunicipalServiceOnHold(
        S.SetMunicipalServiceOnHoldRequest(patient_id=people.TOR, source_record_id="ehr-77", on_hold=True),
        metadata=meta(settings, "SetMunicipalServiceOnHold", people.TOR, SERVICES),
    )
    assert on_hold.service.temporarily_ceased and not on_hold.service.active
    assert await status(stub, settings) == before_active

    await expect_error(
        stub.EndMunicipalService(
            S.EndMunicipalServiceRequest(
                patient_id=people.TOR, source_record_id="ehr-77", end_date=common_pb2.Date(year=2025, month=12, day=31)
            ),
            metadata=meta(settings, "EndMunicipalService", people.TOR, SERVICES),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
    )
    ended = await stub.EndMunicipalService(
        S.EndMunicipalServiceRequest(
            patient_id=people.TOR, source_record_id="ehr-77", end_date=common_pb2.Date(year=2026, month=2, day=1)
        ),
        metadata=meta(settings, "EndMunicipalService", people.TOR, SERVICES),
    )
    assert ended.service.end_date.month == 2 and not ended.service.active


async def test_invalid_records_are_refused_with_field_violations_and_write_nothing(stub, settings):
    before = count(settings, MunicipalServiceRow)
    violations = await expect_error(
        create(
            stub,
            settings,
            "ehr-1",
            home_nursing(iplos_code="16", provider_orgnr="123", end_date=common_pb2.Date(year=2025, month=1, day=1)),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
    )
    assert set(violations) == {"service.iplos_code", "service.provider_orgnr", "service.end_date"}
    violations = await expect_error(
        create(stub, settings, "", S.MunicipalServiceInput(iplos_code="006")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
    )
    assert set(violations) == {"source_record_id", "service.iplos_code", "service.start_date"}
    violations = await expect_error(
        create(stub, settings, "ehr-2", home_nursing(), patient_id="16758532405"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
    )
    assert set(violations) == {"patient_id"}
    assert count(settings, MunicipalServiceRow) == before


async def test_a_system_changes_only_its_own_records(stub, settings):
    await create(stub, settings, "ehr-9", home_nursing())
    other = common_pb2.Actor(
        kind=common_pb2.ACTOR_KIND_SYSTEM, client_id="other-ehr", orgnr_parent="910000012", orgnr_child="910000020"
    )
    await expect_error(
        stub.SetMunicipalServiceOnHold(
            S.SetMunicipalServiceOnHoldRequest(patient_id=people.TOR, source_record_id="ehr-9", on_hold=True),
            metadata=meta(settings, "SetMunicipalServiceOnHold", people.TOR, SERVICES, actor=other),
        ),
        grpc.StatusCode.NOT_FOUND,
        "SERVICE_NOT_FOUND",
    )
    # Nor through another patient's id.
    eskil = people.ESKIL
    await expect_error(
        stub.SetMunicipalServiceOnHold(
            S.SetMunicipalServiceOnHoldRequest(patient_id=eskil, source_record_id="ehr-9", on_hold=True),
            metadata=meta(settings, "SetMunicipalServiceOnHold", eskil, SERVICES),
        ),
        grpc.StatusCode.NOT_FOUND,
        "SERVICE_NOT_FOUND",
    )


async def record(
    stub, settings, record_id: str, signs: S.VitalSigns, patient_id: str = people.TOR, actor=DEMO_EHR_ACTOR
):
    return await stub.RecordVitalSigns(
        S.RecordVitalSignsRequest(patient_id=patient_id, source_record_id=record_id, vital_signs=signs),
        metadata=meta(settings, "RecordVitalSigns", patient_id, VITALS, actor=actor),
    )


async def test_recording_vital_signs_scores_news2_and_retries_are_safe(stub, settings):
    before = count(settings, VitalSignsRow)
    answer = await record(stub, settings, "obs-1", vital_signs())
    # 22/min 2, SpO2 95 % 1, air 0, BP 105 1, pulse 95 1, alert 0, 38.4 °C 1.
    n = answer.news2
    assert answer.created and n.scored and n.total == 6
    assert (
        n.parameters.respiration_rate,
        n.parameters.spo2,
        n.parameters.air_or_oxygen,
        n.parameters.systolic_bp,
        n.parameters.pulse,
        n.parameters.consciousness,
        n.parameters.temperature,
    ) == (2, 1, 0, 1, 1, 0, 1)
    assert (n.clinical_risk, n.red_score, n.spo2_scale, n.charted_temperature) == (
        S.CLINICAL_RISK_MEDIUM,
        False,
        1,
        "38.4",
    )
    retry = await record(stub, settings, "obs-1", vital_signs())
    assert not retry.created and retry.measurement_id == answer.measurement_id and retry.news2 == answer.news2
    await expect_error(
        record(stub, settings, "obs-1", vital_signs(pulse=140)),
        grpc.StatusCode.ALREADY_EXISTS,
        "SOURCE_RECORD_CONFLICT",
    )
    assert count(settings, VitalSignsRow) == before + 1


async def test_implausible_vital_signs_are_refused_field_by_field(stub, settings):
    before = count(settings, VitalSignsRow)
    bad = S.VitalSigns(
        measure_time=datetime.now(UTC) + timedelta(hours=1),
        respiration_rate=-1,
        spo2=101,
        systolic_bp=400,
        pulse=-5,
        temperature_celsius=50.0,
        spo2_scale=3,
    )
    violations = await expect_error(
        record(stub, settings, "obs-bad", bad), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"
    )
    assert set(violations) == {
        "vital_signs.measure_time",
        "vital_signs.respiration_rate",
        "vital_signs.spo2",
        "vital_signs.spo2_scale",
        "vital_signs.on_oxygen",
        "vital_signs.systolic_bp",
        "vital_signs.pulse",
        "vital_signs.consciousness",
        "vital_signs.temperature_celsius",
    }
    assert count(settings, VitalSignsRow) == before


async def test_scale_2_only_after_a_clinician_sets_it(stub, settings):
    on_oxygen = vital_signs(spo2=97, on_oxygen=True)
    scale_1 = await record(stub, settings, "obs-a", on_oxygen)
    assert (scale_1.news2.spo2_scale, scale_1.news2.parameters.spo2) == (1, 0)
    await expect_error(
        stub.SetSpo2Scale(
            S.SetSpo2ScaleRequest(patient_id=people.TOR, scale=2),
            metadata=meta(settings, "SetSpo2Scale", people.TOR, VITALS),
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "CLINICIAN_REQUIRED",
    )
    setting = (
        await stub.SetSpo2Scale(
            S.SetSpo2ScaleRequest(patient_id=people.TOR, scale=2),
            metadata=meta(settings, "SetSpo2Scale", people.TOR, VITALS, actor=SIGRID),
        )
    ).setting
    assert (setting.scale, setting.set_by.hpr_number, setting.set_by.name) == (
        2,
        people.SIGRID_HPR,
        "Sigrid Sykepleiersen",
    )
    assert setting.HasField("set_time")
    scale_2 = await record(
        stub,
        settings,
        "obs-b",
        vital_signs(spo2=97, on_oxygen=True, measure_time=datetime(2026, 1, 5, 9, tzinfo=UTC)),
        actor=SIGRID,
    )
    # Scale 2: >= 97 % on oxygen scores 3 (a red score).
    assert (scale_2.news2.spo2_scale, scale_2.news2.parameters.spo2, scale_2.news2.red_score) == (2, 3, True)
    assert scale_2.vital_signs.spo2_scale == 2
    listed = await stub.ListVitalSigns(
        S.ListVitalSignsRequest(
            patient_id=people.TOR, from_time=datetime(2026, 1, 5, tzinfo=UTC), to_time=datetime(2026, 1, 6, tzinfo=UTC)
        ),
        metadata=meta(settings, "ListVitalSigns", people.TOR, VITALS),
    )
    # The earlier measurement keeps the scale it was scored with; the health person is named.
    assert [(m.source_record_id, m.news2.spo2_scale) for m in listed.measurements] == [("obs-a", 1), ("obs-b", 2)]
    assert listed.measurements[1].measured_by.hpr_number == people.SIGRID_HPR
    assert not listed.measurements[0].HasField("measured_by")
    assert listed.trend.direction == S.TREND_DIRECTION_WORSENING
    assert listed.trend.change == scale_2.news2.total - scale_1.news2.total > 0


async def test_no_news2_for_children_or_in_pregnancy_and_the_reason_is_given(stub, settings):
    child = await record(stub, settings, "obs-child", vital_signs(), patient_id=people.FRIDA)
    assert (child.news2.scored, child.news2.not_scored_reason, child.news2.total) == (
        False,
        S.NOT_SCORED_REASON_UNDER_16,
        0,
    )
    pregnant = await record(stub, settings, "obs-preg", vital_signs(pregnant=True))
    assert (pregnant.news2.scored, pregnant.news2.not_scored_reason) == (False, S.NOT_SCORED_REASON_PREGNANT)


async def test_list_range_is_validated(stub, settings):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for request, field in [
        (S.ListVitalSignsRequest(patient_id=people.TOR), "from_time"),
        (S.ListVitalSignsRequest(patient_id=people.TOR, from_time=start, to_time=start), "to_time"),
        (
            S.ListVitalSignsRequest(patient_id=people.TOR, from_time=start, to_time=start + timedelta(days=367)),
            "to_time",
        ),
    ]:
        violations = await expect_error(
            stub.ListVitalSigns(request, metadata=meta(settings, "ListVitalSigns", people.TOR, VITALS)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
        )
        assert set(violations) == {field}


async def test_the_fhir_bundle_validates_and_leaves_out_withheld_categories(stub, settings):
    await record(stub, settings, "obs-f", vital_signs())
    both = asserted(
        settings, "summary", P + "ExportPatientBundle", patient_id=people.TOR, data_categories=(SERVICES, VITALS)
    )
    answer = await stub.ExportPatientBundle(S.ExportPatientBundleRequest(patient_id=people.TOR), metadata=both)
    bundle = json.loads(answer.bundle_json)
    Bundle.model_validate(bundle)
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds.count("Patient") == 1 and "EpisodeOfCare" in kinds and "Observation" in kinds
    news2 = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and any(c.get("code") == "1104051000000101" for c in e["resource"]["code"].get("coding", []))
    ]
    assert news2 and news2[-1]["valueInteger"] == 6 and len(news2[-1]["component"]) >= 7
    assert not answer.withheld_categories

    services_only = meta(settings, "ExportPatientBundle", people.TOR, SERVICES)
    answer = await stub.ExportPatientBundle(S.ExportPatientBundleRequest(patient_id=people.TOR), metadata=services_only)
    bundle = json.loads(answer.bundle_json)
    Bundle.model_validate(bundle)
    assert "Observation" not in [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert list(answer.withheld_categories) == [VITALS]
    assert [t["code"] for t in bundle["meta"]["tag"]] == ["withheld-VITAL_SIGNS"]


async def test_times_out_of_range_or_before_birth_are_field_violations(stub, settings):
    from google.protobuf.timestamp_pb2 import Timestamp

    before = count(settings, VitalSignsRow)
    for signs, reason in [
        (vital_signs(measure_time=Timestamp(seconds=0, nanos=-1)), "not a valid timestamp"),
        (vital_signs(measure_time=datetime(1970, 1, 1, tzinfo=UTC)), "before the patient was born"),  # Tor: 1985
    ]:
        violations = await expect_error(
            record(stub, settings, "obs-time", signs), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"
        )
        assert set(violations) == {"vital_signs.measure_time"} and reason in violations["vital_signs.measure_time"]
    violations = await expect_error(
        stub.ListVitalSigns(
            S.ListVitalSignsRequest(patient_id=people.TOR, from_time={"seconds": 0, "nanos": -5}),
            metadata=meta(settings, "ListVitalSigns", people.TOR, VITALS),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
    )
    assert set(violations) == {"from_time"}
    assert count(settings, VitalSignsRow) == before


async def test_a_health_person_records_as_themselves(stub, settings):
    other = S.Performer(hpr_number=people.LARS_HPR, name="Lars Legevaktsen")
    request = S.RecordVitalSignsRequest(
        patient_id=people.TOR, source_record_id="obs-p", vital_signs=vital_signs(), measured_by=other
    )
    violations = await expect_error(
        stub.RecordVitalSigns(request, metadata=meta(settings, "RecordVitalSigns", people.TOR, VITALS, actor=SIGRID)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
    )
    assert set(violations) == {"measured_by.hpr_number"}
    # A system names who measured.
    request.source_record_id = "obs-s"
    by_system = await stub.RecordVitalSigns(request, metadata=meta(settings, "RecordVitalSigns", people.TOR, VITALS))
    listed = await stub.ListVitalSigns(
        S.ListVitalSignsRequest(
            patient_id=people.TOR, from_time=datetime(2026, 1, 5, tzinfo=UTC), to_time=datetime(2026, 1, 6, tzinfo=UTC)
        ),
        metadata=meta(settings, "ListVitalSigns", people.TOR, VITALS),
    )
    assert [m.measured_by.hpr_number for m in listed.measurements if m.measurement_id == by_system.measurement_id] == [
        people.LARS_HPR
    ]


async def test_a_retry_after_the_scale_changed_is_still_the_same_measurement(stub, settings):
    first = await record(stub, settings, "obs-r", vital_signs(spo2=97, on_oxygen=True))
    await stub.SetSpo2Scale(
        S.SetSpo2ScaleRequest(patient_id=people.TOR, scale=2),
        metadata=meta(settings, "SetSpo2Scale", people.TOR, VITALS, actor=SIGRID),
    )
    retry = await record(stub, settings, "obs-r", vital_signs(spo2=97, on_oxygen=True))
    assert (retry.created, retry.measurement_id, retry.news2.spo2_scale) == (False, first.measurement_id, 1)
    repeating = await record(stub, settings, "obs-r", vital_signs(spo2=97, on_oxygen=True, spo2_scale=1))
    assert (repeating.created, repeating.measurement_id) == (False, first.measurement_id)
    # A new measurement may repeat only the scale now in force.
    violations = await expect_error(
        record(stub, settings, "obs-r2", vital_signs(spo2=97, on_oxygen=True, spo2_scale=1)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
    )
    assert set(violations) == {"vital_signs.spo2_scale"}
    summary = await stub.GetPatientSummary(
        S.GetPatientSummaryRequest(patient_id=people.TOR),
        metadata=meta(settings, "GetPatientSummary", people.TOR, VITALS),
    )
    setting = summary.spo2_scale_setting
    assert (setting.scale, setting.set_by.hpr_number) == (2, people.SIGRID_HPR)


async def test_an_export_over_its_size_keeps_the_newest_measurements_and_says_so(stub, settings, monkeypatch):
    from services.summary import use_cases

    for hour in range(8, 12):
        await record(
            stub, settings, f"obs-size-{hour}", vital_signs(measure_time=datetime(2026, 1, 5, hour, tzinfo=UTC))
        )

    def vitals_only():  # an assertion is good for one call
        return meta(settings, "ExportPatientBundle", people.TOR, VITALS)

    whole = await stub.ExportPatientBundle(S.ExportPatientBundleRequest(patient_id=people.TOR), metadata=vitals_only())
    assert not whole.truncated
    monkeypatch.setattr(use_cases, "MAX_BUNDLE_BYTES", len(whole.bundle_json.encode()) - 1)
    cut = await stub.ExportPatientBundle(S.ExportPatientBundleRequest(patient_id=people.TOR), metadata=vitals_only())
    bundle = json.loads(cut.bundle_json)
    Bundle.model_validate(bundle)
    assert cut.truncated and [t["code"] for t in bundle["meta"]["tag"]] == [
        "withheld-MUNICIPAL_SERVICES",
        "truncated-VITAL_SIGNS",
    ]

    def times(text: str) -> set[str]:
        return {
            e["resource"]["effectiveDateTime"]
            for e in json.loads(text)["entry"]
            if e["resource"]["resourceType"] == "Observation"
        }

    kept = times(cut.bundle_json)
    assert kept and kept < times(whole.bundle_json)
    assert max(times(whole.bundle_json)) in kept  # the newest stays


async def test_concurrent_creates_never_pass_the_open_services_limit(stub, settings):
    seeded = await status(stub, settings)  # Tor's seeded services are open
    for n in range(MAX_OPEN_SERVICES - seeded - 5):
        await create(stub, settings, f"limit-{n}", home_nursing())
    results = await asyncio.gather(
        *(create(stub, settings, f"race-{n}", home_nursing()) for n in range(10)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(results) - len(refused) == 5
    assert {(r.code(), error_info(r)[0]) for r in refused} == {
        (grpc.StatusCode.FAILED_PRECONDITION, "OPEN_SERVICES_LIMIT")
    }
    assert await status(stub, settings) == MAX_OPEN_SERVICES
