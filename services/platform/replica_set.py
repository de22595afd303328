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
them all on the last one. The pick is made here, over channels gRPC manages:

- one channel per replica address (services.platform.channels.open_channel: round_robin over
  that one address, so gRPC still health-checks it with `Health/Watch`, keeps it alive and
  reconnects it within about a second). Only READY replicas are picked: a draining replica
  (NOT_SERVING) or one that is down is skipped at once. When none is READY but some are
  connecting, the pick waits for them (at most CONNECT_WAIT_SECONDS), as round_robin queues a
  call; when none can be, the call goes to one anyway and fails at once with UNAVAILABLE, so
  callers fail closed. A call that fails with UNAVAILABLE costs its replica the preference, so
  the caller's retry goes to another replica when one is READY.
- The addresses: an `ipv4:`/`ipv6:` list names fixed replicas. A `dns:///name:port` (a Kubernetes
  headless Service: one address per ready pod) is resolved here, with the event loop's
  getaddrinfo, before the first call, then again every REFRESH_SECONDS, and at most every
  MIN_REFRESH_SECONDS while some replica is not READY (a pod replaced under a new address). A
  failed resolution keeps the addresses known; a replica no longer named is closed after its open
  calls end (at most CLOSE_GRACE_SECONDS). Each channel to a resolved address carries the name as
  its authority, so TLS checks the server's certificate against the name, not the address.
- Any other target (`host:port`, `unix:`, another resolver's scheme) is one replica: one channel,
  which gRPC resolves and balances itself (`samhandling status` counts replicas the same way,
  services.cli.health).

Bounded: at most MAX_REPLICAS_PER_TARGET addresses per target (the rest of a DNS answer is left
out, and the log says so); one resolution in flight per target.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import socket
from collections.abc import AsyncIterator, Callable, Sequence
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
CLOSE_GRACE_SECONDS = 10.0

_READY = grpc.ChannelConnectivity.READY
_WAITING = (grpc.ChannelConnectivity.IDLE, grpc.ChannelConnectivity.CONNECTING)


@dataclass(frozen=True)
class Target:
    """A parsed gRPC target: literal replica addresses (`host:port`, each dialled as it is), or a
    DNS name and port whose every address is a replica."""

    addresses: tuple[str, ...] = ()
    dns_name: str | None = None
    dns_port: int | None = None


def parse_target(target: str) -> Target:
    """Pure: `ipv4:`/`ipv6:` lists (at most MAX_REPLICAS_PER_TARGET), `dns:[//authority]/name:port`, else
    one replica (`host:port`, or another scheme's target, left to gRPC)."""
    for scheme in ("ipv4:", "ipv6:"):
        if target.startswith(scheme):
            listed = [a.strip() for a in target[len(scheme) :].split(",") if a.strip()]
            return Target(tuple(listed[:MAX_REPLICAS_PER_TARGET]))
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


@dataclass(frozen=True)
class Candidate:
    """What the pick knows of one replica."""

    ready: bool
    in_flight: int
    preferred: bool = False
    last_pick: int = 0  # the pick counter's value when it was last picked; 0 for never


def least_request(candidates: Sequence[Candidate]) -> int:
    """The index of the replica to call: among the READY ones (or, if none is, among all) the
    one with the fewest calls in flight; among those the preferred one, else the one picked
    last."""
    pool = [i for i, c in enumerate(candidates) if c.ready] or list(range(len(candidates)))
    return min(pool, key=lambda i: (candidates[i].in_flight, not candidates[i].preferred, -candidates[i].last_pick))


@dataclass(eq=False)
class _Replica:
    address: str
    channel: grpc.aio.Channel
    in_flight: int = 0
    last_pick: int = 0


@dataclass(eq=False)
class ReplicaSet:
    """The replicas of one target and the least-request pick among them (module docstring)."""

    name: str  # the target as configured, for the log
    target: Target
    open: Callable[[str, Sequence[tuple[str, Any]]], grpc.aio.Channel]
    _replicas: dict[str, _Replica] = field(default_factory=dict)
    _picks: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _resolved_at: float | None = None
    _resolving: asyncio.Task[None] | None = None
    _closing: set[asyncio.Task[None]] = field(default_factory=set)
    _preferred: _Replica | None = None
    _drawn_from: int = 0  # how many replicas were READY when the preferred one was drawn
    _failed: _Replica | None = None  # the last replica a call found UNAVAILABLE: not drawn next
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        for address in self.target.addresses:
            self._replicas[address] = _Replica(address, self.open(address, ()))

    @property
    def addresses(self) -> list[str]:
        return list(self._replicas)

    def channels(self) -> dict[str, grpc.aio.Channel]:
        """Each replica's channel, by address (for status and tests)."""
        return {a: r.channel for a, r in self._replicas.items()}

    def in_flight(self) -> int:
        """This client's calls open on every replica together."""
        return sum(r.in_flight for r in self._replicas.values())

    @contextlib.asynccontextmanager
    async def picked(self) -> AsyncIterator[grpc.aio.Channel]:
        """The channel to the replica picked for one call, counted as in flight until the
        block ends (make the call inside it)."""
        replica = await self._pick()
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

    async def channel_for_stream(self) -> grpc.aio.Channel:
        """The channel for a long-lived stream: picked the same way, not counted as in flight
        (a stream open for hours would otherwise push every short call elsewhere)."""
        return (await self._pick()).channel

    async def reachable(self, timeout: float) -> bool:
        """Whether some replica is READY or gets so within `timeout` (for readiness)."""
        if not self._replicas:
            await self._resolve_now(timeout)
        replicas = list(self._replicas.values())
        if not replicas:
            return False
        checks = [asyncio.ensure_future(channel_ready(r.channel, timeout)) for r in replicas]
        try:
            for finished in asyncio.as_completed(checks):
                if await finished:
                    return True
            return False
        finally:
            for check in checks:
                check.cancel()

    async def close(self) -> None:
        """Closes every channel at once (calls still open are cancelled)."""
        if self._resolving is not None:
            self._resolving.cancel()
        replicas, self._replicas = list(self._replicas.values()), {}
        await asyncio.gather(*(r.channel.close(None) for r in replicas), return_exceptions=True)
        for closing in list(self._closing):
            closing.cancel()
        await asyncio.gather(*self._closing, return_exceptions=True)

    async def _pick(self) -> _Replica:
        self._refresh_if_due()
        if not self._replicas:
            await self._resolve_now(RESOLVE_TIMEOUT_SECONDS)
            if not self._replicas:
                raise _unavailable(f"no address for {self.target.dns_name}:{self.target.dns_port}")
        replicas = list(self._replicas.values())
        ready = [r.channel.get_state(try_to_connect=True) is _READY for r in replicas]
        if not any(ready):
            ready = await self._wait_for_ready(replicas)
        preferred = self._prefer(replicas, ready)
        chosen = replicas[
            least_request(
                [Candidate(ok, r.in_flight, r is preferred, r.last_pick) for ok, r in zip(ready, replicas, strict=True)]
            )
        ]
        chosen.last_pick = next(self._picks)
        return chosen

    def _prefer(self, replicas: list[_Replica], ready: list[bool]) -> _Replica | None:
        """The replica this client prefers among equals: drawn at random among the READY ones,
        and kept while it is READY, until more replicas are READY than it was drawn from (so
        clients spread over the replicas, and spread again when one comes back from a restart
        that had moved its clients elsewhere)."""
        preferred = self._preferred
        if (
            preferred is not None
            and sum(ready) <= self._drawn_from
            and self._replicas.get(preferred.address) is preferred
            and ready[replicas.index(preferred)]
        ):
            return preferred
        drawn = [r for r, ok in zip(replicas, ready, strict=True) if ok]
        self._drawn_from = len(drawn)
        if len(drawn) > 1 and self._failed in drawn:
            drawn.remove(self._failed)
        if drawn:
            self._preferred, self._failed = self.rng.choice(drawn), None
        return self._preferred

    async def _wait_for_ready(self, replicas: list[_Replica]) -> list[bool]:
        """Which replicas are READY, having waited (at most CONNECT_WAIT_SECONDS) while none
        was and some were connecting."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONNECT_WAIT_SECONDS
        while True:
            states = [r.channel.get_state(try_to_connect=True) for r in replicas]
            waiting = [(r, s) for r, s in zip(replicas, states, strict=True) if s in _WAITING]
            remaining = deadline - loop.time()
            if _READY in states or not waiting or remaining <= 0:
                return [s is _READY for s in states]
            changes = [asyncio.ensure_future(r.channel.wait_for_state_change(s)) for r, s in waiting]
            try:
                await asyncio.wait(changes, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for change in changes:
                    change.cancel()

    def _refresh_if_due(self) -> None:
        if self.target.dns_name is None or self._resolving is not None:
            return
        if self._resolved_at is None:
            due = True
        else:
            age = asyncio.get_running_loop().time() - self._resolved_at
            replicas = self._replicas.values()
            unready = not replicas or any(r.channel.get_state() is not _READY for r in replicas)
            due = age >= REFRESH_SECONDS or (unready and age >= MIN_REFRESH_SECONDS)
        if due:
            self._resolving = asyncio.ensure_future(self._resolve())
            self._resolving.add_done_callback(self._resolved)

    def _resolved(self, task: asyncio.Task[None]) -> None:
        self._resolving = None
        if not task.cancelled() and task.exception() is not None:
            log.warning("replica resolution failed", extra={"target": self.name}, exc_info=task.exception())

    async def _resolve_now(self, timeout: float) -> None:
        self._refresh_if_due()
        if self._resolving is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._resolving), timeout)

    async def _resolve(self) -> None:
        loop = asyncio.get_running_loop()
        host, port = self.target.dns_name, self.target.dns_port
        try:
            answers = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_SECONDS
            )
        except (OSError, TimeoutError) as error:
            log.warning(
                "name did not resolve; keeping the replicas known",
                extra={"target": self.name, "error": type(error).__name__},
            )
            return
        finally:
            self._resolved_at = loop.time()
        addresses = resolved_addresses(answers)
        if len(addresses) > MAX_REPLICAS_PER_TARGET:
            log.warning(
                "more addresses than replicas kept",
                extra={"target": self.name, "kept": MAX_REPLICAS_PER_TARGET, "named": len(addresses)},
            )
            addresses = addresses[:MAX_REPLICAS_PER_TARGET]
        self._update(addresses)

    def _update(self, addresses: list[str]) -> None:
        authority = (("grpc.default_authority", f"{self.target.dns_name}:{self.target.dns_port}"),)
        kept = {a: self._replicas[a] for a in addresses if a in self._replicas}
        added = [a for a in addresses if a not in self._replicas]
        gone = [r for a, r in self._replicas.items() if a not in kept]
        self._replicas = {**kept, **{a: _Replica(a, self.open(a, authority)) for a in added}}
        for replica in gone:
            closing = asyncio.ensure_future(replica.channel.close(CLOSE_GRACE_SECONDS))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        if added or gone:
            log.info("replicas changed", extra={"target": self.name, "replicas": len(self._replicas)})


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
