"""Two consent replicas on one database (SQLite file and PostgreSQL), gateway decision caches
subscribed to either: a rule change committed by one replica is complete only once the caches
of the other have dropped the patient, and a dead replica holds changes no longer than its
subscribers' leases; also with the other replica in a process of its own, killed. And the
feed's sequences become visible in order across concurrent writers."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy import func, select, text

from gateway.decision_cache import DecisionCache, PolicyWatch
from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2, consent_pb2_grpc
from services.consent.main import BACKEND, make_api
from services.consent.models import PolicySubscriberRow
from services.consent.policy_feed import LEASE_SECONDS, PolicyFeed, database_now, record
from services.consent.watch import POLL_SECONDS, PolicyChangeHub
from services.platform.assertion import AssertionSigner
from services.platform.db import make_engine, make_sessions
from services.platform.errors import error_info
from services.platform.keys import load_jwk
from services.platform.server import GrpcServer
from services.platform.settings import Settings
from tests.fixtures import people
from tests.fixtures.links import slow_link
from tests.fixtures.postgres import free_port, wait_until_blocked_by
from tests.fixtures.processes import serve_process
from tests.support import DEMO_EHR_ACTOR, BindsAssertions, asserted, backend_replicas, settings_for

SERVICE = "/samhandling.consent.v1.ConsentService/"
PATIENT = people.ESKIL  # Eskil: no seeded rules
OTHER = people.RAGNHILD
TIMEOUT_SECONDS = 30
# The caches of replica B hear from it over a slow link: a change call on A that returned
# before B's subscribers applied the change would return well before they could have.
LINK_DELAY_SECONDS = 0.3


@dataclass
class Replica:
    server: GrpcServer
    hub: PolicyChangeHub
    address: str
    stub: consent_pb2_grpc.ConsentServiceStub


@contextlib.asynccontextmanager
async def consent_replicas(
    settings: Settings,
    lease: float,
    count: int = 2,
    poll_seconds: float = POLL_SECONDS,
) -> AsyncIterator[list[Replica]]:
    """`count` consent servers as main.py builds them, on the one database of `settings`."""
    hubs: list[PolicyChangeHub] = []

    def api(store, s):
        hubs.append(PolicyChangeHub(PolicyFeed(store.sessions, lease=lease), poll_seconds=poll_seconds))
        return make_api(store, s, hubs[-1])

    async with backend_replicas(replace(BACKEND, make_api=api), settings, count) as served:
        yield [
            Replica(r.server, hub, r.address, consent_pb2_grpc.ConsentServiceStub(r.channel))
            for r, hub in zip(served, hubs, strict=True)
        ]


@contextlib.asynccontextmanager
async def subscribed_cache(settings: Settings, address: str) -> AsyncIterator[DecisionCache]:
    """A gateway's decision cache, subscribed to the consent replica at `address`."""
    cache = DecisionCache(enabled=True)
    watch = PolicyWatch(cache, address, AssertionSigner(load_jwk(settings.assertion_signing_key(), settings)))
    watch.start()
    try:
        await asyncio.wait_for(watch.leased(), TIMEOUT_SECONDS)
        yield cache
    finally:
        await watch.stop()


def as_patient(settings: Settings, method: str) -> tuple[tuple[str, str], ...]:
    actor = common_pb2.Actor(kind=common_pb2.ACTOR_KIND_PATIENT, client_id="samhandling-web", pid=PATIENT)
    return asserted(settings, "consent", SERVICE + method, actor=actor, patient_id=PATIENT)


def check(patient_id: str) -> consent_pb2.CheckAccessRequest:
    return consent_pb2.CheckAccessRequest(
        patient_id=patient_id, actor=DEMO_EHR_ACTOR, data_category=common_pb2.DATA_CATEGORY_VITAL_SIGNS
    )


def restrict(
    stub: consent_pb2_grpc.ConsentServiceStub, settings: Settings, *categories: int, timeout: float | None = None
) -> Any:
    """The patient creates a restriction rule (on these data categories; none: on all) through `stub`."""
    return stub.CreateRule(
        consent_pb2.CreateRuleRequest(
            patient_id=PATIENT, rule_type=consent_pb2.RULE_TYPE_RESTRICTION, data_categories=categories
        ),
        metadata=as_patient(settings, "CreateRule"),
        timeout=timeout,
    )


PERMIT = consent_pb2.CheckAccessResponse(decision=common_pb2.DECISION_PERMIT, decision_id="d")


def cache_permits(cache: DecisionCache) -> None:
    """Caches a permit for the patient and one for somebody else."""
    for patient_id in (PATIENT, OTHER):
        cache.put(cache.ticket(), check(patient_id), PERMIT)
    assert cache.get(check(PATIENT)) is PERMIT


@pytest.fixture
def settings(tmp_path, db_url) -> Settings:
    return settings_for(tmp_path, consent=db_url)


async def test_a_change_on_one_replica_returns_only_after_the_other_replicas_caches_dropped_it(settings, db_url):
    lease = 30.0  # far longer than the test may take: completing by lapse would time out
    # On PostgreSQL the replicas wake on NOTIFY: polling so rarely would take longer than allowed.
    poll = 20.0 if db_url.startswith("postgresql") else POLL_SECONDS
    async with (
        consent_replicas(settings, lease, poll_seconds=poll) as (a, b),
        slow_link(b.address, LINK_DELAY_SECONDS) as far,
        subscribed_cache(settings, far) as on_b,
        subscribed_cache(settings, a.address) as on_a,
    ):
        cache_permits(on_b)
        cache_permits(on_a)
        started = time.monotonic()
        rule = (
            await asyncio.wait_for(
                restrict(a.stub, settings, common_pb2.DATA_CATEGORY_VITAL_SIGNS),
                TIMEOUT_SECONDS,
            )
        ).rule
        # B's cache was sent the change over the slow link and acknowledged it back over it.
        # On PostgreSQL, well within one poll: the replicas were woken by notifications.
        assert 2 * LINK_DELAY_SECONDS <= time.monotonic() - started < 10.0
        for cache in (on_a, on_b):
            assert cache.get(check(PATIENT)) is None and cache.get(check(OTHER)) is PERMIT
        # The decision now, on either replica, is on the new rules.
        for replica in (a, b):
            decided = await replica.stub.CheckAccess(
                check(PATIENT), metadata=asserted(settings, "consent", SERVICE + "CheckAccess", patient_id=PATIENT)
            )
            assert decided.decision == common_pb2.DECISION_DENY
        # And the other way round: revoked on B, dropped by the cache subscribed to A too.
        cache_permits(on_a)
        await asyncio.wait_for(
            b.stub.RevokeRule(
                consent_pb2.RevokeRuleRequest(patient_id=PATIENT, rule_id=rule.rule_id),
                metadata=as_patient(settings, "RevokeRule"),
            ),
            TIMEOUT_SECONDS,
        )
        assert on_a.get(check(PATIENT)) is None and on_a.get(check(OTHER)) is PERMIT


async def test_a_dead_replicas_subscribers_hold_a_change_until_their_leases_ran_out_not_longer(settings):
    lease = 1.0
    engine = make_engine(settings.database_url("consent"))
    sessions = make_sessions(engine)

    def book(replica: Replica) -> tuple[float, float]:
        """The database's time and the latest lease in the book granted by `replica`."""
        with sessions() as session:
            return database_now(session), session.scalar(
                select(func.max(PolicySubscriberRow.granted_until)).where(
                    PolicySubscriberRow.replica_id == replica.hub.replica_id
                )
            )

    try:
        async with (
            consent_replicas(settings, lease) as (a, b),
            subscribed_cache(settings, b.address) as on_b,
            subscribed_cache(settings, a.address) as on_a,
        ):
            await b.server.stop(grace=0)  # B is gone: its subscriber acknowledges nothing any more
            before, granted_until = await asyncio.to_thread(book, b)
            assert granted_until > before  # B's subscriber still held a lease in the book
            started = time.monotonic()
            await asyncio.wait_for(
                restrict(a.stub, settings),
                TIMEOUT_SECONDS,
            )
            took = time.monotonic() - started
            after, _ = await asyncio.to_thread(book, b)
            assert after >= granted_until  # not before B's subscriber's lease had run out ...
            assert took <= lease + 1.0  # ... and not much later
            # A keeps deciding, and its own subscriber kept its lease throughout.
            decided = await a.stub.CheckAccess(
                check(PATIENT), metadata=asserted(settings, "consent", SERVICE + "CheckAccess", patient_id=PATIENT)
            )
            assert decided.decision == common_pb2.DECISION_DENY
            assert on_a.healthy() and not on_b.healthy()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_feed_sequences_become_visible_in_order_across_writers(tmp_path, postgres_url):
    """A second change takes the next sequence only after the first committed: a follower that
    has read sequence n never finds a smaller one appear later."""
    settings = settings_for(tmp_path, consent=postgres_url)
    BACKEND.migrate(settings)
    engine = make_engine(postgres_url)
    sessions = make_sessions(engine)
    feed = PolicyFeed(sessions)

    def second_change() -> int:
        with sessions.begin() as session:
            return record(session, OTHER, 1)

    try:
        with ThreadPoolExecutor(1) as pool:
            with sessions.begin() as first:
                held = record(first, PATIENT, 1)  # a change between taking its sequence and its commit
                first_pid = first.scalar(text("SELECT pg_backend_pid()"))
                second = pool.submit(second_change)
                wait_until_blocked_by(engine, first_pid, timeout=TIMEOUT_SECONDS)
                assert feed.changes_after(held - 1) == [] and feed.head() == held - 1
            assert second.result(timeout=TIMEOUT_SECONDS) == held + 1
        assert [(c.sequence, c.patient_id) for c in feed.changes_after(held - 1)] == [
            (held, PATIENT),
            (held + 1, OTHER),
        ]
    finally:
        engine.dispose()


# --- a replica in a process of its own, killed ----------------------------------------------


@contextlib.asynccontextmanager
async def consent_process(
    settings: Settings, database_url: str, log: Path
) -> AsyncIterator[tuple[subprocess.Popen, str]]:
    """`samhandling serve consent` on the same database, in its own process (the default lease)."""
    address = f"127.0.0.1:{free_port()}"
    process = serve_process("consent", settings, address, log, database_url=database_url)
    try:
        async with grpc.aio.insecure_channel(address, interceptors=BindsAssertions(settings).interceptors()) as channel:
            await asyncio.wait_for(channel.channel_ready(), TIMEOUT_SECONDS)
        yield process, address
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=TIMEOUT_SECONDS)


async def test_a_replica_in_another_process_forwards_changes_and_once_killed_holds_them_one_lease(tmp_path):
    """Two processes on one SQLite file, as in development: no notifications, polling only (a
    killed replica on PostgreSQL is the in-process test above; a process costs seconds)."""
    db_url = f"sqlite:///{tmp_path / 'consent.db'}"
    settings = settings_for(tmp_path, consent=db_url)
    engine = make_engine(db_url)
    sessions = make_sessions(engine)

    def book(other_than: Replica) -> tuple[float, float]:
        """The database's time and the latest lease granted by the other process."""
        with sessions() as session:
            return database_now(session), session.scalar(
                select(func.max(PolicySubscriberRow.granted_until)).where(
                    PolicySubscriberRow.replica_id != other_than.hub.replica_id
                )
            )

    try:
        async with (
            consent_replicas(settings, LEASE_SECONDS, count=1) as (a,),
            consent_process(settings, db_url, tmp_path / "consent-b.log") as (b, b_address),
            subscribed_cache(settings, b_address) as on_b,
        ):
            cache_permits(on_b)
            await asyncio.wait_for(
                restrict(a.stub, settings, common_pb2.DATA_CATEGORY_VITAL_SIGNS),
                TIMEOUT_SECONDS,
            )
            assert on_b.get(check(PATIENT)) is None and on_b.get(check(OTHER)) is PERMIT
            b.send_signal(signal.SIGKILL)
            b.wait(timeout=TIMEOUT_SECONDS)
            before, granted_until = await asyncio.to_thread(book, a)
            assert granted_until > before  # the killed process's subscriber still held a lease in the book
            started = time.monotonic()
            await asyncio.wait_for(
                restrict(a.stub, settings),
                TIMEOUT_SECONDS,
            )
            took = time.monotonic() - started
            after, _ = await asyncio.to_thread(book, a)
            assert after >= granted_until and took <= LEASE_SECONDS + 1.0
            decided = await a.stub.CheckAccess(
                check(PATIENT), metadata=asserted(settings, "consent", SERVICE + "CheckAccess", patient_id=PATIENT)
            )
            assert decided.decision == common_pb2.DECISION_DENY
    finally:
        engine.dispose()


async def test_a_change_whose_confirmation_fails_after_the_commit_is_unavailable_not_internal(settings):
    """The database is lost between the commit and the wait for the caches (here: the feed's
    head cannot be read): the caller learns the change committed but is unconfirmed."""
    async with consent_replicas(settings, lease=1.0, count=1) as (replica,):

        def lost() -> int:
            raise OSError("the database went away")

        replica.hub._feed.head = lost  # type: ignore[method-assign]
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await restrict(replica.stub, settings, common_pb2.DATA_CATEGORY_VITAL_SIGNS, timeout=TIMEOUT_SECONDS)
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
        assert error_info(failed.value)[0] == "CHANGE_NOT_CONFIRMED"
        rules = await replica.stub.ListRules(
            consent_pb2.ListRulesRequest(patient_id=PATIENT), metadata=as_patient(settings, "ListRules")
        )
        assert [r.rule_type for r in rules.rules] == [consent_pb2.RULE_TYPE_RESTRICTION]  # it committed


def watch_call(settings: Settings, channel: grpc.aio.Channel):
    """A raw WatchPolicyChanges stream, opened as the gateway's decision cache opens it."""
    from gateway.audit_client import GATEWAY_ACTOR
    from gateway.decision_cache import WATCH_POLICY_CHANGES
    from services.platform.assertion import METADATA_KEY, STREAM_BINDING, Assertion

    signer = AssertionSigner(load_jwk(settings.assertion_signing_key(), settings))
    signed = signer.sign(Assertion(method=WATCH_POLICY_CHANGES, actor=GATEWAY_ACTOR), "consent", request=STREAM_BINDING)
    Request = consent_pb2.WatchPolicyChangesRequest
    return channel.stream_stream(
        WATCH_POLICY_CHANGES,
        request_serializer=Request.SerializeToString,
        response_deserializer=consent_pb2.WatchPolicyChangesResponse.FromString,
    )(metadata=((METADATA_KEY, signed),))


SUBSCRIBE = consent_pb2.WatchPolicyChangesRequest(
    subscribe=consent_pb2.WatchPolicyChangesRequest.Subscribe(subscriber_id="test")
)
ACKNOWLEDGE = consent_pb2.WatchPolicyChangesRequest(
    acknowledge=consent_pb2.WatchPolicyChangesRequest.Acknowledge(sequence=0)
)


async def test_a_watch_whose_renewal_cannot_be_recorded_ends_unavailable_not_ok(settings):
    async with consent_replicas(settings, lease=30.0, count=1) as (replica,):
        feed = replica.hub._feed

        def lost(*args) -> float | None:
            raise OSError("the database went away")

        async with grpc.aio.insecure_channel(replica.address) as channel:
            call = watch_call(settings, channel)
            await call.write(SUBSCRIBE)
            assert (await call.read()).WhichOneof("message") == "heartbeat"
            feed.renew = lost  # type: ignore[method-assign]
            await call.write(ACKNOWLEDGE)
            with pytest.raises(grpc.aio.AioRpcError) as ended:
                await asyncio.wait_for(call.read(), TIMEOUT_SECONDS)
            assert ended.value.code() == grpc.StatusCode.UNAVAILABLE
            assert error_info(ended.value)[0] == "POLICY_BOOK_UNAVAILABLE"


async def test_subscribers_arriving_together_cannot_exceed_the_limit(settings, monkeypatch):
    """The first subscriber is still being recorded (its slot taken, its stream not yet listed)
    when the second arrives: the second is refused."""
    import threading

    monkeypatch.setattr("services.consent.watch.MAX_SUBSCRIBERS", 1)
    async with consent_replicas(settings, lease=30.0, count=1) as (replica,):
        feed = replica.hub._feed
        recording, release = threading.Event(), threading.Event()
        subscribe = feed.subscribe

        def slow_subscribe(*args):
            recording.set()
            release.wait(TIMEOUT_SECONDS)
            return subscribe(*args)

        feed.subscribe = slow_subscribe  # type: ignore[method-assign]
        async with grpc.aio.insecure_channel(replica.address) as channel:
            first = watch_call(settings, channel)  # a call starts when it is made: one at a time
            try:
                await first.write(SUBSCRIBE)
                assert await asyncio.to_thread(recording.wait, TIMEOUT_SECONDS)
                second = watch_call(settings, channel)
                await second.write(SUBSCRIBE)
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await asyncio.wait_for(second.read(), TIMEOUT_SECONDS)
                assert error_info(refused.value)[0] == "TOO_MANY_SUBSCRIBERS"
            finally:
                release.set()
            assert (await first.read()).WhichOneof("message") == "heartbeat"
            first.cancel()
