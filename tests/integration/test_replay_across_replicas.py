"""Single use across replicas (RFC 9449 section 11.1): two gateways on one database refuse a
DPoP proof the other accepted; two replicas of one backend on one database refuse an
assertion the other accepted; an assertion carries only its own request; and a replay store
that cannot answer refuses. A backend's read (a method it declares read-only) has its claim
beside the handler: a refused claim is the answer, whatever the handler made; a write's
handler is never entered unless its claim succeeded. On a SQLite file and on PostgreSQL (the
`db_url` fixture)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import grpc
import psycopg
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.engine import make_url

from gateway.main import create_gateway
from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.backend_lookup import backend
from services.cli.token import Identity, obtain_token
from services.platform import replay_store
from services.platform.dpop import grpc_target, make_proof
from services.platform.settings import Settings
from tests.fixtures import people
from tests.fixtures.backend_replicas import replica_channels
from tests.fixtures.spans import recording_spans
from tests.support import BindsAssertions, asserted, expect_error, running_suite, settings_for

PATIENT = people.ESKIL
SUMMARY = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"
OVERVIEW = "/samhandling.capacity.v1.CapacityService/GetCapacityOverview"
REPORT = "/samhandling.capacity.v1.CapacityService/ReportCapacity"
UNAUTHENTICATED, UNAVAILABLE = grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.UNAVAILABLE


@contextlib.contextmanager
def store_held(url: str) -> Iterator[None]:
    """Another transaction holds the replay table: SQLite's write lock, or PostgreSQL's
    ACCESS EXCLUSIVE lock on the table. A claim waits, then times out."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        holder = sqlite3.connect(parsed.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    else:
        with psycopg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False)) as holder:
            holder.execute("LOCK TABLE replay_claims IN ACCESS EXCLUSIVE MODE")
            yield
            holder.rollback()


# --- two gateways --------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def two_gateways(tmp_path, db_url: str) -> AsyncIterator[tuple[object, grpc.aio.Channel, InMemorySpanExporter]]:
    """The suite (its gateway is A) and a second gateway B on the same gateway database."""
    exporter, provider = recording_spans()
    async with running_suite(tmp_path, provider, database_urls={"gateway": db_url}) as suite:
        second = create_gateway(suite.settings, provider, address="127.0.0.1:0", http_address="127.0.0.1:0")
        port = await second.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield suite, channel, exporter
        finally:
            await second.stop(grace=0)


def backend_calls(exporter: InMemorySpanExporter) -> set[str]:
    """Server spans with a remote parent: calls the gateway forwarded to a backend."""
    return {s.name for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER and s.parent}


def read(channel: grpc.aio.Channel, metadata):
    stub = summary_pb2_grpc.PatientSummaryServiceStub(channel)
    return stub.GetPatientSummary(summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT), metadata=metadata)


def dpop_metadata(settings, token) -> tuple[tuple[str, str], ...]:
    """The token and a fresh proof of its key for GetPatientSummary at the gateway."""
    proof = make_proof(
        token.dpop_key, "POST", grpc_target(settings.gateway_public_url, SUMMARY), access_token=token.access_token
    )
    return (("authorization", f"DPoP {token.access_token}"), ("dpop", proof))


async def test_a_proof_accepted_by_one_gateway_is_a_replay_at_the_other(tmp_path, db_url):
    async with two_gateways(tmp_path, db_url) as (suite, second, exporter):
        token = await obtain_token(suite.settings, Identity(user=people.LARS, purpose="TREAT"), dpop=True)
        metadata = dpop_metadata(suite.settings, token)
        await read(suite.gateway, metadata)  # the honest call, at A
        exporter.clear()
        await expect_error(read(second, metadata), UNAUTHENTICATED, "DPOP_REPLAYED")  # the replay, at B
        assert backend_calls(exporter) == set()
        await read(second, dpop_metadata(suite.settings, token))  # B serves a proof of its own


async def test_a_gateway_whose_replay_store_cannot_answer_refuses(tmp_path, db_url, monkeypatch):
    monkeypatch.setattr(replay_store, "CLAIM_TIMEOUT_SECONDS", 1.0)  # the bound, shortened for the test
    async with two_gateways(tmp_path, db_url) as (suite, second, exporter):
        token = await obtain_token(suite.settings, Identity(user=people.LARS, purpose="TREAT"), dpop=True)
        metadata = dpop_metadata(suite.settings, token)
        exporter.clear()
        with store_held(db_url):
            await expect_error(read(second, metadata), UNAVAILABLE, "REPLAY_STORE_UNAVAILABLE")
        assert backend_calls(exporter) == set()
        await read(second, dpop_metadata(suite.settings, token))  # once the store answers, B serves again


# --- two replicas of one backend -----------------------------------------------------------


class Recording:
    """The capacity api, recording each GetCapacityOverview (a read) and ReportCapacity (a
    write) its handlers are given, as they enter."""

    def __init__(self, api) -> None:
        self.api = api
        self.calls: list[capacity_pb2.GetCapacityOverviewRequest] = []
        self.reports: list[capacity_pb2.ReportCapacityRequest] = []

    async def GetCapacityOverview(self, request, context):
        self.calls.append(request)
        return await self.api.GetCapacityOverview(request, context)

    async def ReportCapacity(self, request, context):
        self.reports.append(request)
        return await self.api.ReportCapacity(request, context)

    def __getattr__(self, name: str):
        return getattr(self.api, name)


@contextlib.asynccontextmanager
async def two_capacity_replicas(
    settings: Settings,
) -> AsyncIterator[tuple[list[capacity_pb2_grpc.CapacityServiceStub], list[Recording]]]:
    apis: list[Recording] = []

    def make_api(store, s):
        apis.append(Recording(base.make_api(store, s)))
        return apis[-1]

    base = backend("capacity")
    async with replica_channels(replace(base, make_api=make_api), settings, seed=True) as channels:
        yield [capacity_pb2_grpc.CapacityServiceStub(c) for c in channels], apis


def bound(settings: Settings, request, method: str = OVERVIEW) -> tuple[tuple[str, str], ...]:
    """An assertion bound to `request`, as the gateway signs it."""
    return BindsAssertions(settings).bind(asserted(settings, "capacity", method), request)


BED_REPORT = capacity_pb2.ReportCapacityRequest(
    unit_id="bodo-kad",
    resource_type="bed",
    total=100,
    available=7,
    occupied=93,
    status=capacity_pb2.CAPACITY_STATUS_NORMAL,
)


async def test_an_assertion_accepted_by_one_backend_replica_is_a_replay_at_the_other(tmp_path, db_url):
    settings = settings_for(tmp_path, capacity=db_url)
    async with two_capacity_replicas(settings) as ((a, b), (api_a, api_b)):
        request = capacity_pb2.GetCapacityOverviewRequest(region="Nordland")
        metadata = bound(settings, request)
        assert (await a.GetCapacityOverview(request, metadata=metadata)).units
        # A read: its handler may have run beside the claim, but only the refusal comes back.
        await expect_error(b.GetCapacityOverview(request, metadata=metadata), UNAUTHENTICATED, "ASSERTION_REPLAYED")
        await expect_error(a.GetCapacityOverview(request, metadata=metadata), UNAUTHENTICATED, "ASSERTION_REPLAYED")
        assert api_a.calls[0] == request and len(api_a.calls) <= 2 and len(api_b.calls) <= 1


async def test_a_replayed_write_never_enters_its_handler(tmp_path, db_url):
    settings = settings_for(tmp_path, capacity=db_url)
    async with two_capacity_replicas(settings) as ((a, b), (api_a, api_b)):
        metadata = bound(settings, BED_REPORT, REPORT)
        await a.ReportCapacity(BED_REPORT, metadata=metadata)
        await expect_error(b.ReportCapacity(BED_REPORT, metadata=metadata), UNAUTHENTICATED, "ASSERTION_REPLAYED")
        await expect_error(a.ReportCapacity(BED_REPORT, metadata=metadata), UNAUTHENTICATED, "ASSERTION_REPLAYED")
        assert (api_a.reports, api_b.reports) == ([BED_REPORT], [])


async def test_an_assertion_carries_only_its_own_request(tmp_path, db_url):
    settings = settings_for(tmp_path, capacity=db_url)
    async with two_capacity_replicas(settings) as ((a, b), (api_a, api_b)):
        signed_for = capacity_pb2.GetCapacityOverviewRequest(region="Nordland")
        metadata = bound(settings, signed_for)
        other = capacity_pb2.GetCapacityOverviewRequest(region="Akershus")
        await expect_error(
            a.GetCapacityOverview(other, metadata=metadata), UNAUTHENTICATED, "ASSERTION_REQUEST_MISMATCH"
        )
        assert (api_a.calls, api_b.calls) == ([], [])
        await b.GetCapacityOverview(signed_for, metadata=metadata)  # with its own request it is still good once
        assert api_b.calls == [signed_for]


async def test_a_backend_whose_replay_store_cannot_answer_refuses(tmp_path, db_url, monkeypatch):
    monkeypatch.setattr(replay_store, "CLAIM_TIMEOUT_SECONDS", 1.0)  # the bound, shortened for the test
    settings = settings_for(tmp_path, capacity=db_url)
    async with two_capacity_replicas(settings) as ((a, _), (api_a, _)):
        request = capacity_pb2.GetCapacityOverviewRequest()
        metadata = bound(settings, request)
        with store_held(db_url):
            await expect_error(
                a.GetCapacityOverview(request, metadata=metadata), UNAVAILABLE, "REPLAY_STORE_UNAVAILABLE"
            )
        # The read's handler ran beside the claim (the claim waited a whole second for the
        # store), yet its answer was dropped: the refusal above is all the caller got.
        assert api_a.calls == [request]
        assert (
            await a.GetCapacityOverview(request, metadata=bound(settings, request))
        ).units  # the store answers again
        assert api_a.calls == [request, request]


async def test_a_write_whose_claim_fails_never_enters_its_handler(tmp_path, db_url, monkeypatch):
    monkeypatch.setattr(replay_store, "CLAIM_TIMEOUT_SECONDS", 1.0)  # the bound, shortened for the test
    settings = settings_for(tmp_path, capacity=db_url)
    async with two_capacity_replicas(settings) as ((a, _), (api_a, _)):
        with store_held(db_url):
            await expect_error(
                a.ReportCapacity(BED_REPORT, metadata=bound(settings, BED_REPORT, REPORT)),
                UNAVAILABLE,
                "REPLAY_STORE_UNAVAILABLE",
            )
        assert api_a.reports == []
        await a.ReportCapacity(BED_REPORT, metadata=bound(settings, BED_REPORT, REPORT))  # once the store answers again
        assert api_a.reports == [BED_REPORT]
