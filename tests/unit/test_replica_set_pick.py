"""The pure parts of services/platform/replica_set.py: the replicas a target names (parsing:
tests/unit/test_cli_cluster_plan.py) and the least-request pick among them."""

from __future__ import annotations

import asyncio
import random
import socket

import grpc
import pytest

from services.platform import replica_set as module
from services.platform.replica_set import (
    MAX_REPLICAS_PER_TARGET,
    Candidate,
    ReplicaSet,
    least_request,
    parse_target,
    resolved_addresses,
)


def test_a_dns_answer_gives_each_address_once_in_its_order() -> None:
    """What getaddrinfo answers for a headless Service (each address once per socket type)."""
    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 50052)),
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fd00::7", 50052, 0, 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 50052)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.3", 50052)),
    ]
    assert resolved_addresses(answers) == ["10.0.0.7:50052", "[fd00::7]:50052", "10.0.0.3:50052"]


def test_a_fixed_list_keeps_at_most_max_replicas() -> None:
    listed = ",".join(f"127.0.0.1:{5000 + i}" for i in range(MAX_REPLICAS_PER_TARGET + 5))
    assert len(parse_target("ipv4:" + listed).addresses) == MAX_REPLICAS_PER_TARGET


def test_among_idle_replicas_the_preferred_one_is_picked_else_the_one_picked_last() -> None:
    assert least_request([Candidate(True, 0, last_pick=3), Candidate(True, 0, preferred=True, last_pick=1)]) == 1
    assert least_request([Candidate(True, 0, last_pick=3), Candidate(True, 0, last_pick=7)]) == 1
    assert least_request([Candidate(True, 0, last_pick=9), Candidate(True, 0, last_pick=7)]) == 0


def test_the_replica_with_fewest_calls_in_flight_is_picked_even_over_the_preferred_one() -> None:
    picked = least_request(
        [Candidate(True, 2, preferred=True), Candidate(True, 1, last_pick=1), Candidate(True, 3, last_pick=5)]
    )
    assert picked == 1


def test_only_ready_replicas_are_picked_while_any_is_ready() -> None:
    # The idle, preferred replica is not READY (draining, down, connecting): the busy READY one is picked.
    assert least_request([Candidate(False, 0, preferred=True, last_pick=9), Candidate(True, 5, last_pick=1)]) == 1


def test_with_none_ready_the_least_loaded_is_picked_so_the_call_fails_at_once() -> None:
    assert least_request([Candidate(False, 1, last_pick=9), Candidate(False, 0, last_pick=1)]) == 1


@pytest.mark.parametrize("preferred", [None, 0, 1, 2])
def test_k_concurrent_calls_spread_evenly_whichever_replica_is_preferred(preferred: int | None) -> None:
    """Calls arriving while earlier ones are open: none of n replicas gets more than ceil(k/n)."""
    for n in (3, 5):
        for k in range(1, 23):
            in_flight = [0] * n
            last = [0] * n
            for pick in range(1, k + 1):
                i = least_request([Candidate(True, in_flight[j], j == preferred, last[j]) for j in range(n)])
                in_flight[i] += 1
                last[i] = pick
            assert max(in_flight) == -(-k // n), (n, k, in_flight)


class FakeChannel:
    """Stands for a gRPC channel: its connectivity state, set by the test, and whether it was
    closed."""

    def __init__(self) -> None:
        self.state = grpc.ChannelConnectivity.READY
        self.closed = False

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self.state

    async def close(self, grace: float | None = None) -> None:
        self.closed = True


class FakeStream:
    """Stands for a stream call: the test ends it."""

    def __init__(self) -> None:
        self._done: list = []

    def add_done_callback(self, callback) -> None:  # type: ignore[no-untyped-def]
        self._done.append(callback)

    def end(self) -> None:
        for callback in self._done:
            callback(self)


class LastOne(random.Random):
    """Draws the last replica offered, and records what each draw was offered."""

    def __init__(self) -> None:
        super().__init__()
        self.offered: list[list[str]] = []

    def choice(self, seq):  # type: ignore[no-untyped-def, override]
        self.offered.append([r.address for r in seq])
        return seq[-1]


def fake_set(*addresses: str) -> tuple[ReplicaSet, dict[str, FakeChannel], LastOne]:
    channels: dict[str, FakeChannel] = {}

    def open_one(address: str, options) -> FakeChannel:  # type: ignore[no-untyped-def]
        channels[address] = FakeChannel()
        return channels[address]

    target = "ipv4:" + ",".join(addresses)
    rng = LastOne()
    return ReplicaSet(target, parse_target(target), open_one, rng=rng), channels, rng  # type: ignore[arg-type]


def fake_named_set(answer: list[str]) -> tuple[ReplicaSet, list[tuple[str, FakeChannel]], list[int]]:
    """A set for a DNS name whose answer is `answer`; every channel opened, and each resolution."""
    opened: list[tuple[str, FakeChannel]] = []
    asked: list[int] = []

    def open_one(address: str, options) -> FakeChannel:  # type: ignore[no-untyped-def]
        opened.append((address, FakeChannel()))
        return opened[-1][1]

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(port)
        return list(answer)

    target = "dns:///audit:50052"
    return ReplicaSet(target, parse_target(target), open_one, resolve=resolve), opened, asked  # type: ignore[arg-type]


async def resolved(replicas: ReplicaSet) -> None:
    """Lets a resolution the last pick started finish."""
    if replicas._resolving is not None:
        await asyncio.wait({replicas._resolving})


async def pick(replicas: ReplicaSet) -> str:
    async with replicas.picked() as channel:
        return next(a for a, c in replicas.channels().items() if c is channel)


def test_a_preference_is_kept_while_ready_and_drawn_again_when_more_replicas_are_ready() -> None:
    async def scenario() -> None:
        replicas, channels, rng = fake_set("a:1", "b:1")
        assert [await pick(replicas) for _ in range(5)] == ["b:1"] * 5
        assert rng.offered == [["a:1", "b:1"]]  # one draw, kept
        channels["b:1"].state = grpc.ChannelConnectivity.TRANSIENT_FAILURE  # b restarts
        assert [await pick(replicas) for _ in range(3)] == ["a:1"] * 3
        assert rng.offered[1:] == [["a:1"]]
        channels["b:1"].state = grpc.ChannelConnectivity.READY  # b is back: drawn from both again
        await pick(replicas)
        assert rng.offered[2:] == [["a:1", "b:1"]]

    asyncio.run(scenario())


def test_a_call_that_finds_its_replica_unavailable_sends_the_retry_elsewhere() -> None:
    async def scenario() -> None:
        replicas, _, rng = fake_set("a:1", "b:1")
        assert await pick(replicas) == "b:1"
        with pytest.raises(grpc.aio.AioRpcError):
            async with replicas.picked():
                raise grpc.aio.AioRpcError(
                    grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "gone", None
                )
        assert await pick(replicas) == "a:1"  # b is still READY, but not drawn
        assert rng.offered[-1] == ["a:1"]

    asyncio.run(scenario())


def test_a_name_is_resolved_again_early_only_while_some_replica_cannot_be_connected_to(monkeypatch) -> None:
    monkeypatch.setattr(module, "REFRESH_SECONDS", 3600.0)
    monkeypatch.setattr(module, "MIN_REFRESH_SECONDS", 0.0)

    async def scenario() -> None:
        replicas, opened, asked = fake_named_set(["10.0.0.1:50052", "10.0.0.2:50052"])
        for _ in range(3):
            await pick(replicas)
            await resolved(replicas)
        assert len(asked) == 1  # before the first call only: every replica READY
        opened[1][1].state = grpc.ChannelConnectivity.TRANSIENT_FAILURE
        await pick(replicas)
        await resolved(replicas)
        assert len(asked) == 2

    asyncio.run(scenario())


async def left_out_with_a_stream(
    answer: list[str],
) -> tuple[ReplicaSet, list[tuple[str, FakeChannel]], FakeChannel, FakeStream]:
    """A set whose one replica has a stream open, then leaves the answer (`answer` changed)."""
    replicas, opened, _ = fake_named_set(answer)
    stream = FakeStream()
    await replicas.stream(lambda channel: stream)  # type: ignore[arg-type, return-value]
    ((_, first),) = opened
    answer[:] = ["10.0.0.2:50052"]
    await pick(replicas)
    await resolved(replicas)
    assert replicas.addresses == ["10.0.0.2:50052"] and not first.closed  # its stream is open
    return replicas, opened, first, stream


def test_a_replica_left_out_keeps_its_stream_and_named_again_keeps_its_one_channel(monkeypatch) -> None:
    monkeypatch.setattr(module, "REFRESH_SECONDS", 0.0)

    async def scenario() -> None:
        answer = ["10.0.0.1:50052"]
        replicas, opened, first, stream = await left_out_with_a_stream(answer)
        answer[:] = ["10.0.0.1:50052", "10.0.0.2:50052"]
        await pick(replicas)
        await resolved(replicas)
        assert [a for a, _ in opened] == ["10.0.0.1:50052", "10.0.0.2:50052"]  # no second channel
        assert replicas.channels()["10.0.0.1:50052"] is first
        stream.end()
        await asyncio.gather(*replicas._closing)  # any close scheduled has run
        assert not first.closed  # named again: kept

    asyncio.run(scenario())


def test_a_replica_left_out_is_closed_when_its_last_stream_ends(monkeypatch) -> None:
    monkeypatch.setattr(module, "REFRESH_SECONDS", 0.0)

    async def scenario() -> None:
        replicas, _, first, stream = await left_out_with_a_stream(["10.0.0.1:50052"])
        stream.end()
        await asyncio.gather(*replicas._closing)  # the close its end scheduled has run
        assert first.closed
        await replicas.close()

    asyncio.run(scenario())
