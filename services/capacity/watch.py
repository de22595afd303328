"""Following a sequence of committed changes (capacity reports, alert events) as a stream.

Positions come from one counter per sequence, advanced under a lock held to commit (see
sequences.py), so when a position is visible every lower one is too: reading "after the last
position seen, up to the head" never skips a change. Watchers wake on a signal from writers
in this process right after their commit, and re-read every POLL_SECONDS anyway, for changes
committed by another replica. A stream that has been quiet for HEARTBEAT_SECONDS sends a
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
    """Wakes every watcher of one sequence after a commit in this process."""

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
    read: Callable[[int], Awaitable[Page[T]]], after: int, signal: Signal, poll: float = POLL_SECONDS,
    heartbeat: float = HEARTBEAT_SECONDS,
) -> AsyncIterator[T | Heartbeat]:
    """Every change after `after`, in order, with a Heartbeat after each quiet `heartbeat`
    seconds, until the caller stops iterating (or is cancelled)."""
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
