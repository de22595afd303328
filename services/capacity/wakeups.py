"""What wakes one replica's watchers: a commit in this process, or a NOTIFY from any replica.

Each sequence has one Signal (a single event, watch.py). Writers in this process fire it
right after their commit. On PostgreSQL every commit that advances a sequence also sends
NOTIFY (sequence_store.py), and this process keeps ONE listening connection while it has
watchers (of either sequence): the first watcher starts it, the last one to leave stops it.
A notification fires the named sequence's Signal; each (re)connection fires all of them,
since notifications sent while nobody listened are lost (services/platform/pg_notify.py).
Watchers poll as well (watch.POLL_SECONDS), so a dropped connection delays them, never
loses a change; on SQLite the poll is what sees other processes' commits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from services.platform import pg_notify

from . import sequence_store
from .watch import Signal


class Wakeups:
    """One replica's Signals of the capacity sequences and its one listener."""

    def __init__(self, listen_url: str | None, password_file: Path | None = None) -> None:
        self._url = listen_url  # None: no notifications (SQLite)
        self._password_file = password_file  # SAMHANDLING_DATABASE_PASSWORD_FILE, if set
        self._signals = {name: Signal() for name in sequence_store.NAMES}
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
                    [sequence_store.CHANNEL],
                    self._notified,
                    self._everything,
                    name="capacity-listener",
                    password_file=self._password_file,
                ),
                name="capacity-listener",
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
