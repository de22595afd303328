"""The lease book's decisions, pure: renewals, acknowledgements and when a change is complete,
on a fake clock (times in seconds), with the book as every consent replica shares it."""

from __future__ import annotations

import pytest

from services.consent.lease_book import Lease, lapsed, pending, renew, subscribed
from services.consent.policy_feed import Change
from services.consent.watch import Stream
from tests.fixtures import people

LEASE = 2.0


def test_a_new_subscriber_is_leased_from_now_and_concerned_only_by_later_changes():
    lease = subscribed(head=7, now=10.0, lease=LEASE)
    assert lease == Lease(since=7, acknowledged=7, granted_until=12.0)
    assert pending([lease], 7, now=10.0) is None  # committed before it subscribed
    assert pending([lease], 8, now=10.0) == LEASE


def test_an_acknowledgement_of_every_committed_change_renews_from_now():
    lease = subscribed(head=0, now=0.0, lease=LEASE)
    renewal = renew(lease, acknowledged=0, sent=0, head=0, now=1.5, lease=LEASE)
    assert renewal.granted == LEASE and renewal.lease.granted_until == 3.5
    applied = renew(renewal.lease, acknowledged=1, sent=1, head=1, now=1.7, lease=LEASE)
    assert applied.granted == LEASE and applied.lease == Lease(0, 1, 3.7)


def test_a_change_is_complete_once_acknowledged():
    lease = subscribed(head=0, now=0.0, lease=LEASE)
    assert pending([lease], 1, now=0.1) == LEASE - 0.1
    acknowledged = renew(lease, acknowledged=1, sent=1, head=1, now=0.2, lease=LEASE).lease
    assert pending([acknowledged], 1, now=0.2) is None


def test_without_an_acknowledgement_it_completes_when_the_lease_runs_out_not_earlier():
    lease = subscribed(head=0, now=0.0, lease=LEASE)
    assert pending([lease], 1, now=1.99) is not None
    assert pending([lease], 1, now=2.0) is None
    assert lapsed(lease, 2.0) and not lapsed(lease, 1.99)


def test_no_lease_is_renewed_while_a_committed_change_is_outstanding():
    lease = subscribed(head=0, now=0.0, lease=LEASE)
    # Change 1 is committed but this replica has not forwarded it yet (sent 0): a renewal
    # acknowledging everything it was sent still grants nothing.
    renewal = renew(lease, acknowledged=0, sent=0, head=1, now=1.5, lease=LEASE)
    assert renewal.granted == 0.0 and renewal.lease.granted_until == 2.0
    assert pending([renewal.lease], 1, now=1.9) is not None
    assert pending([renewal.lease], 1, now=2.0) is None  # bounded by the lease granted before the change


def test_acknowledging_a_change_never_sent_counts_for_nothing():
    lease = subscribed(head=0, now=0.0, lease=LEASE)
    renewal = renew(lease, acknowledged=99, sent=0, head=0, now=0.1, lease=LEASE)
    assert renewal.lease.acknowledged == 0
    assert pending([renewal.lease], 1, now=0.2) is not None


def test_acknowledgements_never_go_back_and_leases_never_shrink():
    lease = Lease(since=0, acknowledged=5, granted_until=4.0)
    renewal = renew(lease, acknowledged=3, sent=5, head=5, now=1.0, lease=LEASE)
    assert renewal.lease == Lease(0, 5, 4.0) and renewal.granted == LEASE


def test_a_change_waits_for_the_leases_of_every_replica_until_the_last_has_run_out():
    book = [
        Lease(since=0, acknowledged=0, granted_until=3.0),  # served by a replica that died: lapses at 3
        Lease(since=0, acknowledged=4, granted_until=9.0),  # acknowledged: not waited for
        Lease(since=4, acknowledged=4, granted_until=9.0),  # subscribed after the change
        Lease(since=0, acknowledged=0, granted_until=2.5),
    ]
    assert pending(book, 4, now=1.0) == 1.5  # the next moment to look again
    assert pending(book, 4, now=2.6) == pytest.approx(0.4)
    assert pending(book, 4, now=3.0) is None


# --- one stream's forwarding, as each replica does it from the shared feed ------------------


def sequences(stream: Stream) -> list[int]:
    return [m.change.sequence for m in stream.outbox if m.WhichOneof("message") == "change"]


def test_a_stream_is_forwarded_each_later_change_once_in_order():
    stream = Stream("s", "gateway-a", sent=3, granted_until=10.0)
    feed = [Change(n, people.ESKIL, n) for n in range(2, 7)]
    stream.forward(feed[:3])  # read from a position below this stream's (another stream lagged)
    stream.forward(feed)
    assert sequences(stream) == [4, 5, 6] and stream.sent == 6 and stream.connected


def test_a_gap_in_the_feed_ends_the_stream_instead_of_skipping_a_change():
    stream = Stream("s", "gateway-a", sent=3, granted_until=10.0)
    stream.forward([Change(5, people.ESKIL, 1)])  # 4 aged out of the feed
    assert not stream.connected and not stream.outbox and stream.sent == 3
    assert stream.ended is not None and stream.ended.reason == "WATCH_CHANGES_MISSED"  # not OK


def test_a_stream_too_far_behind_is_ended_not_queued_without_bound(monkeypatch):
    monkeypatch.setattr("services.consent.watch.MAX_OUTBOX", 3)
    stream = Stream("s", "gateway-a", sent=0, granted_until=10.0)
    stream.forward([Change(n, people.ESKIL, n) for n in range(1, 5)])
    assert not stream.connected and not stream.outbox
    assert stream.ended is not None and stream.ended.reason == "WATCH_TOO_FAR_BEHIND"
    stream.disconnect()  # the first reason given stays
    assert stream.ended.reason == "WATCH_TOO_FAR_BEHIND"
