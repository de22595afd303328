"""The gateway's cache of consent decisions, safe against revocation (docs/architecture.md "The request path", step 4:
after a patient's revoke call has returned, no gateway replica may permit on the old rules).

How it stays safe. The cache holds decisions only while it holds a lease from a consent
replica's WatchPolicyChanges stream (services/consent/watch.py has the service's side; the
change feed and the lease book it relies on are tables of the consent database, shared by
every consent replica: services/consent/policy_feed.py):

1. Lease. Every message the cache sends (subscribe, acknowledge) is answered by exactly one
   heartbeat, in order. The cache counts the granted lease from the moment it SENT the
   message the heartbeat answers; the service records the grant in the database, counted
   from a moment after it RECEIVED that message, and sends the heartbeat only after that
   commit. So the cache's lease ends before the book's (the cache also keeps a margin for
   clock-rate drift), and the book knows every lease a cache may hold, whichever consent
   replica granted it. Without a lease the cache holds nothing and every decision is asked
   fresh.
2. Change. When a patient's rules change, the change enters the feed in its own transaction;
   every consent replica sends it to each cache it serves. The cache drops every decision
   about the patient and only THEN acknowledges.
3. Completion. `publish`, and with it CreateRule/RevokeRule on any consent replica, returns
   only once every subscriber in the book that subscribed before the change has
   acknowledged it or its lease (as the book counts it) has run out; a lease is not renewed
   while a committed change is unacknowledged.
4. In flight. A decision is cached only if no change, lapse or resubscription happened
   between asking for it and receiving it (an epoch counter), so a decision made on the old
   rules but answered after the drop is used once and never cached.

Claim: a read that starts after RevokeRule has returned is never decided from a cached
decision made on the old rules. Take a replica R. Either R acknowledged the change, so it
had dropped the patient's decisions before, and any decision cached since was asked after
the drop (4), hence after the commit, hence on the new rules. Or R's lease in the book had
run out when the call last looked (3), so by (1) R's own lease had too, and R answers
nothing from its cache until a new heartbeat arrives. A heartbeat arriving after a lapse
drops everything before it renews (`heartbeat` calls `healthy` first), and its grant was
committed after the book was found lapsed (had it been committed before, the call would
have seen it and waited), so after the change: what R caches from then on was asked on the
new rules. A new stream starts with an empty cache. A replica that subscribed after the
change was published holds only decisions asked after its first heartbeat, which came after
the commit.

Not covered by change events: rules with a validity period start or end without a change,
and guardians' authority ends with the child's age. Entries therefore live at most
`max_age` seconds. Decisions with obligations (an emergency opening, consent at the moment,
break the glass) are never cached: each one must be flagged and notified by itself.

The cache can be switched off (bench compares both); then every decision is asked fresh.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2
from services.platform.assertion import METADATA_KEY, STREAM_BINDING, Assertion, AssertionSigner
from services.platform.channels import open_channel
from services.platform.errors import error_info
from services.platform.tls import TlsFiles

from .audit_client import GATEWAY_ACTOR

log = logging.getLogger(__name__)

WATCH_POLICY_CHANGES = "/samhandling.consent.v1.ConsentService/WatchPolicyChanges"
MAX_AGE_SECONDS = 5.0
MAX_ENTRIES = 100_000
# The cache ends its lease this fraction early, for clocks that run at slightly different rates.
DRIFT_MARGIN = 0.05
RENEW_SECONDS = 0.5
RECONNECT_SECONDS = (0.1, 2.0)  # first and longest wait before subscribing again

_CACHEABLE = frozenset({common_pb2.DECISION_PERMIT, common_pb2.DECISION_DENY})


class ProtocolError(Exception):
    """The consent service broke the watch protocol (a heartbeat that answers nothing)."""


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


class DecisionCache:
    """Decisions keyed by the whole CheckAccessRequest (patient, actor, category, purpose,
    justification, consent at the moment, read or write: every field, so a field added
    later is part of the key too), valid only under a lease. Pure: no I/O; the clock is
    injected."""

    def __init__(
        self,
        *,
        enabled: bool,
        clock: Callable[[], float] = time.monotonic,
        max_age: float = MAX_AGE_SECONDS,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.enabled = enabled
        self.stats = CacheStats()
        self._clock = clock
        self._max_age = max_age
        self._max_entries = max_entries
        self._lease_until = -math.inf
        self._asked: deque[float] = deque()  # send times of messages not yet answered by a heartbeat
        self._epoch = 0
        self._size = 0
        # patient id -> request bytes -> (decision, expiry); patients in least recently used order
        self._entries: OrderedDict[str, dict[bytes, tuple[consent_pb2.CheckAccessResponse, float]]] = OrderedDict()

    # The subscription's side.

    def reset(self) -> None:
        """A new subscription starts (or the old one broke): nothing cached, no lease."""
        self._drop_all()
        self._lease_until = -math.inf
        self._asked.clear()

    def sending(self) -> None:
        """Call right before sending a message to the service: its heartbeat's lease counts from now."""
        self._asked.append(self._clock())

    def heartbeat(self, lease_seconds: float) -> None:
        """The heartbeat answering the oldest unanswered message; a lease of 0 renews nothing."""
        if not self._asked:
            raise ProtocolError("a heartbeat that answers no message")
        asked_at = self._asked.popleft()
        self.healthy()  # a lease that lapsed in the meantime drops everything before it is renewed
        if lease_seconds > 0:
            self._lease_until = max(self._lease_until, asked_at + lease_seconds * (1 - DRIFT_MARGIN))

    def change(self, patient_id: str) -> None:
        """A patient's rules changed: drop their decisions (acknowledge only after this)."""
        self._epoch += 1
        self._size -= len(self._entries.pop(patient_id, {}))

    def healthy(self) -> bool:
        """Holds a lease now; a lapsed lease drops everything."""
        if self._clock() < self._lease_until:
            return True
        if self._lease_until != -math.inf:
            log.warning("decision cache lease lapsed; asking consent for every decision")
            self._drop_all()
            self._lease_until = -math.inf
        return False

    def holds_lease(self) -> bool:
        """Whether a lease is held now; reads only (safe from the metrics exporter's thread),
        where `healthy` also drops what a lapsed lease held."""
        return self._clock() < self._lease_until

    # The request path's side.

    def ticket(self) -> int | None:
        """Take before asking consent; None when the answer may not be cached."""
        return self._epoch if self.enabled and self.healthy() else None

    def get(self, request: consent_pb2.CheckAccessRequest) -> consent_pb2.CheckAccessResponse | None:
        if not (self.enabled and self.healthy()):
            return None
        entries = self._entries.get(request.patient_id)
        found = entries.get(_key(request)) if entries else None
        if found is None or found[1] <= self._clock():
            self.stats.misses += 1
            return None
        self._entries.move_to_end(request.patient_id)
        self.stats.hits += 1
        return found[0]

    def put(
        self, ticket: int | None, request: consent_pb2.CheckAccessRequest, decision: consent_pb2.CheckAccessResponse
    ) -> None:
        """Caches a decision asked under `ticket`, unless anything changed since or it carries obligations."""
        if ticket is None or ticket != self._epoch or not self.healthy():
            return
        if decision.obligations or decision.decision not in _CACHEABLE:
            return
        entries = self._entries.setdefault(request.patient_id, {})
        key = _key(request)
        self._size += key not in entries
        entries[key] = (decision, self._clock() + self._max_age)
        self._entries.move_to_end(request.patient_id)
        while self._size > self._max_entries:
            _, evicted = self._entries.popitem(last=False)
            self._size -= len(evicted)

    def _drop_all(self) -> None:
        self._epoch += 1
        self._entries.clear()
        self._size = 0


def _key(request: consent_pb2.CheckAccessRequest) -> bytes:
    # The whole message: a cached read permit must never answer a write, nor one actor another's.
    return request.SerializeToString(deterministic=True)


Request = consent_pb2.WatchPolicyChangesRequest
Response = consent_pb2.WatchPolicyChangesResponse


class PolicyWatch:
    """Keeps the cache subscribed to the consent service's policy changes: subscribes, renews
    the lease every RENEW_SECONDS, applies changes, and subscribes again when the stream
    breaks (the cache holds nothing meanwhile). Does nothing when the cache is switched off."""

    def __init__(
        self,
        cache: DecisionCache,
        consent_address: str,
        signer: AssertionSigner,
        *,
        renew_seconds: float = RENEW_SECONDS,
        tls: TlsFiles | None = None,
    ) -> None:
        self._cache = cache
        self._address = consent_address
        self._signer = signer
        self._renew_seconds = renew_seconds
        self._tls = tls
        self._subscriber_id = f"gateway-{uuid.uuid4().hex[:12]}"
        self._task: asyncio.Task | None = None
        self._leased = asyncio.Event()

    def start(self) -> None:
        if self._cache.enabled and self._task is None:
            self._task = asyncio.create_task(self._run(), name="policy-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._cache.reset()

    async def leased(self) -> None:
        """Returns once the cache holds a lease (for readiness checks and tests)."""
        await self._leased.wait()

    async def _run(self) -> None:
        wait = RECONNECT_SECONDS[0]
        async with open_channel(self._address, tls=self._tls) as channel:
            while True:
                try:
                    if await self._follow(channel):
                        wait = RECONNECT_SECONDS[0]
                except Exception as exc:
                    # Any failure of one subscription, not only a broken RPC: the stream can end
                    # under a write (InvalidStateError) or anything unforeseen can go wrong. The
                    # loop must survive it, or the cache stays off until the process restarts.
                    # Only cancellation (stop) ends it. The class only: no message reaches the log.
                    reason = ""
                    if isinstance(exc, grpc.aio.AioRpcError):
                        code, reason = exc.code().name, error_info(exc)[0]  # why consent ended it
                    else:
                        code = "PROTOCOL" if isinstance(exc, ProtocolError) else exc.__class__.__name__
                    log.warning("policy watch broke; decisions are not cached", extra={"code": code, "reason": reason})
                finally:
                    self._leased.clear()
                    self._cache.reset()
                await asyncio.sleep(wait)  # reconnect backoff, not synchronisation
                wait = min(wait * 2, RECONNECT_SECONDS[1])

    async def _follow(self, channel: grpc.aio.Channel) -> bool:
        """One subscription until its stream ends; True if it was ever leased."""
        assertion = Assertion(method=WATCH_POLICY_CHANGES, actor=GATEWAY_ACTOR)
        # A request stream: the assertion binds the opening, not the messages (the stream
        # marker; services.platform.assertion argues why that is enough here).
        signed = self._signer.sign(assertion, "consent", request=STREAM_BINDING)
        # grpc-stubs makes request_iterator required; grpc.aio's is optional (these requests are written).
        call = channel.stream_stream(
            WATCH_POLICY_CHANGES,
            request_serializer=Request.SerializeToString,
            response_deserializer=Response.FromString,
        )(metadata=((METADATA_KEY, signed),))  # type: ignore[call-arg]
        writing = asyncio.Lock()
        applied = 0

        async def send(message: Request) -> None:
            async with writing:  # one write at a time, in the order their send times were taken
                self._cache.sending()
                await call.write(message)

        async def renew() -> None:
            while True:
                await asyncio.sleep(self._renew_seconds)  # the renewal period
                await send(Request(acknowledge=Request.Acknowledge(sequence=applied)))

        self._cache.reset()
        await send(Request(subscribe=Request.Subscribe(subscriber_id=self._subscriber_id)))
        renewing = asyncio.create_task(renew())
        try:
            while isinstance(response := await call.read(), Response):  # else grpc.aio.EOF: the stream ended
                if response.WhichOneof("message") == "change":
                    change = response.change
                    self._cache.change(change.patient_id)  # drop first ...
                    applied = max(applied, change.sequence)
                    await send(Request(acknowledge=Request.Acknowledge(sequence=applied)))  # ... then acknowledge
                elif response.WhichOneof("message") == "heartbeat":
                    self._cache.heartbeat(response.heartbeat.lease.ToNanoseconds() / 1e9)
                    if self._cache.healthy():
                        self._leased.set()
            return self._leased.is_set()
        finally:
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)
            call.cancel()
