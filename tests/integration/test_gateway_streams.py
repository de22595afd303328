"""Server streams through the gateway (gateway/enforcement.py, Enforcer.stream): checked like a
unary call when they open, relayed message by message, closed with TOKEN_EXPIRED when the token
that opened them expires, and cancelled at the backend when the client goes away.

Real STS tokens and a real gateway. For the mechanics the capacity backend is a real gRPC server
scripted by the test (it admits calls with the platform's assertion check, as every backend
does), so the test decides when a message is sent and sees how the backend's stream ended; the
last test runs the real capacity service."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import grpc
import pytest
from joserfc import jwt
from opentelemetry.sdk.trace import TracerProvider

from gateway import oauth_scopes
from gateway.calls import IncomingCall
from gateway.enforcement import Enforcer
from gateway.grpc_handlers import generic_handlers
from gateway.main import create_gateway
from gateway.policy import POLICIES, MethodPolicy
from gateway.tokens import LEEWAY_SECONDS
from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from samhandling.consent.v1 import consent_pb2
from services.backend_lookup import backend as backend_spec
from services.cli.token import Identity, Token, obtain_token
from services.platform import assertion as assertions
from services.platform.assertion import METADATA_KEY, Assertion, AssertionVerifier
from services.platform.db import migrate_platform
from services.platform.dpop import grpc_target, make_proof
from services.platform.errors import ServiceError
from services.platform.interceptors import ServiceInterceptor, current_assertion
from services.platform.keys import load_jwk
from services.platform.replay import InProcessClaims
from services.platform.server import GrpcServer, Servicer
from services.platform.settings import Settings
from services.platform.vocabulary import ActorKind
from services.sts.config import StsConfig
from services.sts.main import StsServer
from tests.support import expect_error, replay_store, settings_for, write_unless_ended

CAPACITY = "/samhandling.capacity.v1.CapacityService/"
WATCH = CAPACITY + "WatchCapacity"
END = None  # put in the outbox: the backend ends its stream normally
WAIT_SECONDS = 10  # an upper bound on waiting for an event, so a broken gateway fails instead of hanging


def report(position: int) -> capacity_pb2.WatchCapacityResponse:
    return capacity_pb2.WatchCapacityResponse(
        position=position, change=capacity_pb2.CapacityReport(unit_id=f"unit-{position}", position=position)
    )


class ScriptedCapacity(capacity_pb2_grpc.CapacityServiceServicer):
    """WatchCapacity sends what the test puts in `outbox` (a ServiceError ends the stream with
    that error, END ends it normally); it records every watch and whether one was cancelled."""

    def __init__(self) -> None:
        self.outbox: asyncio.Queue[capacity_pb2.WatchCapacityResponse | ServiceError | None] = asyncio.Queue()
        self.watches: list[tuple[capacity_pb2.WatchCapacityRequest, Assertion, str]] = []
        self.cancelled = asyncio.Event()

    async def WatchCapacity(self, request, context):
        raw = dict(context.invocation_metadata())[METADATA_KEY]
        self.watches.append((request, current_assertion(), raw))
        try:
            while (item := await self.outbox.get()) is not END:
                if isinstance(item, ServiceError):
                    raise item
                yield item
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


@dataclass
class Harness:
    settings: Settings
    gateway: grpc.aio.Channel
    capacity: ScriptedCapacity  # idle when the real capacity service runs
    enforcer: Enforcer  # the running gateway's

    async def token(self, client_id: str = "demo-ehr", scope: str | None = None, *, dpop: bool = False) -> Token:
        return await obtain_token(self.settings, Identity(client_id, scope=scope), dpop=dpop)

    async def bearer(self, client_id: str = "demo-ehr", scope: str | None = None) -> tuple[tuple[str, str], ...]:
        return bearer((await self.token(client_id, scope)).access_token)

    def watch(self, metadata, request: capacity_pb2.WatchCapacityRequest | None = None) -> grpc.aio.UnaryStreamCall:
        stub = capacity_pb2_grpc.CapacityServiceStub(self.gateway)
        return stub.WatchCapacity(request or capacity_pb2.WatchCapacityRequest(), metadata=metadata)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def claims(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==="))


@contextlib.asynccontextmanager
async def streaming_gateway(
    tmp_path, *, token_lifetime_seconds: int = 600, verified_as: str = "capacity", real_capacity: bool = False
) -> AsyncIterator[Harness]:
    """The STS, a capacity backend and the gateway, each on port 0. The backend is the scripted
    one (verifying assertions addressed to `verified_as`) or the real capacity service. Capacity
    concerns no patient, so consent and audit are never asked and not started (the decision
    cache is off, so nothing subscribes)."""
    settings = replace(settings_for(tmp_path), decision_cache=False)
    sts = StsServer(
        StsConfig(
            port=0,
            seeds_dir=settings.seeds_dir,
            var_dir=settings.var_dir,
            token_lifetime_seconds=token_lifetime_seconds,
        )
    )
    ready = asyncio.Event()
    sts_task = asyncio.create_task(sts.serve(ready))
    await ready.wait()
    capacity = ScriptedCapacity()
    if real_capacity:
        spec = backend_spec("capacity")
        spec.migrate(settings)
        spec.seed(settings)
        backend = spec.create_server(settings, TracerProvider(), address="127.0.0.1:0")
    else:
        public_key = load_jwk(settings.assertion_verification_key(), settings, private=False)
        replay = replay_store(settings, "capacity")
        backend = GrpcServer(
            "capacity",
            "127.0.0.1:0",
            [
                Servicer(
                    capacity_pb2.DESCRIPTOR.services_by_name["CapacityService"].full_name,
                    capacity_pb2_grpc.add_CapacityServiceServicer_to_server,
                    capacity,
                )
            ],
            interceptors=[ServiceInterceptor(AssertionVerifier(public_key, verified_as, replay))],
            on_stop=[replay.close],
        )
    addresses = {**settings.addresses, "capacity": f"127.0.0.1:{await backend.start()}"}
    settings = replace(settings, addresses=addresses, token_issuer=sts.issuer)
    migrate_platform(settings.database_url("gateway"))
    gateway = create_gateway(settings, TracerProvider(), address="127.0.0.1:0", http_address="127.0.0.1:0")
    port = await gateway.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield Harness(settings, channel, capacity, gateway.enforcer)
    finally:
        await gateway.stop(grace=0)
        await backend.stop(grace=0)
        sts.stop()
        await sts_task


@pytest.fixture
async def harness(tmp_path):
    async with streaming_gateway(tmp_path) as running:
        yield running


async def test_a_stream_relays_the_backends_messages_in_order(harness):
    sent = [report(n) for n in (1, 2, 3)]
    for item in (*sent, END):
        harness.capacity.outbox.put_nowait(item)
    call = harness.watch(await harness.bearer(), capacity_pb2.WatchCapacityRequest(municipality_number="1804"))
    assert [message async for message in call] == sent
    assert await call.code() == grpc.StatusCode.OK
    [(request, asserted, _)] = harness.capacity.watches
    assert request.municipality_number == "1804"
    assert (asserted.method, asserted.actor.client_id, asserted.actor.orgnr_parent, asserted.patient_id) == (
        WATCH,
        "demo-ehr",
        "910000012",
        "",
    )


async def test_a_stream_without_a_valid_token_is_refused_before_the_backend_is_called(harness):
    token = (await harness.token()).access_token
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-6]}{'A' * 6 if not signature.endswith('AAAAAA') else 'B' * 6}"
    key = load_jwk(harness.settings.seeds_dir / "keys" / "sts-signing-1.dev-only.jwk.json", harness.settings)
    decoded = jwt.decode(token, key)
    now = int(time.time())
    expired = jwt.encode(decoded.header, {**decoded.claims, "iat": now - 900, "nbf": now - 900, "exp": now - 300}, key)
    for metadata, reason in [
        ((), "TOKEN_MISSING"),
        ((("authorization", "Basic ZGVtbzpkZW1v"),), "TOKEN_MALFORMED"),
        (bearer(forged), "TOKEN_SIGNATURE_INVALID"),
        (bearer(expired), "TOKEN_EXPIRED"),
    ]:
        await expect_error(harness.watch(metadata).read(), grpc.StatusCode.UNAUTHENTICATED, reason)
    harness.capacity.outbox.put_nowait(report(1))
    call = harness.watch(bearer(token))
    assert await call.read() == report(1)
    assert len(harness.capacity.watches) == 1  # only the stream with a valid token reached the backend
    call.cancel()


async def test_a_stream_needs_the_methods_scope_and_principal_kind(harness):
    only_summary = await harness.bearer("demo-ehr", oauth_scopes.SUMMARY_READ)
    await expect_error(harness.watch(only_summary).read(), grpc.StatusCode.PERMISSION_DENIED, "SCOPE_MISSING")
    auditor = await harness.bearer("demo-auditor")
    await expect_error(harness.watch(auditor).read(), grpc.StatusCode.PERMISSION_DENIED, "PRINCIPAL_NOT_ALLOWED")
    assert harness.capacity.watches == []


async def test_a_dpop_proof_is_bound_to_the_stream_it_opens(harness):
    token = await harness.token("demo-legevakt", dpop=True)

    def proven(method: str) -> tuple[tuple[str, str], ...]:
        htu = grpc_target(harness.settings.gateway_public_url, method)
        proof = make_proof(token.dpop_key, "POST", htu, access_token=token.access_token)
        return (("authorization", f"DPoP {token.access_token}"), ("dpop", proof))

    refused = [
        (proven(CAPACITY + "GetCapacityOverview"), "DPOP_HTU_MISMATCH"),
        (bearer(token.access_token), "DPOP_BOUND_TOKEN_AS_BEARER"),
    ]
    for metadata, reason in refused:
        await expect_error(harness.watch(metadata).read(), grpc.StatusCode.UNAUTHENTICATED, reason)
    harness.capacity.outbox.put_nowait(report(1))
    call = harness.watch(proven(WATCH))
    assert await call.read() == report(1)
    assert harness.capacity.watches[0][1].actor.client_id == "demo-legevakt"
    call.cancel()


async def test_a_stream_ends_when_its_token_expires_and_resumes_with_a_fresh_token(tmp_path):
    async with streaming_gateway(tmp_path, token_lifetime_seconds=2) as harness:
        token = (await harness.token()).access_token
        harness.capacity.outbox.put_nowait(report(1))
        call = harness.watch(bearer(token))
        assert await call.read() == report(1)
        async with asyncio.timeout(claims(token)["exp"] + LEEWAY_SECONDS + WAIT_SECONDS - time.time()):
            await expect_error(call.read(), grpc.StatusCode.UNAUTHENTICATED, "TOKEN_EXPIRED")
        # Not before the moment the token check itself would refuse the token.
        assert time.time() >= claims(token)["exp"] + LEEWAY_SECONDS - 0.1
        async with asyncio.timeout(WAIT_SECONDS):
            await harness.capacity.cancelled.wait()

        harness.capacity.outbox.put_nowait(report(2))
        fresh = bearer((await harness.token()).access_token)
        resumed = harness.watch(fresh, capacity_pb2.WatchCapacityRequest(resume_after=1))
        assert await resumed.read() == report(2)
        assert [request.resume_after for request, _, _ in harness.capacity.watches] == [0, 1]
        resumed.cancel()


async def test_a_client_cancel_cancels_the_backends_stream(harness):
    harness.capacity.outbox.put_nowait(report(1))
    call = harness.watch(await harness.bearer())
    assert await call.read() == report(1)
    assert not harness.capacity.cancelled.is_set()
    call.cancel()
    async with asyncio.timeout(WAIT_SECONDS):
        await harness.capacity.cancelled.wait()


async def test_a_relay_never_read_cancels_the_backends_stream_when_it_is_dropped(harness):
    """A client that leaves before asking for the first message (an HTTP answer never started)
    never runs the relay's own cleanup: dropping the relay cancels the backend's stream, which
    would otherwise stay open, read by nobody."""
    harness.capacity.outbox.put_nowait(report(1))  # the backend's headers go with its first message
    token = await harness.token()
    relay = await harness.enforcer.open_stream(
        IncomingCall(WATCH, bearer(token.access_token)),
        POLICIES[WATCH],
        capacity_pb2.WatchCapacityRequest(),
        capacity_pb2.WatchCapacityResponse,
    )
    assert len(harness.capacity.watches) == 1  # accepted by the backend before open_stream returned
    del relay
    gc.collect()  # CPython frees it at once; this is for any other collector
    async with asyncio.timeout(WAIT_SECONDS):
        await harness.capacity.cancelled.wait()


async def test_a_backend_error_is_relayed_with_its_details(harness):
    harness.capacity.outbox.put_nowait(report(1))
    harness.capacity.outbox.put_nowait(
        ServiceError(  # a reason the catalogue does not hold: relayed as it came
            grpc.StatusCode.INVALID_ARGUMENT,
            "REGION_UNKNOWN",
            "invalid region: no such region",
            {"region": "no such region"},
        )
    )
    call = harness.watch(await harness.bearer())
    assert await call.read() == report(1)
    violations = await expect_error(call.read(), grpc.StatusCode.INVALID_ARGUMENT, "REGION_UNKNOWN")
    assert violations == {"region": "no such region"}


async def test_a_backend_refusing_the_gateways_assertion_is_an_internal_error(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="gateway.security")
    async with streaming_gateway(tmp_path, verified_as="summary") as harness:  # assertions for capacity fail
        call = harness.watch(await harness.bearer())
        await expect_error(call.read(), grpc.StatusCode.INTERNAL, "GATEWAY_ASSERTION_REFUSED")
        assert harness.capacity.watches == []
    # A refusal like any other, logged to the security log (docs/architecture.md "The request path").
    logged = [
        (r.levelname, r.getMessage(), r.backend, r.backend_reason)
        for r in caplog.records
        if r.name == "gateway.security"
    ]
    assert logged == [("ERROR", "backend refused the gateway's assertion", "capacity", "ASSERTION_INVALID")]


async def test_a_stream_outlives_its_internal_assertion(harness, monkeypatch):
    # The backend verifies the assertion once, when it accepts the stream
    # (services/platform/interceptors.py); a short-lived assertion must not end a long stream.
    # Three seconds, not one: the assertion must still be valid when the backend accepts the
    # stream. With one second (iat truncated, exp = iat + 1) a hop that took just over a second
    # on a loaded CI machine was refused as expired (INTERNAL, GATEWAY_ASSERTION_REFUSED).
    monkeypatch.setattr(assertions, "LIFETIME_SECONDS", 3)
    monkeypatch.setattr(assertions, "LEEWAY_SECONDS", 0)
    harness.capacity.outbox.put_nowait(report(1))
    call = harness.watch(await harness.bearer())
    assert await call.read() == report(1)
    raw = harness.capacity.watches[0][2]
    await asyncio.sleep(claims(raw)["exp"] + 1 - time.time())  # time must pass: the assertion's expiry
    public_key = load_jwk(harness.settings.assertion_verification_key(), harness.settings, private=False)
    with pytest.raises(ServiceError) as err:
        await AssertionVerifier(public_key, "capacity", InProcessClaims()).verify(raw, WATCH, claims(raw)["req"])
    assert err.value.reason == "ASSERTION_INVALID"  # expired by now ...
    harness.capacity.outbox.put_nowait(report(2))
    assert await call.read() == report(2)  # ... and the stream it opened goes on
    call.cancel()


class Untouched:
    """Stands in for what a refusal must never reach."""

    def __getattr__(self, name: str):
        raise AssertionError(f"{name} was used for a refused call")


async def test_streams_without_a_servable_policy_are_refused_in_their_own_shape():
    bidi = "/samhandling.consent.v1.ConsentService/WatchPolicyChanges"
    # Even listed in the table, a client stream is never forwarded.
    policies = {bidi: MethodPolicy(backend="consent", access={ActorKind.SYSTEM: oauth_scopes.CAPACITY_READ})}
    server = GrpcServer(
        "gateway",
        "127.0.0.1:0",
        interceptors=[ServiceInterceptor()],
        generic_handlers=generic_handlers(Untouched(), policies),
    )
    port = await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            watch = capacity_pb2_grpc.CapacityServiceStub(channel).WatchCapacity(capacity_pb2.WatchCapacityRequest())
            await expect_error(watch.read(), grpc.StatusCode.PERMISSION_DENIED, "METHOD_NOT_ALLOWED")
            request = consent_pb2.WatchPolicyChangesRequest
            policy_watch = channel.stream_stream(
                bidi,
                request_serializer=request.SerializeToString,
                response_deserializer=consent_pb2.WatchPolicyChangesResponse.FromString,
            )()
            await write_unless_ended(policy_watch, request(subscribe=request.Subscribe(subscriber_id="intruder")))
            await expect_error(policy_watch.read(), grpc.StatusCode.PERMISSION_DENIED, "METHOD_NOT_ALLOWED")
    finally:
        await server.stop(grace=0)


async def test_a_stream_about_a_patient_is_refused_before_authentication():
    # A consent decision taken when a stream opens would outlive a revoke: never streamed.
    enforcer = Enforcer(Untouched(), Untouched(), allow_synthetic=True)
    policy = replace(POLICIES[WATCH], patient_field="patient_id")
    request, response_type = capacity_pb2.WatchCapacityRequest(), capacity_pb2.WatchCapacityResponse
    with pytest.raises(ServiceError) as err:
        await enforcer.open_stream(IncomingCall(WATCH, ()), policy, request, response_type)
    assert (err.value.code, err.value.reason) == (grpc.StatusCode.PERMISSION_DENIED, "METHOD_NOT_ALLOWED")


async def test_the_capacity_watch_resumes_after_expiry_without_loss_or_repeats(tmp_path):
    unit, watched = "nlsh-bodo-akuttmottak", capacity_pb2.WatchCapacityRequest(municipality_number="1804")

    async def report_available(harness: Harness, available: int) -> None:
        await capacity_pb2_grpc.CapacityServiceStub(harness.gateway).ReportCapacity(
            capacity_pb2.ReportCapacityRequest(
                unit_id=unit,
                resource_type="treatment_room",
                total=6,
                available=available,
                occupied=6 - available,
                status=capacity_pb2.CAPACITY_STATUS_STRAINED,
            ),
            metadata=await harness.bearer("demo-hospital"),
        )

    async with streaming_gateway(tmp_path, token_lifetime_seconds=2, real_capacity=True) as harness:
        token = (await harness.token("demo-hospital")).access_token
        call = harness.watch(bearer(token), watched)
        opening = await call.read()
        assert unit in {u.unit_id for u in opening.snapshot.units}
        await report_available(harness, 2)
        seen = await call.read()
        assert (seen.change.unit_id, seen.change.resource.available) == (unit, 2)
        async with asyncio.timeout(claims(token)["exp"] + LEEWAY_SECONDS + WAIT_SECONDS - time.time()):
            await expect_error(call.read(), grpc.StatusCode.UNAUTHENTICATED, "TOKEN_EXPIRED")

        await report_available(harness, 1)  # while nobody watches
        resuming = capacity_pb2.WatchCapacityRequest(municipality_number="1804", resume_after=seen.position)
        resumed = harness.watch(await harness.bearer("demo-hospital"), resuming)
        missed = await resumed.read()  # no snapshot, nothing repeated: the change made meanwhile
        assert missed.WhichOneof("event") == "change" and missed.position > seen.position
        assert (missed.change.unit_id, missed.change.resource.available) == (unit, 1)
        await report_available(harness, 0)
        assert (await resumed.read()).change.resource.available == 0  # and it follows on
        resumed.cancel()
