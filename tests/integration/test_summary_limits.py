"""One system must not be able to break a patient for everyone (docs/limits.md): a municipal
EHR writing maximum-size OKT records through the gateway meets the open-record limit, and the
patient's summary and FHIR export stay readable, capped with a `truncated` signal, however many
ended records pile up (records are never deleted)."""

from __future__ import annotations

import asyncio
import json

import grpc
import httpx
import pytest

from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.platform.errors import error_info
from services.summary.patients import MAX_OPEN_SERVICES, MAX_SUMMARY_SERVICES
from tests.fixtures import people
from tests.fixtures.patient_calls import as_patient

S = summary_pb2
GRPC_LIMIT = 4 * 1024 * 1024
LONGEST = "𝄞"  # 4 bytes in UTF-8: texts of maximum length are also of maximum size


def largest(n: int, *, ended: bool) -> S.MunicipalServiceInput:
    return S.MunicipalServiceInput(
        iplos_code="15",
        start_date=common_pb2.Date(year=2024, month=1 + n % 12, day=1 + n % 28),
        end_date=common_pb2.Date(year=2025, month=1, day=31) if ended else None,
        service_level=LONGEST * 200,
        weekly_extent=LONGEST * 100,
        description=LONGEST * 1000,
        stay_type=S.STAY_TYPE_SHORT_TERM,
    )


def record_id(kind: str, n: int) -> str:
    return f"{kind}-{n:04d}-".ljust(64, "x")  # the longest source_record_id


async def refused(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return err.value.code(), error_info(err.value)[0]


async def test_a_patient_stays_readable_whatever_one_system_writes(suite):
    stub = summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway)
    ehr = await suite.auth("demo-ehr")

    async def create(kind: str, numbers: range, *, ended: bool) -> None:
        for start in range(numbers.start, numbers.stop, 10):
            await asyncio.gather(
                *(
                    stub.CreateMunicipalService(
                        S.CreateMunicipalServiceRequest(
                            patient_id=people.TOR,
                            source_record_id=record_id(kind, n),
                            service=largest(n, ended=ended),
                        ),
                        metadata=ehr,
                    )
                    for n in range(start, min(start + 10, numbers.stop))
                )
            )

    # The seeded record is open: the EHR may open MAX_OPEN_SERVICES - 1 more, then no more.
    await create("open", range(MAX_OPEN_SERVICES - 1), ended=False)
    one_more = S.CreateMunicipalServiceRequest(
        patient_id=people.TOR, source_record_id="open-extra", service=largest(0, ended=False)
    )
    assert await refused(stub.CreateMunicipalService(one_more, metadata=ehr)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "OPEN_SERVICES_LIMIT",
    )
    # Ended records are not limited (they are the patient's history), so they pile up past the cap.
    await create("ended", range(MAX_SUMMARY_SERVICES), ended=True)
    reopen = S.UpdateMunicipalServiceRequest(
        patient_id=people.TOR, source_record_id=record_id("ended", 0), service=largest(0, ended=False)
    )
    assert await refused(stub.UpdateMunicipalService(reopen, metadata=ehr)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "OPEN_SERVICES_LIMIT",
    )

    patient = await as_patient(suite.settings, people.TOR)
    for reader in (patient, ehr):
        summary = await stub.GetPatientSummary(S.GetPatientSummaryRequest(patient_id=people.TOR), metadata=reader)
        services = list(summary.municipal_services)
        assert (len(services), summary.municipal_services_truncated) == (MAX_SUMMARY_SERVICES, True)
        assert sum(not s.HasField("end_date") for s in services) == MAX_OPEN_SERVICES  # every open one is there
        assert summary.active_service_count == MAX_OPEN_SERVICES
        starts = [(s.start_date.year, s.start_date.month, s.start_date.day) for s in services]
        assert starts == sorted(starts, reverse=True)  # newest start first, as documented
        assert summary.ByteSize() < GRPC_LIMIT // 2

        exported = await stub.ExportPatientBundle(S.ExportPatientBundleRequest(patient_id=people.TOR), metadata=reader)
        assert exported.municipal_services_truncated and exported.ByteSize() < GRPC_LIMIT
        bundle = json.loads(exported.bundle_json)
        assert {"system": bundle["meta"]["tag"][0]["system"], "code": "truncated-MUNICIPAL_SERVICES"} in bundle["meta"][
            "tag"
        ]
        status = await stub.GetMunicipalServiceStatus(
            S.GetMunicipalServiceStatusRequest(patient_id=people.TOR), metadata=reader
        )
        assert status.active_service_count == MAX_OPEN_SERVICES

    base = f"http://{suite.settings.addresses['gateway_http']}/api/v1/patients/{people.TOR}"
    async with httpx.AsyncClient(timeout=30.0) as client:
        for path in ("summary", "fhir"):
            answer = await client.get(f"{base}/{path}", headers=dict(patient))
            assert answer.status_code == 200, answer.text[:500]
    assert (
        json.loads((await httpx.AsyncClient(timeout=30.0).get(f"{base}/summary", headers=dict(patient))).text)[
            "municipalServicesTruncated"
        ]
        is True
    )

    # Ending one open record makes room for another.
    await stub.EndMunicipalService(
        S.EndMunicipalServiceRequest(
            patient_id=people.TOR,
            source_record_id=record_id("open", 0),
            end_date=common_pb2.Date(year=2025, month=2, day=1),
        ),
        metadata=ehr,
    )
    assert (await stub.CreateMunicipalService(one_more, metadata=ehr)).created
