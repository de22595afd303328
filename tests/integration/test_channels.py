"""Client channels over replicas, with real gRPC servers on port 0. The channel of
services/platform/channels.py: round_robin spreads calls over every replica an `ipv4:` target
names, a replica that announces NOT_SERVING stops getting picks while it still serves, and a
backend restarted on its port is reached again within about a second. The gateway's pick among
such channels (services/platform/replica_set.py): a lone caller stays on one replica, concurrent
calls spread evenly, a draining or stopped replica is left, and a `dns:///` name is resolved into
replicas whose TLS is checked against the name."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from opentelemetry.sdk.trace import TracerProvider

from gateway.audit_client import GATEWAY_ACTOR
from gateway.backend_channels import BackendChannels
from services.platform.assertion import Assertion, AssertionSigner
from services.platform.channels import open_channel
from services.platform.keys import load_jwk
from services.platform.readiness import channel_ready
from services.platform.replica_set import ReplicaSet, replica_set
from services.platform.server import ServerTransport
from services.platform.settings import Settings
from services.platform.tls import TlsFiles
from tests.fixtures.replicas import HOLD, WHO, replica, who
from tests.fixtures.tls import Authority

WAIT_SECONDS = 5.0  # upper bound on waiting for a condition, so a broken channel fails instead of hanging


async def answers_until(channel: grpc.aio.Channel, done, what: str) -> list[str]:
    """Calls until `done(answers so far)`; fails after WAIT_SECONDS. Failed calls count as ""."""
    answers: list[str] = []
    deadline = time.monotonic() + WAIT_SECONDS
    while not done(answers):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {WAIT_SECONDS} s; answers {Counter(answers)}")
        try:
            answers.append(await who(channel))
        except grpc.aio.AioRpcError:
            answers.append("")
            await asyncio.sleep(0.02)  # the pace of retrying a refused call, not synchronisation
    return answers


async def test_round_robin_spreads_calls_over_every_replica_of_an_ipv4_target() -> None:
    a, b = replica("a"), replica("b")
    pa, pb = await a.start(), await b.start()
    try:
        async with open_channel(f"ipv4:127.0.0.1:{pa},127.0.0.1:{pb}") as channel:
            await answers_until(channel, lambda seen: {"a", "b"} <= set(seen), "both replicas answer")
            # Both connections are READY now: round_robin takes them in turn.
            spread = Counter([await who(channel) for _ in range(20)])
        assert spread == {"a": 10, "b": 10}
    finally:
        await a.stop(0)
        await b.stop(0)


async def test_the_gateways_backend_channels_keep_a_lone_caller_on_one_replica_and_spread_concurrent_calls() -> None:
    """The gateway's channels (gateway/backend_channels.py) pick by least request
    (services/platform/replica_set.py): sequential calls stay on one warm replica, calls open
    at once are spread evenly."""
    release = asyncio.Event()
    a, b = replica("a", release=release), replica("b", release=release)
    pa, pb = await a.start(), await b.start()
    settings = Settings()
    signer = AssertionSigner(load_jwk(settings.assertion_signing_key(), settings))
    backends = BackendChannels({"capacity": f"ipv4:127.0.0.1:{pa},127.0.0.1:{pb}"}, signer, TracerProvider())

    async def ask(method: str) -> str:
        assertion = Assertion(method=method, actor=GATEWAY_ACTOR)
        return (await backends.call("capacity", assertion, StringValue(), StringValue)).value

    try:
        await both_ready(backends.replicas("capacity"))
        lone = Counter([await ask(WHO) for _ in range(20)])
        assert len(lone) == 1 and sum(lone.values()) == 20, lone
        held = [asyncio.ensure_future(ask(HOLD)) for _ in range(10)]
        await until(lambda: backends.replicas("capacity").in_flight() == 10, "ten calls in flight")
        release.set()
        assert Counter(await asyncio.gather(*held)) == {"a": 5, "b": 5}
    finally:
        await backends.close()
        await a.stop(0)
        await b.stop(0)


async def test_clients_with_one_call_at_a_time_spread_over_the_replicas_by_their_preferences() -> None:
    """A gateway sends its audit appends one at a time: each client keeps to the replica it drew,
    and many clients spread over both (all 30 on one: 2 in 2^30)."""
    a, b = replica("a"), replica("b")
    pa, pb = await a.start(), await b.start()
    clients = [replica_set(f"ipv4:127.0.0.1:{pa},127.0.0.1:{pb}") for _ in range(30)]

    async def ask(replicas: ReplicaSet) -> str:
        async with replicas.picked() as channel:
            return await who(channel)

    try:
        for client in clients:
            await both_ready(client)
        kept = [Counter([await ask(client) for _ in range(3)]) for client in clients]
        assert all(len(answers) == 1 for answers in kept), kept
        assert Counter(name for answers in kept for name in answers).keys() == {"a", "b"}
    finally:
        for client in clients:
            await client.close()
        await a.stop(0)
        await b.stop(0)


async def test_a_lone_caller_moves_to_the_other_replica_when_its_own_drains_or_stops() -> None:
    a, b = replica("a"), replica("b")
    pa, pb = await a.start(), await b.start()
    servers = {"a": a, "b": b}
    replicas = replica_set(f"ipv4:127.0.0.1:{pa},127.0.0.1:{pb}")

    async def ask() -> str:
        async with replicas.picked() as channel:
            return await who(channel)

    try:
        await both_ready(replicas)
        first = await ask()
        other = "b" if first == "a" else "a"
        await servers[first].drain(0)  # NOT_SERVING, still serving
        await until_answers(ask, other, "the draining replica is left")
        assert Counter([await ask() for _ in range(10)]) == {other: 10}
        await servers[first].stop(0)
        assert Counter([await ask() for _ in range(10)]) == {other: 10}
    finally:
        await replicas.close()
        await a.stop(0)
        await b.stop(0)


async def test_a_dns_name_is_resolved_into_replicas_and_checked_by_tls_against_the_name(tmp_path) -> None:
    """`dns:///localhost:port` resolves (127.0.0.1, and ::1 where nothing listens); each replica's
    channel carries the name as its authority, so a certificate naming only `localhost` (not the
    address) is accepted, and one naming another host is not."""
    ca = Authority("samhandling", tmp_path)
    for names, accepted in ((("localhost",), True), (("elsewhere.example",), False)):
        cert = ca.issue("a", server=True, names=names)
        server = replica("a", transport=ServerTransport(tls=TlsFiles(ca.ca_file, cert.cert, cert.key)))
        port = await server.start()
        replicas = replica_set(f"dns:///localhost:{port}", tls=TlsFiles(ca_file=ca.ca_file))
        try:
            assert await replicas.reachable(3.0) is accepted
            assert f"127.0.0.1:{port}" in replicas.addresses
            if accepted:
                async with replicas.picked() as channel:
                    assert await who(channel) == "a"
        finally:
            await replicas.close()
            await server.stop(0)


async def both_ready(replicas: ReplicaSet) -> None:
    channels = replicas.channels()
    assert len(channels) == 2
    assert all(await asyncio.gather(*(channel_ready(c, WAIT_SECONDS) for c in channels.values())))


async def until(condition, what: str) -> None:
    """Waits (at most WAIT_SECONDS) for `condition`, letting the other tasks run."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {WAIT_SECONDS} s")
        await asyncio.sleep(0)


async def until_answers(ask, name: str, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            if await ask() == name:
                return
        except grpc.aio.AioRpcError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {WAIT_SECONDS} s")


async def test_a_draining_replica_gets_no_picks_but_still_serves() -> None:
    a, b = replica("a"), replica("b")
    pa, pb = await a.start(), await b.start()
    try:
        async with open_channel(f"ipv4:127.0.0.1:{pa},127.0.0.1:{pb}") as channel:
            await answers_until(channel, lambda seen: {"a", "b"} <= set(seen), "both replicas answer")
            await a.drain(0)  # NOT_SERVING, still serving

            def only_b(seen: list[str]) -> bool:
                return len(seen) >= 10 and set(seen[-10:]) == {"b"}

            await answers_until(channel, only_b, "the health-checked channel avoids the draining replica")
            assert Counter([await who(channel) for _ in range(10)]) == {"b": 10}
        async with open_channel(f"127.0.0.1:{pa}", health_checked=False) as direct:
            assert await who(direct) == "a"  # drained, not stopped: a call that still comes is served
    finally:
        await a.stop(0)
        await b.stop(0)


async def test_a_backend_restarted_on_its_port_is_reached_again_within_two_seconds() -> None:
    first = replica("first")
    port = await first.start()
    async with open_channel(f"127.0.0.1:{port}") as channel:
        assert await who(channel) == "first"
        await first.stop(0)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await who(channel)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE  # fails at once, closed
        # An outage long enough that gRPC's default backoff (1 s, x1.6 per attempt) would
        # already wait several seconds for its next attempt; the outage's length, not a wait.
        await asyncio.sleep(3.0)
        again = replica("again", f"127.0.0.1:{port}")
        await again.start()
        try:
            started = time.monotonic()
            await answers_until(channel, lambda seen: "again" in seen, "the restarted backend answers")
            assert time.monotonic() - started < 2.0
        finally:
            await again.stop(0)


async def test_a_dns_target_reaches_its_replica() -> None:
    """`dns:///name:port`, as a Kubernetes headless Service is named; localhost also resolves
    to ::1, where nothing listens: round_robin picks only the address that is READY."""
    a = replica("a")
    port = await a.start()
    try:
        async with open_channel(f"dns:///localhost:{port}") as channel:
            answers = await answers_until(channel, lambda seen: "a" in seen, "the replica answers")
            assert Counter([await who(channel) for _ in range(5)]) == {"a": 5}
        assert set(answers) <= {"a", ""}
    finally:
        await a.stop(0)


async def test_servers_enforce_their_keepalive_limit_on_clients_that_ping_too_often() -> None:
    """The servers' ping policy is in force (ours ping half as often as it permits, see the
    unit tests): a client pinging every 100 ms is sent GOAWAY too_many_pings, ending its call."""
    server = replica("a")
    port = await server.start()
    try:
        eager = [("grpc.keepalive_time_ms", 100)]
        async with open_channel(f"127.0.0.1:{port}", options=eager, health_checked=False) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as cut:
                await channel.unary_unary(HOLD)(b"", timeout=WAIT_SECONDS)
        assert cut.value.code() == grpc.StatusCode.UNAVAILABLE
        assert cut.value.details() == "Too many pings"  # GOAWAY ENHANCE_YOUR_CALM "too_many_pings"
    finally:
        await server.stop(0)
