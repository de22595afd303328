"""The gateway's decision cache on a fake clock: leases counted from the send, changes dropped
before they are acknowledged, nothing cached without a lease or across a change."""

from __future__ import annotations

import asyncio

import pytest

from gateway.decision_cache import DRIFT_MARGIN, DecisionCache, PolicyWatch, ProtocolError
from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2
from services.platform.assertion import AssertionSigner
from services.platform.keys import load_jwk
from services.platform.settings import Settings
from tests.fixtures import people

PATIENT, OTHER = people.ESKIL, people.RAGNHILD
EHR = common_pb2.Actor(kind=common_pb2.ACTOR_KIND_SYSTEM, client_id="demo-ehr", orgnr_parent="910000012")
Response = consent_pb2.WatchPolicyChangesResponse


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ask(patient_id: str = PATIENT, category: int = common_pb2.DATA_CATEGORY_VITAL_SIGNS, **fields):
    fields = {"purpose_of_use": common_pb2.PURPOSE_OF_USE_TREAT} | fields
    return consent_pb2.CheckAccessRequest(patient_id=patient_id, actor=EHR, data_category=category, **fields)


PERMIT = consent_pb2.CheckAccessResponse(
    decision=common_pb2.DECISION_PERMIT,
    access_basis=common_pb2.ACCESS_BASIS_CARE_RELATIONSHIP,
    decided_by=["default:care-relationship"],
    decision_id="d-1",
)


def leased(clock: Clock, lease: float = 2.0, **kwargs) -> DecisionCache:
    cache = DecisionCache(enabled=True, clock=clock, **kwargs)
    cache.sending()
    cache.heartbeat(lease)
    assert cache.healthy()
    return cache


def cached(cache: DecisionCache, request: consent_pb2.CheckAccessRequest, decision=PERMIT) -> bool:
    cache.put(cache.ticket(), request, decision)
    return cache.get(request) is decision


def test_nothing_is_cached_without_a_lease():
    cache = DecisionCache(enabled=True, clock=Clock())
    assert cache.ticket() is None and not cached(cache, ask())


def test_the_lease_counts_from_the_send_not_the_arrival():
    clock = Clock()
    cache = DecisionCache(enabled=True, clock=clock)
    cache.sending()  # at 1000.0
    clock.now += 1.5  # the heartbeat took its time
    cache.heartbeat(2.0)
    assert cached(cache, ask())
    clock.now = 1000.0 + 2.0 * (1 - DRIFT_MARGIN) - 0.01
    assert cache.healthy()
    clock.now += 0.02
    assert not cache.healthy()


def test_a_lapsed_lease_drops_everything_and_bypasses_until_renewed():
    clock = Clock()
    cache = leased(clock)
    assert cached(cache, ask()) and cached(cache, ask(OTHER))
    clock.now += 2.0
    assert cache.get(ask()) is None and cache.ticket() is None
    cache.sending()
    cache.heartbeat(2.0)
    assert cache.healthy()
    assert cache.get(ask()) is None and cache.get(ask(OTHER)) is None  # gone, not revived


def test_a_heartbeat_that_grants_nothing_renews_nothing():
    clock = Clock()
    cache = leased(clock)
    clock.now += 1.0
    cache.sending()
    cache.heartbeat(0.0)  # answer to a renewal sent while a change was outstanding
    clock.now += 0.95
    assert not cache.healthy()


def test_a_change_drops_the_patients_decisions_only():
    cache = leased(Clock())
    assert cached(cache, ask()) and cached(cache, ask(category=common_pb2.DATA_CATEGORY_MUNICIPAL_SERVICES))
    assert cached(cache, ask(OTHER))
    cache.change(PATIENT)
    assert cache.get(ask()) is None
    assert cache.get(ask(category=common_pb2.DATA_CATEGORY_MUNICIPAL_SERVICES)) is None
    assert cache.get(ask(OTHER)) is PERMIT


def test_a_decision_asked_before_a_change_is_not_cached_after_it():
    cache = leased(Clock())
    ticket = cache.ticket()
    cache.change(OTHER)  # any change: the answer may have been made on the old rules
    cache.put(ticket, ask(), PERMIT)
    assert cache.get(ask()) is None
    cache.put(cache.ticket(), ask(), PERMIT)
    assert cache.get(ask()) is PERMIT


def test_a_decision_asked_under_an_old_subscription_is_not_cached():
    clock = Clock()
    cache = leased(clock)
    ticket = cache.ticket()
    cache.reset()  # the stream broke and a new one is leased
    cache.sending()
    cache.heartbeat(2.0)
    cache.put(ticket, ask(), PERMIT)
    assert cache.get(ask()) is None


def test_decisions_with_obligations_are_never_cached():
    cache = leased(Clock())
    opened = consent_pb2.CheckAccessResponse()
    opened.CopyFrom(PERMIT)
    opened.access_basis = common_pb2.ACCESS_BASIS_EMERGENCY
    opened.obligations.extend([consent_pb2.OBLIGATION_FLAG_FOR_AUDIT, consent_pb2.OBLIGATION_NOTIFY_PATIENT])
    assert not cached(cache, ask(justification="Bevisstløs"), opened)


def test_the_key_is_the_whole_request():
    cache = leased(Clock())
    assert cached(cache, ask())
    assert cache.get(ask(consent_at_moment=True)) is None
    assert cache.get(ask(justification="Bevisstløs")) is None
    assert cache.get(ask(purpose_of_use=common_pb2.PURPOSE_OF_USE_COC)) is None
    other_actor = ask()
    other_actor.actor.orgnr_child = "910000020"
    assert cache.get(other_actor) is None


def test_a_cached_read_permit_never_answers_a_write():
    cache = leased(Clock())
    assert cached(cache, ask())
    assert cache.get(ask(write=True)) is None
    denied = consent_pb2.CheckAccessResponse(
        decision=common_pb2.DECISION_DENY,
        access_basis=common_pb2.ACCESS_BASIS_NONE,
        decided_by=["default:not-data-holder"],
        decision_id="d-2",
    )
    assert cached(cache, ask(write=True), denied)
    assert cache.get(ask()) is PERMIT and cache.get(ask(write=True)) is denied


def _other_value(request: consent_pb2.CheckAccessRequest, field) -> None:
    """Changes one field of `request` to another value of its type."""
    F = field.__class__
    if field.type == F.TYPE_MESSAGE:
        getattr(request, field.name).client_id += "-other"
    elif field.type == F.TYPE_STRING:
        setattr(request, field.name, getattr(request, field.name) + "x")
    elif field.type == F.TYPE_BOOL:
        setattr(request, field.name, not getattr(request, field.name))
    elif field.type == F.TYPE_ENUM:
        values = [v.number for v in field.enum_type.values if v.number != getattr(request, field.name)]
        setattr(request, field.name, values[-1])
    else:
        raise AssertionError(f"teach this test to change a field of type {field.type} ({field.name})")


@pytest.mark.parametrize("field", list(consent_pb2.CheckAccessRequest.DESCRIPTOR.fields), ids=lambda f: f.name)
def test_every_field_of_the_request_is_part_of_the_key(field):
    """A field added to CheckAccessRequest later is in the key without anyone remembering it."""
    cache = leased(Clock())
    assert cached(cache, ask())
    changed = ask()
    _other_value(changed, field)
    assert changed != ask() and cache.get(changed) is None


def test_entries_expire_and_the_least_recent_patients_are_evicted():
    clock = Clock()
    cache = leased(clock, lease=100.0, max_age=5.0, max_entries=2)
    assert cached(cache, ask()) and cached(cache, ask(OTHER))
    cache.get(ask())  # PATIENT is now the most recently used
    third = people.FRIDA
    assert cached(cache, ask(third))
    assert cache.get(ask(OTHER)) is None and cache.get(ask()) is PERMIT
    clock.now += 5.0
    assert cache.get(ask()) is None


def test_switched_off_it_holds_nothing_even_with_a_lease():
    cache = DecisionCache(enabled=False, clock=Clock())
    cache.sending()
    cache.heartbeat(2.0)
    assert cache.ticket() is None and not cached(cache, ask())


def test_a_heartbeat_answering_nothing_breaks_the_protocol():
    with pytest.raises(ProtocolError):
        DecisionCache(enabled=True, clock=Clock()).heartbeat(2.0)


class FakeWatchCall:
    """The consent service's end of one WatchPolicyChanges stream, scripted by the test."""

    def __init__(self, cache: DecisionCache) -> None:
        self.cache = cache
        self.incoming: asyncio.Queue = asyncio.Queue()
        self.written: list[tuple[str, bool]] = []  # (message kind, patient's decision still cached?)
        self.acknowledged = asyncio.Event()

    async def write(self, message) -> None:
        kind = message.WhichOneof("message")
        self.written.append((kind, self.cache.get(ask()) is not None))
        if kind == "acknowledge" and message.acknowledge.sequence == 7:
            self.acknowledged.set()
        await self.incoming.put(Response(heartbeat=Response.Heartbeat(lease={"seconds": 2})))

    async def read(self):
        return await self.incoming.get()

    def cancel(self) -> None:
        pass


class FakeChannel:
    def __init__(self, call: FakeWatchCall) -> None:
        self.call = call

    def stream_stream(self, method, request_serializer, response_deserializer):
        return lambda metadata: self.call


async def test_a_change_is_dropped_before_it_is_acknowledged():
    cache = DecisionCache(enabled=True)
    settings = Settings()
    watch = PolicyWatch(
        cache, "unused", AssertionSigner(load_jwk(settings.assertion_signing_key(), settings)), renew_seconds=3600
    )
    call = FakeWatchCall(cache)
    following = asyncio.create_task(watch._follow(FakeChannel(call)))
    await watch.leased()
    assert cached(cache, ask())
    await call.incoming.put(Response(change=Response.PolicyChange(sequence=7, patient_id=PATIENT, policy_revision=3)))
    await call.acknowledged.wait()
    following.cancel()
    await asyncio.gather(following, return_exceptions=True)
    assert call.written[0] == ("subscribe", False)
    assert call.written[-1] == ("acknowledge", False)  # the decision was gone before the acknowledgement


class EndedUnderTheAcknowledgement(FakeWatchCall):
    """A stream the service ended just as the cache acknowledged a change: the write raises
    asyncio.InvalidStateError, as grpc.aio's does when the call is already done."""

    async def write(self, message) -> None:
        if message.WhichOneof("message") == "acknowledge":
            raise asyncio.InvalidStateError("the RPC is already finished")
        await super().write(message)


async def test_a_watch_ended_under_an_acknowledgement_subscribes_again(monkeypatch):
    import contextlib

    import gateway.decision_cache as module

    cache = DecisionCache(enabled=True)
    first = EndedUnderTheAcknowledgement(cache)
    second = FakeWatchCall(cache)
    calls = iter([first, second])

    class Channel:
        def stream_stream(self, method, request_serializer, response_deserializer):
            return lambda metadata: next(calls)

    @contextlib.asynccontextmanager
    async def channel(address, tls=None):
        yield Channel()

    monkeypatch.setattr(module, "open_channel", channel)
    monkeypatch.setattr(module, "RECONNECT_SECONDS", (0.01, 0.01))
    settings = Settings()
    watch = PolicyWatch(
        cache, "unused", AssertionSigner(load_jwk(settings.assertion_signing_key(), settings)), renew_seconds=3600
    )
    watch.start()
    try:
        await asyncio.wait_for(watch.leased(), 5)
        await first.incoming.put(
            Response(change=Response.PolicyChange(sequence=7, patient_id=PATIENT, policy_revision=3))
        )
        await asyncio.wait_for(_until(lambda: second.written), 5)  # subscribed again
        await asyncio.wait_for(watch.leased(), 5)
        assert second.written[0][0] == "subscribe" and cache.healthy()
    finally:
        await watch.stop()


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.005)  # polling a condition under the caller's deadline
