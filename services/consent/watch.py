"""Policy changes pushed to the gateways' decision caches (WatchPolicyChanges), so that a rule
change is complete only once no gateway replica can still decide on the old rules, whichever
consent replica committed the change and whichever one each gateway replica subscribes to.

Protocol (one bidi stream per gateway replica, to any consent replica):
- the cache opens with `subscribe`; afterwards it sends `acknowledge(sequence)`: after each
  change it applied (having dropped the patient's cached decisions), and every renewal
  interval with the last sequence it applied;
- the service answers EVERY message of the cache with exactly one heartbeat, in order, and
  sends a change for every committed rule change in between.

Where the state lives. The change feed and the lease book are tables of the consent
database (policy_feed.py), shared by every replica; a replica holds only its own streams.
The change is entered in the feed in its own transaction. Each replica follows the feed
(woken by PostgreSQL NOTIFY, polling every POLL_SECONDS as well and on SQLite) and forwards
each change, in sequence order, to its own subscribers. Sequences become visible in order
and without gaps (policy_feed.py), so reading `sequence > last sent` misses none; a gap
can only mean rows aged out of the feed, and ends the stream (its cache starts over, empty).

Leases are anchored at the cache's send time. The heartbeat answering a message grants a
lease until `t + lease`, `t` being read from the database's clock in the transaction that
commits the grant, which runs after the service received the message; the heartbeat is sent
only after that commit. The cache pairs the heartbeat with its own message (first in, first
out) and counts the lease from the moment it sent that message, which came before `t`. So the
cache's lease always ends before the book's (with equal clock rates; the cache keeps a margin
for drift), and the book holds every lease a cache may hold.

No lease is renewed while a change is outstanding: a renewal is granted only if the
subscriber has acknowledged every change committed so far, as the renewal's transaction
sees the feed (lease_book.renew). `publish` returns once every subscriber in the book, of
any replica, that subscribed before the change has acknowledged it or its lease has run out
on the database's clock. Once the change has committed, a subscriber that has not applied it
can be renewed at most once more, by a renewal that read the feed before the commit; so
`publish` returns within about one lease, also when the replica serving a subscriber died
(its subscribers stop renewing; their rows lapse).

Why that suffices (the argument of gateway/decision_cache.py, with the book in the
database): when `publish` sees the change complete, every subscriber that may hold decisions
on the old rules either acknowledged the change, so had dropped them, or its book lease, and
with it the cache's own, has run out. A lapsed cache drops everything before it takes a new
heartbeat (DecisionCache.heartbeat). The first heartbeat to renew it after the lapse carries
a grant committed after the check that found the book lapsed (a grant committed before it
was seen by it: had it still run, the call would have waited; it had run out, and so had the
cache's lease from it), so that heartbeat arrives after the change committed, and whatever
the cache stores afterwards was asked on the new rules. A subscriber whose row was not yet committed when `publish` looked got its
first heartbeat after that, so after the change too.

No wait for a predecessor. The previous design kept leases in process memory, so a new
process had to wait one lease before its first change could complete. Now every lease any
process ever granted is in the book before its heartbeat left, so a new or restarted
replica sees them all: nothing waits. (One exception, stated in docs/consent.md: upgrading from
the in-memory version, whose leases are not in the book.)

How a stream ends. Only the cache hanging up ends it with OK. Every end the service decides
is a retryable UNAVAILABLE with a reason (the cache subscribes again in any case, empty;
the status is for the operators, who see it in the gateway's log): POLICY_BOOK_UNAVAILABLE
when the database cannot record a subscription or renewal, WATCH_TOO_FAR_BEHIND when the
outbox overflowed, WATCH_CHANGES_MISSED on a gap in the feed, WATCH_LEASE_LAPSED when the
lease ran out or the book forgot the subscriber; a message other than an acknowledgement
after the subscription ends it with INVALID_ARGUMENT.

Bounds: MAX_SUBSCRIBERS streams per replica (a slot is taken before the first await, so
subscribers arriving together cannot exceed it), MAX_OUTBOX queued messages per stream, BATCH
changes read at once; the feed keeps RETENTION_SECONDS of changes and the book forgets a
subscriber FORGET_SECONDS after its lease ran out (policy_feed.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import grpc
from google.protobuf import duration_pb2

from samhandling.consent.v1 import consent_pb2
from services.platform import pg_notify
from services.platform.assertion import GATEWAY_CLIENT_ID
from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError, invalid_argument
from services.platform.interceptors import current_assertion

from .policy_feed import BATCH, CHANNEL, Change, PolicyFeed

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2  # how often a replica looks at the feed and the book without a notification
MAX_SUBSCRIBERS = 1_000  # streams per replica
MAX_OUTBOX = 10_000  # messages queued for one stream; a subscriber that far behind is ended

Response = consent_pb2.WatchPolicyChangesResponse


@dataclass(eq=False)
class Stream:
    """One subscription served by this replica."""

    subscriber_id: str
    name: str
    sent: int  # the last change sequence queued for it (starts at the feed's head when it subscribed)
    granted_until: float  # when its lease runs out, roughly, on this process's monotonic clock
    connected: bool = True
    ended: ServiceError | None = None  # why the service ended it; None: the cache hung up
    outbox: deque[consent_pb2.WatchPolicyChangesResponse] = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    def queue(self, message: consent_pb2.WatchPolicyChangesResponse) -> None:
        if len(self.outbox) >= MAX_OUTBOX:
            log.warning("policy watch: subscriber too far behind", extra={"subscriber": self.name})
            self.disconnect(Reason.WATCH_TOO_FAR_BEHIND.error("the subscriber fell too far behind; subscribe again"))
        elif self.connected:
            self.outbox.append(message)
        self.wakeup.set()

    def forward(self, changes: list[Change]) -> None:
        """Queues the changes it has not been sent, in order; a gap (rows aged out of the
        feed) ends the stream: its cache starts over, empty."""
        new = [c for c in changes if c.sequence > self.sent]
        if new and new[0].sequence != self.sent + 1:
            log.warning("policy watch: changes missed", extra={"subscriber": self.name})
            self.disconnect(Reason.WATCH_CHANGES_MISSED.error("changes aged out of the feed; subscribe again"))
            return
        for c in new:
            change = Response.PolicyChange(
                sequence=c.sequence, patient_id=c.patient_id, policy_revision=c.policy_revision
            )
            self.queue(Response(change=change))
            self.sent = c.sequence

    def disconnect(self, why: ServiceError | None = None) -> None:
        """Ends the stream, with the status `why` (the first reason given wins; None: the cache
        hung up). Its row stays in the book until its lease has run out: the cache may not
        know yet."""
        if self.connected:
            self.ended = why
        self.connected = False
        self.outbox.clear()
        self.wakeup.set()


def _heartbeat(lease: float) -> consent_pb2.WatchPolicyChangesResponse:
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(round(lease * 1e9))
    return Response(heartbeat=Response.Heartbeat(lease=duration))


class PolicyChangeHub:
    """One consent replica's side of WatchPolicyChanges, over asyncio."""

    def __init__(
        self,
        feed: PolicyFeed,
        *,
        poll_seconds: float = POLL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._feed = feed
        self._poll = poll_seconds
        self._clock = clock
        self.replica_id = uuid.uuid4().hex
        self._serial = itertools.count(1)
        self._streams: dict[str, Stream] = {}
        self._admitted = 0  # watches holding a slot (counted before their first await)
        self._publishing = 0
        self._follower: asyncio.Task | None = None
        self._wakeup = asyncio.Event()  # the feed or the book may have moved
        self._progress = asyncio.Event()  # replaced each time it is set: publishers re-check

    @property
    def lease(self) -> float:
        return self._feed.lease

    async def publish(self, patient_id: str, revision: int) -> None:
        """Returns once every change committed so far, the caller's among them (the store
        entered it in the feed in its transaction: call this after the commit), is complete:
        each subscriber of any replica that subscribed before it has acknowledged it or its
        lease has run out. Never earlier; at most about one lease later. Raises if the
        database cannot be read: the change is then not known to be complete. (`patient_id`
        and `revision` name the caller's change; the feed holds it already.)"""
        self._publishing += 1
        self._follow()
        try:
            sequence = await asyncio.to_thread(self._feed.head)
            while (wait := await asyncio.to_thread(self._feed.pending, sequence)) is not None:
                progress = self._progress
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(progress.wait(), min(wait, self._poll))
        finally:
            self._publishing -= 1
            self._wakeup.set()  # the follower stops when nothing is left to follow

    async def watch(
        self, request_iterator: AsyncIterator[consent_pb2.WatchPolicyChangesRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[consent_pb2.WatchPolicyChangesResponse]:
        """Serves one subscription (the WatchPolicyChanges stream), for the gateway only."""
        if current_assertion().actor.client_id != GATEWAY_CLIENT_ID:
            raise Reason.WATCH_NOT_ALLOWED.error("only the gateway's decision caches watch policy changes")
        # The slot is taken before anything is awaited: checked and counted in one step.
        if self._admitted >= MAX_SUBSCRIBERS:
            raise Reason.TOO_MANY_SUBSCRIBERS.error("this replica serves no more policy watches")
        self._admitted += 1
        try:
            async for message in self._serve(request_iterator):
                yield message
        finally:
            self._admitted -= 1

    async def _serve(
        self, request_iterator: AsyncIterator[consent_pb2.WatchPolicyChangesRequest]
    ) -> AsyncIterator[consent_pb2.WatchPolicyChangesResponse]:
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("message") != "subscribe":
            raise invalid_argument({"subscribe": "the first message must subscribe"})
        name = first.subscribe.subscriber_id[:100] or f"subscriber-{next(self._serial)}"
        subscriber_id = uuid.uuid4().hex
        received = self._clock()
        try:
            lease = await asyncio.to_thread(self._feed.subscribe, subscriber_id, self.replica_id, name)
        except Exception as exc:
            log.warning("policy watch: the book is unavailable", extra={"error": exc.__class__.__name__})
            raise Reason.POLICY_BOOK_UNAVAILABLE.error("cannot record the subscription") from None
        stream = Stream(subscriber_id, name, sent=lease.since, granted_until=received + self.lease)
        stream.queue(_heartbeat(self.lease))  # committed above, before it is sent
        self._streams[subscriber_id] = stream
        self._follow()
        reader = asyncio.create_task(self._read(stream, request_iterator))
        log.info("policy watch subscribed", extra={"subscriber": name})
        try:
            while True:
                if stream.outbox:
                    yield stream.outbox.popleft()
                    continue
                if not stream.connected:
                    if stream.ended is not None:
                        raise stream.ended
                    break
                stream.wakeup.clear()
                # Wakes at the latest when the lease runs out, to end a stream gone silent.
                timeout = stream.granted_until - self._clock()
                if timeout <= 0:
                    log.warning("policy watch lease lapsed", extra={"subscriber": name})
                    stream.disconnect(Reason.WATCH_LEASE_LAPSED.error("the lease ran out; subscribe again"))
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stream.wakeup.wait(), timeout)
        finally:
            reader.cancel()
            stream.disconnect()
            self._streams.pop(subscriber_id, None)
            self._wakeup.set()  # the follower stops when nothing is left to follow
            log.info("policy watch ended", extra={"subscriber": name})

    async def _read(
        self, stream: Stream, request_iterator: AsyncIterator[consent_pb2.WatchPolicyChangesRequest]
    ) -> None:
        try:
            async for request in request_iterator:
                if request.WhichOneof("message") != "acknowledge":
                    log.warning("policy watch: unexpected message", extra={"subscriber": stream.name})
                    stream.disconnect(invalid_argument({"acknowledge": "after subscribing, only acknowledgements"}))
                    break
                received = self._clock()
                try:
                    granted = await asyncio.to_thread(
                        self._feed.renew, stream.subscriber_id, request.acknowledge.sequence, stream.sent
                    )
                except Exception as exc:
                    log.warning("policy watch: the book is unavailable", extra={"error": exc.__class__.__name__})
                    stream.disconnect(Reason.POLICY_BOOK_UNAVAILABLE.error("cannot record the renewal"))
                    break
                if granted is None:
                    log.warning("policy watch: subscriber no longer in the book", extra={"subscriber": stream.name})
                    stream.disconnect(
                        Reason.WATCH_LEASE_LAPSED.error("the subscription was forgotten; subscribe again")
                    )
                    break
                if granted > 0:
                    stream.granted_until = max(stream.granted_until, received + granted)
                stream.queue(_heartbeat(granted))  # committed above, before it is sent
                self._signal_progress()
        except ServiceError as err:  # a message that could not be decoded (services.platform.interceptors)
            stream.disconnect(err)
        except Exception as exc:  # the stream broke under the reader
            log.info("policy watch read failed", extra={"subscriber": stream.name, "error": exc.__class__.__name__})
        finally:
            # The cache hung up (or misbehaved, or its lease cannot be recorded): end the stream.
            stream.disconnect()

    # --- following the feed -----------------------------------------------------------------

    def _follow(self) -> None:
        """Makes sure the follower runs (it runs while this replica has streams or publishers)."""
        self._wakeup.set()
        if self._follower is None or self._follower.done():
            self._follower = asyncio.create_task(self._following(), name="policy-feed-follower")

    async def _following(self) -> None:
        listener = asyncio.create_task(self._listen()) if self._feed.listen_url else None
        failing = False
        try:
            while self._streams or self._publishing:
                self._wakeup.clear()
                try:
                    more = await self._forward()
                    failing = False
                except Exception as exc:  # the database is unavailable: retried at the next poll
                    if not failing:  # said once per outage, not once per poll
                        log.warning("policy feed unreadable", extra={"error": exc.__class__.__name__})
                    failing, more = True, False
                self._signal_progress()
                if not more:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), self._poll)
        finally:
            # Nothing awaited here: a watch arriving now sees this task done and starts another.
            if listener is not None:
                listener.cancel()

    async def _forward(self) -> bool:
        """Forwards new changes to this replica's streams; True if there may be more to read."""
        streams = [s for s in self._streams.values() if s.connected]
        if not streams:
            return False
        changes = await asyncio.to_thread(self._feed.changes_after, min(s.sent for s in streams))
        for stream in streams:
            stream.forward(changes)
        return len(changes) == BATCH

    async def _listen(self) -> None:
        """Wakes the follower on every notification, and whenever listening (re)starts: a
        notification may have been missed while it was not (services/platform/pg_notify.py)."""
        assert self._feed.listen_url is not None
        await pg_notify.listen(
            self._feed.listen_url,
            [CHANNEL],
            lambda _: self._wakeup.set(),
            self._wakeup.set,
            name="consent-listener",
            password_file=self._feed.password_file,
        )

    def _signal_progress(self) -> None:
        self._progress.set()
        self._progress = asyncio.Event()
