"""Client channels over replicas (services/platform/channels.py), with real gRPC servers on
port 0: round_robin spreads calls over every replica an `ipv4:` target names, a replica that
announces NOT_SERVING stops getting picks while it still serves, and a backend restarted on
its port is reached again within about a second."""

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
from services.platform.settings import Settings
from tests.fixtures.replicas import HOLD, WHO, replica, who

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


async def test_the_gateways_backend_channels_spread_over_replicas() -> None:
    """The gateway's own channels (gateway/backend_channels.py) are built the same way."""
    a, b = replica("a"), replica("b")
    pa, pb = await a.start(), await b.start()
    settings = Settings()
    signer = AssertionSigner(load_jwk(settings.assertion_signing_key(), settings))
    backends = BackendChannels({"capacity": f"ipv4:127.0.0.1:{pa},127.0.0.1:{pb}"}, signer, TracerProvider())
    assertion = Assertion(method=WHO, actor=GATEWAY_ACTOR)

    async def ask() -> str:
        return (await backends.call("capacity", assertion, StringValue(), StringValue)).value

    try:
        seen: list[str] = []
        deadline = time.monotonic() + WAIT_SECONDS
        while {"a", "b"} - set(seen):
            assert time.monotonic() < deadline, f"not both replicas: {Counter(seen)}"
            seen.append(await ask())
        assert Counter([await ask() for _ in range(10)]) == {"a": 5, "b": 5}
    finally:
        await backends.close()
        await a.stop(0)
        await b.stop(0)


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
