"""The consent side of WatchPolicyChanges, pure: leases, acknowledgements and when a change is
complete, on a fake clock (times in seconds)."""
from __future__ import annotations

from services.consent.watch import Subscriptions

LEASE = 2.0
PATIENT = "22750884907"


def book(started_at: float = -10.0) -> Subscriptions:
    return Subscriptions(LEASE, started_at)


def drained(subscriber) -> list[tuple[str, float | int]]:
    """The queued messages as (kind, lease seconds or change sequence)."""
    out = []
    while subscriber.outbox:
        message = subscriber.outbox.popleft()
        if message.WhichOneof("message") == "heartbeat":
            out.append(("heartbeat", message.heartbeat.lease.ToNanoseconds() / 1e9))
        else:
            out.append(("change", message.change.sequence))
    return out


def test_every_message_is_answered_by_one_heartbeat_in_order():
    subscriptions = book()
    cache = subscriptions.subscribe("gateway-a", now=0.0)
    subscriptions.acknowledge(cache, 0, now=0.5)
    sequence = subscriptions.publish(PATIENT, 4)
    subscriptions.acknowledge(cache, sequence, now=0.7)
    assert drained(cache) == [("heartbeat", LEASE), ("heartbeat", LEASE), ("change", sequence), ("heartbeat", LEASE)]
    change = subscriptions.publish(PATIENT, 5)
    assert change == sequence + 1


def test_a_change_is_complete_once_acknowledged():
    subscriptions = book()
    cache = subscriptions.subscribe("gateway-a", now=0.0)
    sequence = subscriptions.publish(PATIENT, 4)
    assert subscriptions.pending(sequence, now=0.1) == LEASE - 0.1
    subscriptions.acknowledge(cache, sequence, now=0.2)
    assert subscriptions.pending(sequence, now=0.2) is None


def test_without_an_acknowledgement_it_completes_when_the_lease_runs_out_not_earlier():
    subscriptions = book()
    subscriptions.subscribe("gateway-a", now=0.0)
    sequence = subscriptions.publish(PATIENT, 4)
    assert subscriptions.pending(sequence, now=1.99) is not None
    assert subscriptions.pending(sequence, now=2.0) is None


def test_no_lease_is_renewed_while_a_change_is_outstanding():
    subscriptions = book()
    cache = subscriptions.subscribe("gateway-a", now=0.0)
    sequence = subscriptions.publish(PATIENT, 4)
    subscriptions.acknowledge(cache, sequence - 1, now=1.5)  # a renewal sent before it saw the change
    assert drained(cache)[-1] == ("heartbeat", 0.0)
    assert subscriptions.pending(sequence, now=1.9) is not None
    assert subscriptions.pending(sequence, now=2.0) is None  # bounded by the lease granted before the change


def test_acknowledging_a_change_never_sent_counts_for_nothing():
    subscriptions = book()
    cache = subscriptions.subscribe("gateway-a", now=0.0)
    subscriptions.acknowledge(cache, 99, now=0.1)
    sequence = subscriptions.publish(PATIENT, 4)
    assert subscriptions.pending(sequence, now=0.2) is not None


def test_a_subscriber_that_came_after_the_change_is_not_waited_for():
    subscriptions = book()
    sequence = subscriptions.publish(PATIENT, 4)
    late = subscriptions.subscribe("gateway-b", now=0.0)
    assert subscriptions.pending(sequence, now=0.0) is None
    assert drained(late) == [("heartbeat", LEASE)]


def test_every_subscriber_is_waited_for():
    subscriptions = book()
    a = subscriptions.subscribe("gateway-a", now=0.0)
    b = subscriptions.subscribe("gateway-b", now=0.0)
    sequence = subscriptions.publish(PATIENT, 4)
    subscriptions.acknowledge(a, sequence, now=0.1)
    assert subscriptions.pending(sequence, now=0.1) is not None
    subscriptions.acknowledge(b, sequence, now=0.2)
    assert subscriptions.pending(sequence, now=0.2) is None


def test_a_hung_up_subscriber_is_waited_for_until_its_lease_runs_out():
    # Its end may not have noticed the broken stream and still use its cache.
    subscriptions = book()
    cache = subscriptions.subscribe("gateway-a", now=0.0)
    subscriptions.acknowledge(cache, 0, now=1.0)
    subscriptions.disconnect(cache)
    sequence = subscriptions.publish(PATIENT, 4)
    assert not cache.outbox
    assert subscriptions.pending(sequence, now=2.9) is not None
    assert subscriptions.pending(sequence, now=3.0) is None
    assert subscriptions.expire(now=3.0) == []  # forgotten; it had no stream left to end


def test_a_silent_subscriber_is_expired_and_its_stream_ended():
    subscriptions = book()
    silent = subscriptions.subscribe("gateway-a", now=0.0)
    alive = subscriptions.subscribe("gateway-b", now=0.0)
    subscriptions.acknowledge(alive, 0, now=1.0)
    assert subscriptions.expire(now=2.0) == [silent]
    assert subscriptions.expire(now=2.5) == []


def test_a_new_process_waits_out_the_leases_its_predecessor_may_have_granted():
    subscriptions = book(started_at=0.0)
    sequence = subscriptions.publish(PATIENT, 4)
    assert subscriptions.pending(sequence, now=0.5) == LEASE - 0.5
    assert subscriptions.pending(sequence, now=LEASE) is None
