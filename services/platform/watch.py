"""Following a sequence of committed changes (capacity reports, alert events, escalation changes) as a stream.

Positions come from one counter per sequence, advanced under a lock held to commit (see
services/capacity/sequence_store.py, services/summary/escalation_inbox_store.py), so when a position is visible every lower one is too: reading "after the last
position seen, up to the head" never skips a change, and a resume from a position (on any
replica: they share the database) repeats none. Watchers wake on their sequence's Signal,
fired by writers in this process right after their commit and, on PostgreSQL, by the
replica's listener when any replica's commit is notified (services/platform/wakeups.py); a watcher takes the
Signal's event before it reads, so a commit during the read wakes it again rather than being
slept through. A notification is only a hint (one may be lost with its connection), so
watchers also re-read every POLL_SECONDS: at worst a change arrives a poll late, never not at
all. On SQLite the poll is what sees other processes' commits. A stream that has been quiet for HEARTBEAT_SECONDS sends a
heartbeat: the position read up to, so proxies keep the connection, clients can tell a live
stream from a dead one, and a filtered watcher's resume position moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
PAGE = 200

T = TypeVar("T")


class Signal:
    """Wakes every watcher of one sequence (after a commit in this process, or a notification)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    def next(self) -> asyncio.Event:
        """The event the next notify sets; take it before reading, so a commit during the read
        is not slept through."""
        return self._event


@dataclass(frozen=True)
class Heartbeat:
    """Nothing to show up to this position (changes up to it were read, none for this watcher)."""

    position: int


@dataclass(frozen=True)
class Page(Generic[T]):
    """Changes after a position that a watcher may see, and how far the read looked."""

    upto: int  # every change up to here was considered (filtered ones too)
    items: Sequence[T]
    more: bool = False  # stopped at the page size before the head


async def follow(
    read: Callable[[int], Awaitable[Page[T]]],
    after: int,
    signal: Signal,
    poll: float | None = None,
    heartbeat: float = HEARTBEAT_SECONDS,
) -> AsyncIterator[T | Heartbeat]:
    """Every change after `after`, in order, with a Heartbeat after each quiet `heartbeat`
    seconds, until the caller stops iterating (or is cancelled). `poll` defaults to
    POLL_SECONDS as it is when the watch starts."""
    poll = POLL_SECONDS if poll is None else poll
    loop = asyncio.get_running_loop()
    seen, last_sent = after, loop.time()
    while True:
        wake = signal.next()
        page = await read(seen)
        for item in page.items:
            yield item
            last_sent = loop.time()
        seen = page.upto
        if page.more:
            continue
        if loop.time() - last_sent >= heartbeat:
            yield Heartbeat(seen)
            last_sent = loop.time()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(poll):
                await wake.wait()
