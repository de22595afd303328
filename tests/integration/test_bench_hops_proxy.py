"""The hop bench's servers (issue 15): the bare proxy forwards bytes to the real summary service
with a signed assertion, and to the fixed-response backend without."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import grpc

from bench import hops
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.backend_lookup import backend
from services.platform.assertion import AssertionSigner
from services.platform.keys import load_jwk
from tests.support import backend_replicas, expect_error, settings_for

REQUEST = summary_pb2.GetPatientSummaryRequest(patient_id=hops.PATIENT)


@contextlib.asynccontextmanager
async def served(handler: grpc.GenericRpcHandler) -> AsyncIterator[str]:
    server, port = await hops.start_server(handler)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(grace=0)


@contextlib.asynccontextmanager
async def proxy(to: str, signer: AssertionSigner | None) -> AsyncIterator[summary_pb2_grpc.PatientSummaryServiceStub]:
    async with (
        grpc.aio.insecure_channel(to) as upstream,
        served(hops.forwarding_handler(upstream, signer)) as address,
        grpc.aio.insecure_channel(address) as channel,
    ):
        yield summary_pb2_grpc.PatientSummaryServiceStub(channel)


async def test_the_proxy_signs_for_the_real_summary_and_the_floor_answers_its_bytes(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    signer = AssertionSigner(load_jwk(settings.assertion_signing_key(), settings))
    async with backend_replicas(backend("summary"), settings, count=1) as (summary,):
        async with proxy(summary.address, signer) as stub:
            answer = await stub.GetPatientSummary(REQUEST)
            again = await stub.GetPatientSummary(REQUEST)  # a fresh jti every call: no replay refused
        async with proxy(summary.address, None) as unsigned:  # the backend's refusal comes through as it is
            await expect_error(
                unsigned.GetPatientSummary(REQUEST), grpc.StatusCode.UNAUTHENTICATED, "ASSERTION_MISSING"
            )
    assert answer.patient_id == hops.PATIENT and answer.municipal_services and not answer.withheld_categories
    assert again == answer
    fixed = answer.SerializeToString()
    async with served(hops.fixed_answer_handler(fixed)) as backend_address, proxy(backend_address, None) as floor:
        call = floor.GetPatientSummary(summary_pb2.GetPatientSummaryRequest(patient_id="anything"))
        assert (await call).SerializeToString() == fixed and await call.code() == grpc.StatusCode.OK
