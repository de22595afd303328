"""The gateway's replica set (services/platform/replica_set.py) over real gRPC servers on port 0,
with the DNS answer under the test's control (the set's `resolve`): readiness finds a replica
that moved to a new address without any call being made, a replica no longer named keeps its
open stream to the end and is closed after it, a client's streams spread over the replicas, and
a closed set ends its calls and makes no new ones, and a name that does not resolve fails the
call at once."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue

from services.platform import replica_set as module
from services.platform.channels import open_channel
from services.platform.readiness import channel_ready
from services.platform.replica_set import ReplicaSet, parse_target, replica_set
from tests.fixtures.replicas import HOLD, STREAM, replica, who

WAIT_SECONDS = 5.0  # upper bound on waiting for a condition, so a broken set fails instead of hanging


def named_by(answer: list[str]) -> ReplicaSet:
    """A set for `dns:///audit:50052` whose DNS answer is `answer` (changed by the test)."""

    async def resolve(host: str, port: int) -> list[str]:
        return list(answer)

    def open_one(address: str, options) -> grpc.aio.Channel:  # type: ignore[no-untyped-def]
        return open_channel(address, options=options)

    target = "dns:///audit:50052"
    return ReplicaSet(target, parse_target(target), open_one, resolve=resolve)


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {WAIT_SECONDS} s")
        await asyncio.sleep(0.01)  # the pace of asking again, not synchronisation


def opens_stream(channel: grpc.aio.Channel) -> grpc.aio.UnaryStreamCall:
    return channel.unary_stream(STREAM, response_deserializer=StringValue.FromString)(b"")


async def test_readiness_finds_the_replica_that_moved_to_a_new_address_without_a_call(monkeypatch) -> None:
    """A pod replaced under a new address, and no traffic (an unready gateway gets none): the
    readiness check itself resolves again, so the gateway becomes ready on its own."""
    monkeypatch.setattr(module, "MIN_REFRESH_SECONDS", 0.0)
    old, new = replica("old"), replica("new")
    answer = [f"127.0.0.1:{await old.start()}"]
    replicas = named_by(answer)
    try:
        assert await replicas.reachable(3.0)
        await old.stop(0)
        answer[:] = [f"127.0.0.1:{await new.start()}"]

        async def ready() -> bool:
            return await replicas.reachable(0.5) and replicas.addresses == answer

        await until(ready, "ready again on the new address")
        assert replicas.addresses == answer
        async with replicas.picked() as channel:
            assert await who(channel) == "new"
    finally:
        await replicas.close()
        await old.stop(0)
        await new.stop(0)


async def test_a_replica_no_longer_named_keeps_its_open_stream_and_is_closed_after_it(monkeypatch) -> None:
    monkeypatch.setattr(module, "REFRESH_SECONDS", 0.0)
    release = asyncio.Event()
    a, b = replica("a", release=release), replica("b", release=release)
    answer = [f"127.0.0.1:{await a.start()}"]
    pb = await b.start()
    replicas = named_by(answer)
    try:
        stream = await replicas.stream(opens_stream)
        assert (await stream.read()).value == "a"
        channel_a = replicas.channels()[answer[0]]
        answer[:] = [f"127.0.0.1:{pb}"]

        async def a_left() -> bool:
            async with replicas.picked() as channel:  # each pick starts a resolution (refresh 0 s)
                await who(channel)
            return replicas.addresses == answer

        await until(a_left, "the answer without a is taken")
        release.set()
        assert (await stream.read()).value == "a"  # not cut
        assert await stream.read() is grpc.aio.EOF
        assert await stream.code() == grpc.StatusCode.OK

        async def closed() -> bool:
            return channel_a.get_state() == grpc.ChannelConnectivity.SHUTDOWN

        await until(closed, "a's channel closed once its stream ended")
    finally:
        await replicas.close()
        await a.stop(0)
        await b.stop(0)


async def test_a_clients_streams_spread_over_the_replicas_and_its_calls_stay_on_one() -> None:
    release = asyncio.Event()
    a, b = replica("a", release=release), replica("b", release=release)
    replicas = replica_set(f"ipv4:127.0.0.1:{await a.start()},127.0.0.1:{await b.start()}")
    try:
        assert all(await asyncio.gather(*(channel_ready(c, WAIT_SECONDS) for c in replicas.channels().values())))
        streams = [await replicas.stream(opens_stream) for _ in range(4)]
        firsts = [(await s.read()).value for s in streams]
        assert sorted(firsts) == ["a", "a", "b", "b"]
        called = set()
        for _ in range(5):
            async with replicas.picked() as channel:
                called.add(await who(channel))
        assert len(called) == 1  # the open streams do not push a lone caller around
        on_b = [s for s, first in zip(streams, firsts, strict=True) if first == "b"]
        on_b[0].cancel()  # one fewer on b: the next stream goes there
        again = await replicas.stream(opens_stream)
        assert (await again.read()).value == "b"
        release.set()
    finally:
        await replicas.close()
        await a.stop(0)
        await b.stop(0)


async def test_a_closed_set_ends_its_open_calls_and_refuses_new_ones_with_unavailable() -> None:
    server = replica("a")
    replicas = replica_set(f"ipv4:127.0.0.1:{await server.start()}")

    async def held() -> None:
        async with replicas.picked() as channel:
            await channel.unary_unary(HOLD)(b"", timeout=WAIT_SECONDS)

    try:
        call = asyncio.ensure_future(held())

        async def in_flight() -> bool:
            return replicas.in_flight() == 1

        await until(in_flight, "the held call is open")
        await replicas.close()
        with pytest.raises((grpc.aio.AioRpcError, asyncio.CancelledError)):
            await asyncio.wait_for(call, WAIT_SECONDS)  # ended by the close, long before its deadline
        await refuses_with_unavailable(replicas)
    finally:
        await replicas.close()
        await server.stop(0)


async def test_a_name_that_does_not_resolve_fails_the_call_at_once_with_unavailable() -> None:
    async def nxdomain(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    target = "dns:///nothing-here.invalid:50053"
    replicas = ReplicaSet(
        target, parse_target(target), lambda address, options: open_channel(address), resolve=nxdomain
    )
    try:
        started = time.monotonic()
        await refuses_with_unavailable(replicas)
        assert time.monotonic() - started < 1.5  # at once: no connection was there to wait for
    finally:
        await replicas.close()


async def refuses_with_unavailable(replicas: ReplicaSet) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        async with replicas.picked():
            pass
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert not await replicas.reachable(0.5)
