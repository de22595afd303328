"""services.platform.watch: following committed changes without skipping, repeating or
sleeping through a wake-up."""

from __future__ import annotations

import asyncio

from services.platform.watch import Heartbeat, Page, Signal, follow

TIMEOUT = 5.0
FOREVER = 3600.0  # a poll that never comes within a test: only the signal can wake it


class Log:
    """Committed changes at positions 1, 2, ...; `read` pages through them like the stores."""

    def __init__(self, page: int = 100) -> None:
        self.items: list[str] = []
        self.page = page
        self.looked = asyncio.Event()  # set once a read has looked
        self.during_read: list = []  # callables run inside the next read, after it looked

    async def read(self, after: int) -> Page[tuple[int, str]]:
        head = len(self.items)
        items = [(p, self.items[p - 1]) for p in range(after + 1, head + 1)][: self.page]
        while self.during_read:
            self.during_read.pop(0)()
        self.looked.set()
        if len(items) == self.page:
            return Page(items[-1][0], items, more=True)
        return Page(head, items)


async def take(stream, count: int) -> list:
    return [await asyncio.wait_for(anext(stream), TIMEOUT) for _ in range(count)]


async def test_delivers_the_changes_after_a_position_in_order_in_pages():
    log, signal = Log(page=2), Signal()
    log.items += ["a", "b", "c", "d", "e"]
    stream = follow(log.read, 1, signal, poll=FOREVER)
    assert await take(stream, 4) == [(2, "b"), (3, "c"), (4, "d"), (5, "e")]
    await stream.aclose()


async def test_a_signal_wakes_the_watcher():
    log, signal = Log(), Signal()
    stream = follow(log.read, 0, signal, poll=FOREVER)
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.wait_for(log.looked.wait(), TIMEOUT)  # it has read (nothing) and waits
    log.items.append("a")
    signal.notify()
    assert await asyncio.wait_for(waiting, TIMEOUT) == (1, "a")
    await stream.aclose()


async def test_a_commit_during_the_read_is_not_slept_through():
    log, signal = Log(), Signal()

    def commit() -> None:
        log.items.append("late")
        signal.notify()

    log.during_read.append(commit)  # lands after the read looked, before the watcher waits
    stream = follow(log.read, 0, signal, poll=FOREVER)
    assert await take(stream, 1) == [(1, "late")]
    await stream.aclose()


async def test_polling_finds_changes_nobody_signalled():
    log, signal = Log(), Signal()
    stream = follow(log.read, 0, signal, poll=0.01)
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.wait_for(log.looked.wait(), TIMEOUT)
    log.items.append("from another replica")
    assert await asyncio.wait_for(waiting, TIMEOUT) == (1, "from another replica")
    await stream.aclose()


async def test_filtered_pages_move_the_position_past_what_they_skipped():
    signal = Signal()
    reads: list[int] = []

    async def read(after: int) -> Page[int]:
        reads.append(after)
        return Page(after + 10, [after + 10] if after == 10 else [])

    stream = follow(read, 0, signal, poll=0.0)
    assert await take(stream, 1) == [20]
    assert reads == [0, 10]
    await stream.aclose()


async def test_cancelling_the_watcher_ends_it():
    log, signal = Log(), Signal()
    stream = follow(log.read, 0, signal, poll=FOREVER)
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.wait_for(log.looked.wait(), TIMEOUT)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert waiting.cancelled()
    assert stream.ag_running is False and stream.ag_frame is None  # finished, not suspended


async def test_a_quiet_stream_sends_heartbeats_with_the_position_read_up_to():
    log, signal = Log(), Signal()
    log.items += ["a", "b"]
    stream = follow(log.read, 0, signal, poll=0.01, heartbeat=0.05)
    assert await take(stream, 3) == [(1, "a"), (2, "b"), Heartbeat(2)]
    log.items.append("c")
    signal.notify()
    # The change follows (a heartbeat may come first, never one past an undelivered change).
    before = []
    while (item := (await take(stream, 1))[0]) != (3, "c"):
        before.append(item)
    assert set(before) <= {Heartbeat(2)}
    await stream.aclose()
