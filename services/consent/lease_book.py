"""The lease book's decisions, pure: when a subscriber's lease is renewed and when a change
is complete. No I/O; every function takes the time it decides at, in seconds on the clock of
the book (the database's clock: services/consent/policy_feed.py keeps the book there).

A lease is one row of the book: the feed's head when the subscriber subscribed (`since`:
later changes are its business), the last change it acknowledged (having dropped the
patient's cached decisions), and the end of the lease granted to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Lease:
    since: int
    acknowledged: int
    granted_until: float


@dataclass(frozen=True)
class Renewal:
    lease: Lease  # the row to write
    granted: float  # the heartbeat's lease in seconds; 0 renews nothing


def subscribed(head: int, now: float, lease: float) -> Lease:
    """A new subscriber: every change up to the head is none of its business (its cache starts
    empty), and its first heartbeat grants a lease from now."""
    return Lease(since=head, acknowledged=head, granted_until=now + lease)


def renew(current: Lease, acknowledged: int, sent: int, head: int, now: float, lease: float) -> Renewal:
    """An acknowledgement arrived: records it (counting only changes actually sent on the
    stream) and renews the lease from now, but only if the subscriber has acknowledged every
    change committed so far (`head`, as the renewal's transaction sees the feed). So once a
    change has committed, a subscriber that has not applied it is renewed at most by a renewal
    that read the head before the commit: its lease ends within one lease of the commit."""
    applied = max(current.acknowledged, min(acknowledged, sent))
    if applied >= head:
        return Renewal(Lease(current.since, applied, max(current.granted_until, now + lease)), lease)
    return Renewal(replace(current, acknowledged=applied), 0.0)


def pending(leases: Iterable[Lease], sequence: int, now: float) -> float | None:
    """Seconds until the change `sequence` may be complete at the latest, or None once it is:
    every subscriber it concerns (subscribed before it) has acknowledged it or lost its lease."""
    waiting = [
        lease.granted_until
        for lease in leases
        if lease.since < sequence and lease.acknowledged < sequence and lease.granted_until > now
    ]
    return min(waiting) - now if waiting else None


def lapsed(lease: Lease, now: float) -> bool:
    return lease.granted_until <= now
