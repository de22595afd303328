"""The replicas one target names, and which of them takes the next call: the one with the
fewest of this client's calls in flight; among equals the one this client prefers, a replica
drawn at random.

Why not gRPC's round_robin alone: round_robin takes the replicas in turn call by call, so a
caller with one call at a time (a quiet hour; the gateway's audit appends, which it sends one at
a time, gateway/audit_client.py) alternates between them, and each replica idles through the
other's call before it gets its next. On a shared machine the same Python work then costs more
CPU and time: docs/audit-replicas.md measured two audit replicas at 0.87–0.96× the speed of one
for a lone writer, for that reason alone. Here a lone caller stays on one warm replica, while
concurrent calls still spread evenly: a call goes where fewest are open, so with k calls in
flight over n replicas none has more than ⌈k/n⌉ (least request, as Envoy and Linkerd balance;
gRPC's C-core, which the Python client uses, has no such policy: gRFC A48 is implemented in Java
and Go only). Many clients spread over the replicas by their random preferences. A preference is
kept while its replica is READY and drawn again when more replicas are READY than it was drawn
from, so a rolling restart, which moves every client off each replica in turn, does not leave
them all on the last one. Streams (watches, open for as long as their token lasts) are counted
apart: a stream goes to the replica with the fewest of this client's open streams. The pick is
made here, over channels gRPC manages:

- one channel per replica address (services.platform.channels.open_channel: round_robin over
  that one address, so gRPC still health-checks it with `Health/Watch`, keeps it alive and
  reconnects it within about a second). Only READY replicas are picked: a draining replica
  (NOT_SERVING) or one that is down is skipped at once. When none is READY, the pick waits (at
  most CONNECT_WAIT_SECONDS in all) for a resolution that is due and for a replica that is
  connecting, as round_robin queues a call; when none can be had, the call goes to one anyway and
  fails at once with UNAVAILABLE, so callers fail closed. A call that fails with
  UNAVAILABLE costs its replica the preference, so the caller's retry goes to another replica
  when one is READY.
- The addresses: an `ipv4:`/`ipv6:` list names fixed replicas. A `dns:///name:port` (a Kubernetes
  headless Service: one address per ready pod) is resolved here, with the event loop's
  getaddrinfo: before the first call; then, as calls are picked and readiness is checked, every
  REFRESH_SECONDS, and every MIN_REFRESH_SECONDS while some replica cannot be connected to (a pod
  gone, perhaps replaced under a new address). A failed resolution keeps the addresses known. A
  replica no longer named gets no new calls, and its channel is closed once its open calls and
  streams have ended (the gateway ends a stream when its token expires or its client leaves); a
  replica named again meanwhile keeps that channel. Each channel to a resolved address carries the
  name as its authority, so TLS checks the server's certificate against the name, not the
  address.
- Any other target (`host:port`, `unix:`, another resolver's scheme) is one replica: one channel,
  which gRPC resolves and balances itself (`samhandling status` counts replicas the same way,
  services.cli.health).

Bounded: at most MAX_REPLICAS_PER_TARGET addresses per target (the rest of a list or a DNS
answer is left out, and the log says so); one resolution in flight per target; replicas no
longer named are kept only while calls or streams are open on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from .channels import open_channel
from .readiness import channel_ready
from .tls import TlsFiles

log = logging.getLogger(__name__)

MAX_REPLICAS_PER_TARGET = 64
CONNECT_WAIT_SECONDS = 2.0
REFRESH_SECONDS = 30.0
MIN_REFRESH_SECONDS = 5.0  # as services.platform.channels.DNS_MIN_RESOLUTION_INTERVAL_MS
RESOLVE_TIMEOUT_SECONDS = 5.0

_READY = grpc.ChannelConnectivity.READY
_WAITING = (grpc.ChannelConnectivity.IDLE, grpc.ChannelConnectivity.CONNECTING)


@dataclass(frozen=True)
class Target:
    """A parsed gRPC target: literal replica addresses (`host:port`, each dialled as it is), or a
    DNS name and port whose every address is a replica. `left_out`: addresses of a list past
    MAX_REPLICAS_PER_TARGET."""

    addresses: tuple[str, ...] = ()
    dns_name: str | None = None
    dns_port: int | None = None
    left_out: int = 0


def parse_target(target: str) -> Target:
    """Pure: `ipv4:`/`ipv6:` lists (the first MAX_REPLICAS_PER_TARGET), `dns:[//authority]/name:port`,
    else one replica (`host:port`, or another scheme's target, left to gRPC)."""
    for scheme in ("ipv4:", "ipv6:"):
        if target.startswith(scheme):
            listed = [a.strip() for a in target[len(scheme) :].split(",") if a.strip()]
            kept = listed[:MAX_REPLICAS_PER_TARGET]
            return Target(tuple(kept), left_out=len(listed) - len(kept))
    if target.startswith("dns:"):
        rest = target[len("dns:") :]
        if rest.startswith("//"):  # dns://authority/name:port: the authority is not ours to use
            rest = rest[2:].split("/", 1)[1] if "/" in rest[2:] else ""
        host, _, port = rest.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"a dns target needs name:port: {target!r}")
        return Target(dns_name=host.strip("[]"), dns_port=int(port))
    return Target((target,))


def resolved_addresses(answers: Sequence[tuple[Any, ...]]) -> list[str]:
    """Pure: `host:port` of each distinct address of a getaddrinfo answer, in its order."""
    addresses: list[str] = []
    for family, _, _, _, sockaddr in answers:
        host = f"[{sockaddr[0]}]" if family == socket.AF_INET6 else sockaddr[0]
        address = f"{host}:{sockaddr[1]!r}"  # the port, an int (!r: typeshed allows bytes here)
        if address not in addresses:
            addresses.append(address)
    return addresses


async def resolve_by_dns(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, as `host:port` (the event loop's getaddrinfo)."""
    answers = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return resolved_addresses(answers)


@dataclass(frozen=True)
class Candidate:
    """What the pick knows of one replica: `load` is this client's calls (or, for a stream,
    streams) open on it."""

    ready: bool
    load: int
    preferred: bool = False
    last_pick: int = 0  # the pick counter's value when it was last picked; 0 for never


def least_request(candidates: Sequence[Candidate]) -> int:
    """The index of the replica to call: among the READY ones (or, if none is, among all) the
    one with the least load; among those the preferred one, else the one picked last."""
    pool = [i for i, c in enumerate(candidates) if c.ready] or list(range(len(candidates)))
    return min(pool, key=lambda i: (candidates[i].load, not candidates[i].preferred, -candidates[i].last_pick))


@dataclass(eq=False)
class _Replica:
    address: str
    channel: grpc.aio.Channel
    in_flight: int = 0
    streams: int = 0
    last_pick: int = 0

    @property
    def idle(self) -> bool:
        return self.in_flight == 0 and self.streams == 0


@dataclass(eq=False)
class ReplicaSet:
    """The replicas of one target and the least-request pick among them (module docstring)."""

    name: str  # the target as configured, for the log
    target: Target
    open: Callable[[str, Sequence[tuple[str, Any]]], grpc.aio.Channel]
    resolve: Callable[[str, int], Awaitable[list[str]]] = resolve_by_dns
    rng: random.Random = field(default_factory=random.Random)
    _replicas: dict[str, _Replica] = field(default_factory=dict)
    _retiring: set[_Replica] = field(default_factory=set)
    _closing: set[asyncio.Task[None]] = field(default_factory=set)
    _picks: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _resolved_at: float | None = None
    _resolving: asyncio.Task[None] | None = None
    _preferred: _Replica | None = None
    _drawn_from: int = 0  # how many replicas were READY when the preferred one was drawn
    _failed: _Replica | None = None  # the last replica a call found UNAVAILABLE: not drawn next
    _closed: bool = False

    def __post_init__(self) -> None:
        for address in self.target.addresses:
            self._replicas[address] = _Replica(address, self.open(address, ()))
        if self.target.left_out:
            log.warning(
                "more addresses than replicas kept",
                extra={"target": self.name, "kept": MAX_REPLICAS_PER_TARGET, "left_out": self.target.left_out},
            )

    @property
    def addresses(self) -> list[str]:
        return list(self._replicas)

    def channels(self) -> dict[str, grpc.aio.Channel]:
        """Each named replica's channel, by address (for status and tests)."""
        return {a: r.channel for a, r in self._replicas.items()}

    def in_flight(self) -> int:
        """This client's calls open on every replica together (those no longer named too)."""
        return sum(r.in_flight for r in [*self._replicas.values(), *self._retiring])

    def redraw(self) -> None:
        """Forgets the preference: the next pick draws the preferred replica again."""
        self._preferred = None

    @contextlib.asynccontextmanager
    async def picked(self) -> AsyncIterator[grpc.aio.Channel]:
        """The channel to the replica picked for one call, counted as in flight until the
        block ends (make the call inside it)."""
        replica = await self._pick(stream=False)
        replica.in_flight += 1
        try:
            yield replica.channel
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.UNAVAILABLE:  # a resent call goes elsewhere if it can
                replica.last_pick = 0
                self._failed = replica
                if self._preferred is replica:
                    self._preferred = None
            raise
        finally:
            replica.in_flight -= 1
            self._close_if_retired(replica)

    async def stream(
        self, open_call: Callable[[grpc.aio.Channel], grpc.aio.UnaryStreamCall]
    ) -> grpc.aio.UnaryStreamCall:
        """Opens a server stream (`open_call` on the channel picked for it) on the replica with
        the fewest of this client's open streams; counted until the stream is done."""
        replica = await self._pick(stream=True)
        call = open_call(replica.channel)
        replica.streams += 1

        def ended(_: object) -> None:
            replica.streams -= 1
            self._close_if_retired(replica)

        call.add_done_callback(ended)
        return call

    async def reachable(self, timeout: float) -> bool:
        """Whether some replica is READY or gets so within `timeout` (for readiness; a
        resolution that is due is made first)."""
        if self._closed:
            return False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._refresh_if_due()
        if not self._any_ready():
            await self._resolution(timeout)
        replicas = list(self._replicas.values())
        remaining = deadline - loop.time()
        if not replicas or remaining <= 0:
            return False
        checks = [asyncio.ensure_future(channel_ready(r.channel, remaining)) for r in replicas]
        try:
            for finished in asyncio.as_completed(checks):
                if await finished:
                    return True
            return False
        finally:
            for check in checks:
                check.cancel()

    async def close(self) -> None:
        """Closes every channel at once (calls and streams still open are cancelled); the set
        makes no new calls after it."""
        self._closed = True
        if self._resolving is not None:
            self._resolving.cancel()
            await asyncio.gather(self._resolving, return_exceptions=True)
        replicas = [*self._replicas.values(), *self._retiring]
        self._replicas, self._retiring = {}, set()
        await asyncio.gather(*(r.channel.close(None) for r in replicas), return_exceptions=True)
        await asyncio.gather(*self._closing, return_exceptions=True)

    async def _pick(self, *, stream: bool) -> _Replica:
        if self._closed:
            raise _unavailable("the client is closed")
        self._refresh_if_due()
        replicas = list(self._replicas.values())
        ready = [r.channel.get_state(try_to_connect=True) is _READY for r in replicas]
        if not any(ready):
            deadline = asyncio.get_running_loop().time() + CONNECT_WAIT_SECONDS
            await self._resolution(CONNECT_WAIT_SECONDS)
            await self._wait_for_ready(list(self._replicas.values()), deadline)
            replicas = list(self._replicas.values())  # read again: a resolution may have changed them
            ready = [r.channel.get_state(try_to_connect=True) is _READY for r in replicas]
        if self._closed or not replicas:
            raise _unavailable(f"no address for {self.name}")
        preferred = self._prefer(replicas, ready)
        chosen = replicas[
            least_request(
                [
                    Candidate(ok, r.streams if stream else r.in_flight, r is preferred, r.last_pick)
                    for ok, r in zip(ready, replicas, strict=True)
                ]
            )
        ]
        chosen.last_pick = next(self._picks)
        return chosen

    def _any_ready(self) -> bool:
        return any(r.channel.get_state(try_to_connect=True) is _READY for r in self._replicas.values())

    def _any_failing(self) -> bool:
        """Whether there is no replica, or one cannot be connected to (a pod gone, perhaps
        replaced under a new address)."""
        states = [r.channel.get_state() for r in self._replicas.values()]
        return not states or grpc.ChannelConnectivity.TRANSIENT_FAILURE in states

    def _prefer(self, replicas: list[_Replica], ready: list[bool]) -> _Replica | None:
        """The replica this client prefers among equals: drawn at random among the READY ones,
        and kept while it is READY, until more replicas are READY than it was drawn from (so
        clients spread over the replicas, and spread again when one comes back from a restart
        that had moved its clients elsewhere)."""
        drawn = [r for r, ok in zip(replicas, ready, strict=True) if ok]
        preferred = self._preferred
        if preferred is not None and preferred in drawn and len(drawn) <= self._drawn_from:
            return preferred
        self._drawn_from = len(drawn)
        if len(drawn) > 1 and self._failed in drawn:
            drawn.remove(self._failed)
        if drawn:
            self._preferred, self._failed = self.rng.choice(drawn), None
        return self._preferred

    async def _wait_for_ready(self, replicas: list[_Replica], deadline: float) -> None:
        """Waits (until `deadline`, the loop's time) while none of `replicas` is READY and some
        are connecting."""
        loop = asyncio.get_running_loop()
        while True:
            states = [r.channel.get_state(try_to_connect=True) for r in replicas]
            waiting = [(r, s) for r, s in zip(replicas, states, strict=True) if s in _WAITING]
            remaining = deadline - loop.time()
            if _READY in states or not waiting or remaining <= 0:
                return
            changes = [asyncio.ensure_future(r.channel.wait_for_state_change(s)) for r, s in waiting]
            try:
                await asyncio.wait(changes, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for change in changes:
                    change.cancel()

    def _refresh_if_due(self) -> None:
        if self.target.dns_name is None or self._resolving is not None or self._closed:
            return
        if self._resolved_at is None:
            due = True
        else:
            age = asyncio.get_running_loop().time() - self._resolved_at
            due = age >= REFRESH_SECONDS or (age >= MIN_REFRESH_SECONDS and self._any_failing())
        if due:
            self._resolving = asyncio.ensure_future(self._resolve())
            self._resolving.add_done_callback(self._resolved)

    def _resolved(self, task: asyncio.Task[None]) -> None:
        self._resolving = None
        if not task.cancelled() and task.exception() is not None:
            log.warning("replica resolution failed", extra={"target": self.name}, exc_info=task.exception())

    async def _resolution(self, timeout: float) -> None:
        """Starts a resolution if one is due and waits for the one running (at most `timeout`)."""
        self._refresh_if_due()
        if self._resolving is not None:
            await asyncio.wait({self._resolving}, timeout=timeout)

    async def _resolve(self) -> None:
        loop = asyncio.get_running_loop()
        assert self.target.dns_name is not None and self.target.dns_port is not None
        try:
            addresses = await asyncio.wait_for(
                self.resolve(self.target.dns_name, self.target.dns_port), RESOLVE_TIMEOUT_SECONDS
            )
        except (OSError, TimeoutError) as error:
            log.warning(
                "name did not resolve; keeping the replicas known",
                extra={"target": self.name, "error": type(error).__name__},
            )
            return
        finally:
            self._resolved_at = loop.time()
        if len(addresses) > MAX_REPLICAS_PER_TARGET:
            log.warning(
                "more addresses than replicas kept",
                extra={
                    "target": self.name,
                    "kept": MAX_REPLICAS_PER_TARGET,
                    "left_out": len(addresses) - MAX_REPLICAS_PER_TARGET,
                },
            )
            addresses = addresses[:MAX_REPLICAS_PER_TARGET]
        if addresses:  # an empty answer is treated as a failed one
            self._update(addresses)

    def _update(self, addresses: list[str]) -> None:
        if self._closed:
            return
        authority = (("grpc.default_authority", f"{self.target.dns_name}:{self.target.dns_port}"),)
        known = {r.address: r for r in self._retiring} | self._replicas
        kept = {a: known[a] for a in addresses if a in known}
        added = [a for a in addresses if a not in known]
        gone = [r for a, r in self._replicas.items() if a not in kept]
        for revived in kept.values():  # named again while its last calls ran: one channel still
            self._retiring.discard(revived)
        self._replicas = {**kept, **{a: _Replica(a, self.open(a, authority)) for a in added}}
        for replica in gone:
            self._retiring.add(replica)
            self._close_if_retired(replica)
        if added or gone:
            log.info("replicas changed", extra={"target": self.name, "replicas": len(self._replicas)})

    def _close_if_retired(self, replica: _Replica) -> None:
        if replica.idle and replica in self._retiring:  # no longer named, and nothing open on it
            self._retiring.discard(replica)
            closing = asyncio.ensure_future(replica.channel.close(None))
            self._closing.add(closing)
            closing.add_done_callback(self._channel_closed)

    def _channel_closed(self, task: asyncio.Task[None]) -> None:
        self._closing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("closing a replica's channel failed", extra={"target": self.name}, exc_info=task.exception())


def replica_set(
    target: str,
    *,
    tls: TlsFiles | None = None,
    interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
) -> ReplicaSet:
    """The replicas `target` names, each reached through its own channel (module docstring)."""

    def open_one(address: str, options: Sequence[tuple[str, Any]]) -> grpc.aio.Channel:
        return open_channel(address, tls=tls, interceptors=interceptors, options=options)

    return ReplicaSet(target, parse_target(target), open_one)


def _unavailable(details: str) -> grpc.aio.AioRpcError:
    empty = grpc.aio.Metadata()
    return grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, empty, empty, details, None)
