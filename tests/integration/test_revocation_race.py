"""A rule change that has returned is never outlived by a cached decision: two gateway replicas
with their own decision caches, reading concurrently while a patient changes their rules
through one of them. Also the watch protocol itself over real gRPC."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.orm import sessionmaker

from gateway.backend_channels import BackendChannels
from gateway.decision_cache import DecisionCache, PolicyWatch
from gateway.enforcement import Enforcer
from gateway.grpc_handlers import SERVICES, generic_handlers
from gateway.policy import POLICIES
from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2, consent_pb2_grpc
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.backend_lookup import backend
from services.cli.token import Identity, obtain_token
from services.consent.policy_feed import PolicyFeed, record
from services.consent.watch import PolicyChangeHub
from services.platform.assertion import AssertionSigner, AssertionVerifier
from services.platform.db import make_engine, make_sessions, migrate
from services.platform.errors import error_info
from services.platform.interceptors import ServiceInterceptor
from services.platform.keys import load_jwk
from services.platform.server import GrpcServer, Servicer
from services.platform.settings import Settings
from tests.fixtures import people
from tests.fixtures.gateway_authenticator import gateway_authenticator
from tests.fixtures.links import slow_link
from tests.fixtures.patient_calls import as_patient, restrict_vital_signs, revoke_rule
from tests.support import DEMO_EHR_ACTOR, asserted, replay_store, settings_for

PATIENT = people.ESKIL  # Eskil: vital signs seeded, no rules
WATCH = "/samhandling.consent.v1.ConsentService/WatchPolicyChanges"
GATEWAY_ACTOR = common_pb2.Actor(kind=common_pb2.ACTOR_KIND_SYSTEM, client_id="samhandling-gateway")
Request = consent_pb2.WatchPolicyChangesRequest
# The second replica hears from the consent service over a slow link: a change reaches it
# this much later than the first, so a change call returning before every replica applied it
# would show up as reads of the old rules.
LINK_DELAY_SECONDS = 0.05
READERS_PER_REPLICA = 3
ROUNDS = 2
READS_AFTER_EACH_CHANGE = 3  # per reader, started after the change returned
TIMEOUT_SECONDS = 60


# --- two gateway replicas on shared backends ----------------------------------------------


@dataclass
class Replica:
    channel: grpc.aio.Channel
    cache: DecisionCache
    watch: PolicyWatch


@contextlib.asynccontextmanager
async def running_replica(
    settings: Settings, provider: TracerProvider, *, cached: bool, watch_address: str
) -> AsyncIterator[Replica]:
    """One gateway as gateway/main.py builds it, with its own decision cache and watch."""
    signer = AssertionSigner(load_jwk(settings.assertion_signing_key(), settings))
    async with gateway_authenticator(settings) as authenticator:
        backends = BackendChannels(
            {b: settings.addresses[b] for b in ("consent", "audit", "summary")}, signer, provider
        )
        cache = DecisionCache(enabled=cached)
        watch = PolicyWatch(cache, watch_address, signer)
        enforcer = Enforcer(authenticator, backends, allow_synthetic=True, decisions=cache)
        server = GrpcServer(
            "gateway",
            "127.0.0.1:0",
            interceptors=[ServiceInterceptor()],
            generic_handlers=generic_handlers(enforcer, POLICIES),
            service_names=[s.full_name for s in SERVICES],
        )
        watch.start()
        port = await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield Replica(channel, cache, watch)
        finally:
            await server.stop(grace=0)
            await watch.stop()
            await backends.close()


@contextlib.asynccontextmanager
async def running_replicas(
    tmp_path,
    *,
    cached: bool,
    consents: int = 1,
    consent_db: str | None = None,
) -> AsyncIterator[tuple[Settings, list[Replica]]]:
    """The STS, consent (`consents` replicas on one database), audit and summary on port 0, and
    two gateway replicas in front; with two consent replicas, gateway replica i calls and
    watches consent replica i."""
    from services.sts.config import StsConfig
    from services.sts.main import StsServer

    provider = TracerProvider()
    settings = settings_for(tmp_path, **({"consent": consent_db} if consent_db else {}))
    sts = StsServer(StsConfig(port=0, seeds_dir=settings.seeds_dir, var_dir=settings.var_dir))
    ready = asyncio.Event()
    sts_task = asyncio.create_task(sts.serve(ready))
    await ready.wait()
    servers, addresses = [], dict(settings.addresses)
    consent_addresses = []
    try:
        for component in ("consent", "audit", "summary"):
            spec = backend(component)
            spec.migrate(settings)
            spec.seed(settings)
            for _ in range(consents if component == "consent" else 1):
                servers.append(spec.create_server(settings, provider, address="127.0.0.1:0"))
                addresses[component] = f"127.0.0.1:{await servers[-1].start()}"
                if component == "consent":
                    consent_addresses.append(addresses[component])
        settings = replace(settings, addresses=addresses, token_issuer=sts.issuer)
        async with contextlib.AsyncExitStack() as stack:
            far = await stack.enter_async_context(slow_link(consent_addresses[-1], LINK_DELAY_SECONDS))
            replicas = [
                await stack.enter_async_context(
                    running_replica(
                        replace(settings, addresses=addresses | {"consent": consent}),
                        provider,
                        cached=cached,
                        watch_address=watch,
                    )
                )
                for consent, watch in ((consent_addresses[0], consent_addresses[0]), (consent_addresses[-1], far))
            ]
            if cached:
                await asyncio.wait_for(asyncio.gather(*(r.watch.leased() for r in replicas)), TIMEOUT_SECONDS)
            yield settings, replicas
    finally:
        for server in servers:
            await server.stop(grace=0)
        sts.stop()
        await sts_task


# --- the race ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    replica: int
    reader: int
    started: float
    answered: float
    vitals: bool
    withheld: tuple[int, ...]


class Readers:
    """Readers of the patient's summary through every replica, until stopped."""

    def __init__(self, replicas: list[Replica], metadata) -> None:
        self.reads: list[Read] = []
        self._replicas = replicas
        self._metadata = metadata
        self._progress = asyncio.Condition()
        self._stopped = False

    async def run(self) -> None:
        await asyncio.gather(
            *(
                self._read(index, reader)
                for index in range(len(self._replicas))
                for reader in range(READERS_PER_REPLICA)
            )
        )

    async def _read(self, replica: int, reader: int) -> None:
        stub = summary_pb2_grpc.PatientSummaryServiceStub(self._replicas[replica].channel)
        request = summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT)
        while not self._stopped:
            started = time.monotonic()
            answer = await stub.GetPatientSummary(request, metadata=self._metadata)
            read = Read(
                replica,
                reader,
                started,
                time.monotonic(),
                answer.HasField("latest_vital_signs"),
                tuple(answer.withheld_categories),
            )
            async with self._progress:
                self.reads.append(read)
                self._progress.notify_all()

    async def each_read(self, count: int, since: float) -> None:
        """Waits until every reader has had `count` reads that started after `since`."""

        def done() -> bool:
            per_reader: dict[tuple[int, int], int] = {}
            for read in self.reads:
                if read.started > since:
                    per_reader[read.replica, read.reader] = per_reader.get((read.replica, read.reader), 0) + 1
            return len(per_reader) == len(self._replicas) * READERS_PER_REPLICA and min(per_reader.values()) >= count

        async with self._progress:
            await asyncio.wait_for(self._progress.wait_for(done), TIMEOUT_SECONDS)

    def stop(self) -> None:
        self._stopped = True

    def started_after(self, moment: float) -> list[Read]:
        return [r for r in self.reads if r.started > moment]


@pytest.mark.parametrize(
    ("cached", "consents", "database"),
    [
        (True, 1, "sqlite"),
        (False, 1, "sqlite"),
        (True, 2, "sqlite"),
        pytest.param(True, 2, "postgresql", marks=pytest.mark.postgres),
    ],
    ids=["cache-on", "cache-off", "cache-on-two-consents", "cache-on-two-consents-postgresql"],
)
async def test_no_read_started_after_a_rule_change_returned_sees_the_old_rules(
    tmp_path, request, cached, consents, database
):
    """With two consent replicas the changes go through both (each gateway replica calls its
    own), and each gateway replica's cache hears only from its own consent replica."""
    consent_db = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    async with running_replicas(tmp_path, cached=cached, consents=consents, consent_db=consent_db) as (
        settings,
        replicas,
    ):
        patient = await as_patient(settings, PATIENT)
        ehr = (("authorization", f"Bearer {(await obtain_token(settings, Identity('demo-ehr'))).access_token}"),)
        readers = Readers(replicas, ehr)
        reading = asyncio.create_task(readers.run())
        try:
            await readers.each_read(2, since=0.0)  # warm: every replica has decided (and cached) a permit
            assert all(r.vitals for r in readers.reads)
            for round_ in range(ROUNDS):
                hits = [r.cache.stats.hits for r in replicas]
                # Restrict through one replica ...
                rule = await restrict_vital_signs(replicas[round_ % 2].channel, PATIENT, patient)
                restricted = time.monotonic()
                await readers.each_read(READS_AFTER_EACH_CHANGE, since=restricted)
                after = readers.started_after(restricted)
                assert not [r for r in after if r.vitals], f"round {round_}: vital signs read on a revoked permit"
                assert all(r.withheld == (common_pb2.DATA_CATEGORY_VITAL_SIGNS,) for r in after)
                # ... and lift the restriction through the other.
                await revoke_rule(replicas[(round_ + 1) % 2].channel, PATIENT, rule.rule_id, patient)
                lifted = time.monotonic()
                await readers.each_read(READS_AFTER_EACH_CHANGE, since=lifted)
                assert all(r.vitals for r in readers.started_after(lifted)), (
                    f"round {round_}: a lifted restriction held"
                )
                if cached:  # the caches were in use on both sides of the changes, not bypassed
                    assert all(r.cache.stats.hits > before for r, before in zip(replicas, hits, strict=True))
        finally:
            readers.stop()
            await asyncio.wait_for(reading, TIMEOUT_SECONDS)
    # Reads answered before the restriction returned but started earlier may have seen either;
    # the claim is only about reads that started after.
    assert len(readers.reads) >= 2 * READERS_PER_REPLICA * (2 + 2 * ROUNDS * READS_AFTER_EACH_CHANGE)


# --- the watch protocol over real gRPC ----------------------------------------------------


class WatchOnly(consent_pb2_grpc.ConsentServiceServicer):
    def __init__(self, hub: PolicyChangeHub) -> None:
        self.hub = hub

    def WatchPolicyChanges(self, request_iterator, context):
        return self.hub.watch(request_iterator, context)


class Changes:
    """Rule changes as the store makes them: entered in the feed in a transaction of their own,
    then published."""

    def __init__(self, hub: PolicyChangeHub, sessions: sessionmaker) -> None:
        self.hub = hub
        self._sessions = sessions

    async def publish(self, patient_id: str, revision: int) -> None:
        def commit() -> None:
            with self._sessions.begin() as session:
                record(session, patient_id, revision)

        await asyncio.to_thread(commit)
        await self.hub.publish(patient_id, revision)


@contextlib.asynccontextmanager
async def watched(tmp_path, lease: float = 2.0) -> AsyncIterator[tuple[Settings, Changes, str]]:
    """A consent server that serves only WatchPolicyChanges, behind the backends' interceptor."""
    settings = settings_for(tmp_path)
    url = settings.database_url("consent")
    migrate(url, backend("consent").migrations)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    hub = PolicyChangeHub(PolicyFeed(sessions, lease=lease))
    replay = replay_store(settings, "consent")
    public_key = load_jwk(settings.assertion_verification_key(), settings, private=False)
    server = GrpcServer(
        "consent",
        "127.0.0.1:0",
        [
            Servicer(
                "samhandling.consent.v1.ConsentService",
                consent_pb2_grpc.add_ConsentServiceServicer_to_server,
                WatchOnly(hub),
            )
        ],
        interceptors=[ServiceInterceptor(AssertionVerifier(public_key, "consent", replay))],
    )
    port = await server.start()
    try:
        yield settings, Changes(hub, sessions), f"127.0.0.1:{port}"
    finally:
        await server.stop(grace=0)
        engine.dispose()
        replay.close()


def stream(channel: grpc.aio.Channel, metadata=()) -> grpc.aio.StreamStreamCall:
    return channel.stream_stream(
        WATCH,
        request_serializer=Request.SerializeToString,
        response_deserializer=consent_pb2.WatchPolicyChangesResponse.FromString,
    )(metadata=metadata)


async def refusal(call: grpc.aio.StreamStreamCall, *messages: Request) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        for message in messages:
            await call.write(message)
        await call.read()
    return err.value.code(), error_info(err.value)[0]


SUBSCRIBE = Request(subscribe=Request.Subscribe(subscriber_id="test"))


async def test_backends_refuse_a_watch_without_a_valid_gateway_assertion(tmp_path):
    async with watched(tmp_path) as (settings, _, address), grpc.aio.insecure_channel(address) as channel:
        assert await refusal(stream(channel), SUBSCRIBE) == (grpc.StatusCode.UNAUTHENTICATED, "ASSERTION_MISSING")
        other_method = asserted(
            settings, "consent", "/samhandling.consent.v1.ConsentService/ListRules", actor=GATEWAY_ACTOR
        )
        assert await refusal(stream(channel, other_method), SUBSCRIBE) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "ASSERTION_RETARGETED",
        )
        not_the_gateway = asserted(settings, "consent", WATCH, actor=DEMO_EHR_ACTOR)
        assert await refusal(stream(channel, not_the_gateway), SUBSCRIBE) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "WATCH_NOT_ALLOWED",
        )
        acknowledge_first = Request(acknowledge=Request.Acknowledge(sequence=1))
        assert await refusal(
            stream(channel, asserted(settings, "consent", WATCH, actor=GATEWAY_ACTOR)), acknowledge_first
        ) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")


async def test_a_change_completes_once_acknowledged(tmp_path):
    lease = 30.0  # far longer than the test may take: completing by lapse would time out
    async with watched(tmp_path, lease) as (settings, hub, address), grpc.aio.insecure_channel(address) as channel:
        call = stream(channel, asserted(settings, "consent", WATCH, actor=GATEWAY_ACTOR))
        await call.write(SUBSCRIBE)
        assert (await call.read()).heartbeat.lease.seconds == 30
        publishing = asyncio.create_task(hub.publish(PATIENT, 7))
        change = (await call.read()).change
        assert (change.patient_id, change.policy_revision) == (PATIENT, 7)
        assert not publishing.done()
        await call.write(Request(acknowledge=Request.Acknowledge(sequence=change.sequence)))
        await asyncio.wait_for(publishing, lease / 3)
        assert (await call.read()).heartbeat.lease.seconds == 30  # the acknowledgement is answered
        call.cancel()


async def test_a_silent_subscriber_holds_a_change_until_its_lease_has_run_out(tmp_path):
    lease = 0.5
    async with (
        watched(tmp_path, lease=lease) as (settings, hub, address),
        grpc.aio.insecure_channel(address) as channel,
    ):
        call = stream(channel, asserted(settings, "consent", WATCH, actor=GATEWAY_ACTOR))
        subscribed = time.monotonic()
        await call.write(SUBSCRIBE)
        await call.read()
        await asyncio.wait_for(hub.publish(PATIENT, 2), TIMEOUT_SECONDS)
        # Granted when the service received the subscription, which was after it was sent.
        assert time.monotonic() - subscribed >= lease
        assert (await call.read()).change.patient_id == PATIENT
        with pytest.raises(grpc.aio.AioRpcError) as lapsed:  # lapsed: the service ended the stream
            await call.read()
        assert lapsed.value.code() == grpc.StatusCode.UNAVAILABLE
        assert error_info(lapsed.value)[0] == "WATCH_LEASE_LAPSED"
        call.cancel()


async def test_the_gateway_drops_a_changed_patient_before_the_change_completes(tmp_path):
    async with watched(tmp_path) as (settings, hub, address):
        cache = DecisionCache(enabled=True)
        watch = PolicyWatch(cache, address, AssertionSigner(load_jwk(settings.assertion_signing_key(), settings)))
        watch.start()
        try:
            await asyncio.wait_for(watch.leased(), TIMEOUT_SECONDS)
            request = consent_pb2.CheckAccessRequest(patient_id=PATIENT, actor=DEMO_EHR_ACTOR, data_category=2)
            keep = consent_pb2.CheckAccessRequest(patient_id=people.RAGNHILD, actor=DEMO_EHR_ACTOR, data_category=2)
            permit = consent_pb2.CheckAccessResponse(decision=common_pb2.DECISION_PERMIT, decision_id="d")
            for cached_request in (request, keep):
                cache.put(cache.ticket(), cached_request, permit)
            await asyncio.wait_for(hub.publish(PATIENT, 3), TIMEOUT_SECONDS)
            assert cache.get(request) is None and cache.get(keep) is permit
        finally:
            await watch.stop()
