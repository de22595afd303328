"""Policy changes pushed to the gateways' decision caches (WatchPolicyChanges), so that a rule
change is complete only once no gateway replica can still decide on the old rules.

Protocol (one bidi stream per gateway replica):
- the cache opens with `subscribe`; afterwards it sends `acknowledge(sequence)`: after each
  change it applied (having dropped the patient's cached decisions), and every renewal
  interval with the last sequence it applied;
- the service answers EVERY message of the cache with exactly one heartbeat, in order, and
  sends a change for every committed rule change in between.

Leases are anchored at the cache's send time. The heartbeat answering a message the service
received at `t` grants a lease until `t + lease` on the service's clock; the cache pairs it
with its own message (first in, first out) and counts the lease from the moment it sent
that message, which came before `t`. So the cache's lease always ends before the service's
idea of it (with equal clock rates; the cache keeps a margin for drift). A heartbeat pushed
unasked could not give this: delayed in transit, it would extend a lease the service already
counts as lapsed.

No lease is renewed while a change is outstanding: a heartbeat answering a message that
acknowledges less than every change sent grants nothing (lease 0). `publish` therefore
returns within one lease: once every subscriber that was sent the change has acknowledged it
or its granted lease has run out. A subscriber whose stream ended is kept until its lease has
run out, because the cache on the other end may not have noticed yet. A new service process
has no record of leases granted by the one before it, so its first changes wait one lease
from its start.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from google.protobuf import duration_pb2

from samhandling.consent.v1 import consent_pb2
from services.platform.assertion import GATEWAY_CLIENT_ID
from services.platform.errors import invalid_argument, permission_denied
from services.platform.interceptors import current_assertion

log = logging.getLogger(__name__)

LEASE_SECONDS = 2.0

Response = consent_pb2.WatchPolicyChangesResponse


@dataclass(eq=False)
class Subscriber:
    subscriber_id: str
    since: int  # the last change sequence published before it subscribed: later ones are its business
    granted_until: float  # the end of the lease the service has granted, on the service's clock
    acknowledged: int = 0
    sent: int = 0  # the last change sequence queued for it
    connected: bool = True
    outbox: deque[consent_pb2.WatchPolicyChangesResponse] = field(default_factory=deque)

    @property
    def current(self) -> bool:
        """Has acknowledged every change sent to it."""
        return self.acknowledged >= self.sent


class Subscriptions:
    """The lease and acknowledgement bookkeeping, pure: every method takes the time it is
    called at (seconds on a monotonic clock)."""

    def __init__(self, lease: float, started_at: float, *, wait_for_predecessor: bool = True) -> None:
        self.lease = lease
        self._earliest_completion = started_at + lease if wait_for_predecessor else -math.inf
        self._sequence = 0
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber_id: str, now: float) -> Subscriber:
        subscriber = Subscriber(subscriber_id, since=self._sequence, granted_until=now + self.lease)
        subscriber.outbox.append(_heartbeat(self.lease))
        self._subscribers.append(subscriber)
        return subscriber

    def acknowledge(self, subscriber: Subscriber, sequence: int, now: float) -> None:
        """Records an acknowledgement and queues the heartbeat that answers it: a lease from
        now, unless a change is still outstanding."""
        subscriber.acknowledged = max(subscriber.acknowledged, min(sequence, subscriber.sent))
        if subscriber.current and subscriber.connected:
            subscriber.granted_until = max(subscriber.granted_until, now + self.lease)
            subscriber.outbox.append(_heartbeat(self.lease))
        else:
            subscriber.outbox.append(_heartbeat(0.0))

    def publish(self, patient_id: str, revision: int) -> int:
        """Queues a change for every connected subscriber; returns its sequence number."""
        self._sequence += 1
        change = Response.PolicyChange(sequence=self._sequence, patient_id=patient_id, policy_revision=revision)
        for subscriber in self._subscribers:
            if subscriber.connected:
                subscriber.sent = self._sequence
                subscriber.outbox.append(Response(change=change))
        return self._sequence

    def disconnect(self, subscriber: Subscriber) -> None:
        """Its stream ended. It stays until its lease has run out: the cache may not know yet."""
        subscriber.connected = False
        subscriber.outbox.clear()

    def expire(self, now: float) -> list[Subscriber]:
        """Forgets every subscriber whose lease has run out; returns those still connected,
        whose streams are to be ended."""
        lapsed = [s for s in self._subscribers if s.granted_until <= now]
        self._subscribers = [s for s in self._subscribers if s.granted_until > now]
        return [s for s in lapsed if s.connected]

    def pending(self, sequence: int, now: float) -> float | None:
        """Seconds until the change `sequence` may be complete at the latest, or None once it
        is: every subscriber sent the change has acknowledged it or lost its lease."""
        waiting = [
            s.granted_until for s in self._subscribers
            if s.since < sequence and s.acknowledged < sequence and s.granted_until > now
        ]
        if self._earliest_completion > now:
            waiting.append(self._earliest_completion)
        return min(waiting) - now if waiting else None


def _heartbeat(lease: float) -> consent_pb2.WatchPolicyChangesResponse:
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(round(lease * 1e9))
    return Response(heartbeat=Response.Heartbeat(lease=duration))


class PolicyChangeHub:
    """The consent service's side of WatchPolicyChanges, over asyncio."""

    def __init__(
        self, lease: float = LEASE_SECONDS, clock: Callable[[], float] = time.monotonic, *,
        wait_for_predecessor: bool = True,
    ) -> None:
        """`wait_for_predecessor=False` skips the wait for leases granted by a previous process:
        only for tests that start a fresh suite, where no gateway ever had a lease before."""
        self._clock = clock
        self._book = Subscriptions(lease, clock(), wait_for_predecessor=wait_for_predecessor)
        self._serial = itertools.count(1)
        self._wakeups: dict[Subscriber, asyncio.Event] = {}
        self._progress = asyncio.Event()

    async def publish(self, patient_id: str, revision: int) -> None:
        """Sends the change to every subscriber and returns once each has acknowledged it or
        its lease has run out (never earlier, at most one lease later). Call it after the
        change is committed."""
        sequence = self._book.publish(patient_id, revision)
        self._wake_all()
        while (wait := self._pending(sequence)) is not None:
            progress = self._progress
            try:
                await asyncio.wait_for(progress.wait(), wait)
            except TimeoutError:
                pass

    def _pending(self, sequence: int) -> float | None:
        self._expire()
        return self._book.pending(sequence, self._clock())

    def _expire(self) -> None:
        for lapsed in self._book.expire(self._clock()):
            log.warning("policy watch lease lapsed", extra={"subscriber": lapsed.subscriber_id})
            self._book.disconnect(lapsed)
            self._wake(lapsed)

    async def watch(
        self, request_iterator: AsyncIterator[consent_pb2.WatchPolicyChangesRequest], context
    ) -> AsyncIterator[consent_pb2.WatchPolicyChangesResponse]:
        """Serves one subscription (the WatchPolicyChanges stream), for the gateway only."""
        if current_assertion().actor.client_id != GATEWAY_CLIENT_ID:
            raise permission_denied("WATCH_NOT_ALLOWED", "only the gateway's decision caches watch policy changes")
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("message") != "subscribe":
            raise invalid_argument({"subscribe": "the first message must subscribe"})
        name = first.subscribe.subscriber_id[:100] or f"subscriber-{next(self._serial)}"
        subscriber = self._book.subscribe(name, self._clock())
        wakeup = self._wakeups[subscriber] = asyncio.Event()
        reader = asyncio.create_task(self._read(subscriber, request_iterator))
        log.info("policy watch subscribed", extra={"subscriber": name})
        try:
            while True:
                if subscriber.outbox:
                    yield subscriber.outbox.popleft()
                    continue
                if not subscriber.connected:
                    break
                wakeup.clear()
                # Wakes at the latest when the lease runs out, to end a stream gone silent.
                timeout = subscriber.granted_until - self._clock()
                if timeout <= 0:
                    self._expire()
                    continue
                try:
                    await asyncio.wait_for(wakeup.wait(), timeout)
                except TimeoutError:
                    pass
        finally:
            reader.cancel()
            self._book.disconnect(subscriber)
            self._wakeups.pop(subscriber, None)
            self._signal_progress()
            log.info("policy watch ended", extra={"subscriber": name})

    async def _read(self, subscriber: Subscriber, request_iterator) -> None:
        try:
            async for request in request_iterator:
                if request.WhichOneof("message") != "acknowledge":
                    log.warning("policy watch: unexpected message", extra={"subscriber": subscriber.subscriber_id})
                    break
                self._book.acknowledge(subscriber, request.acknowledge.sequence, self._clock())
                self._wake(subscriber)
                self._signal_progress()
        except Exception as exc:  # the stream broke under the reader; the writer ends it
            log.info("policy watch read failed", extra={"subscriber": subscriber.subscriber_id,
                                                        "error": exc.__class__.__name__})
        finally:
            # The cache hung up (or misbehaved): end the stream.
            self._book.disconnect(subscriber)
            self._wake(subscriber)
            self._signal_progress()

    def _wake(self, subscriber: Subscriber) -> None:
        if (event := self._wakeups.get(subscriber)) is not None:
            event.set()

    def _wake_all(self) -> None:
        for event in self._wakeups.values():
            event.set()

    def _signal_progress(self) -> None:
        self._progress.set()
        self._progress = asyncio.Event()
