"""What wakes one replica's watchers of a service's change sequences: a commit in this process,
or a NOTIFY from any replica.

Each sequence has one Signal (a single event, watch.py). Writers in this process fire it right
after their commit. On PostgreSQL every commit that advances a sequence also sends NOTIFY on the
service's channel with the sequence's name, and this process keeps ONE listening connection while
it has watchers (of any of its sequences): the first watcher starts it, the last one to leave
stops it. A notification fires the named sequence's Signal; each (re)connection fires all of
them, since notifications sent while nobody listened are lost (pg_notify.py). Watchers poll as
well (watch.POLL_SECONDS), so a dropped connection delays them, never loses a change; on SQLite
the poll is what sees other processes' commits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from . import pg_notify
from .watch import Heartbeat, Page, Signal, follow

T = TypeVar("T")


class Wakeups:
    """One replica's Signals of a service's sequences (`names`, notified on `channel`) and its
    one listener (`listener`: the task's and connection's name)."""

    def __init__(
        self,
        listen_url: str | None,
        channel: str,
        names: Sequence[str],
        listener: str,
        password_file: Path | None = None,
    ) -> None:
        self._url = listen_url  # None: no notifications (SQLite)
        self._channel = channel
        self._listener_name = listener
        self._password_file = password_file  # SAMHANDLING_DATABASE_PASSWORD_FILE, if set
        self._signals = {name: Signal() for name in names}
        self._watchers = 0
        self._listener: asyncio.Task | None = None

    def committed(self, name: str) -> None:
        """Wakes this process's watchers of the sequence after a commit here."""
        self._signals[name].notify()

    @contextlib.asynccontextmanager
    async def watching(self, name: str) -> AsyncIterator[Signal]:
        """The sequence's Signal, with the listener running for as long as the caller watches."""
        self._watchers += 1
        if self._url is not None and (self._listener is None or self._listener.done()):
            self._listener = asyncio.create_task(
                pg_notify.listen(
                    self._url,
                    [self._channel],
                    self._notified,
                    self._everything,
                    name=self._listener_name,
                    password_file=self._password_file,
                ),
                name=self._listener_name,
            )
        try:
            yield self._signals[name]
        finally:
            self._watchers -= 1
            if not self._watchers and self._listener is not None:
                self._listener.cancel()
                self._listener = None

    @property
    def listening(self) -> bool:
        """Whether the listener task runs (it may still be connecting)."""
        return self._listener is not None and not self._listener.done()

    def _notified(self, payload: str) -> None:
        signal = self._signals.get(payload)
        if signal is None:  # not a name this version knows: wake everyone rather than nobody
            self._everything()
        else:
            signal.notify()

    def _everything(self) -> None:
        for signal in self._signals.values():
            signal.notify()


async def follow_committed(
    wakeups: Wakeups,
    sequence: str,
    read_page: Callable[[int], Page[T]],
    after: int,
    keep: Callable[[T], bool] = lambda _: True,
) -> AsyncGenerator[T | Heartbeat, None]:
    """The items after position `after` that `keep` keeps, as `sequence` commits (heartbeats
    between): `read_page(seen)` is the store's read, run in a worker thread; the wakeups'
    listener runs while the caller iterates (close the generator to stop it: aclosing)."""
    async with wakeups.watching(sequence) as changed:
        async for item in follow(lambda seen: asyncio.to_thread(read_page, seen), after, changed):
            if isinstance(item, Heartbeat) or keep(item):
                yield item
