"""When a store sweeps its expired rows: after a write, at most every so many seconds, by one
thread at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SweepSchedule:
    """Runs a sweep when it is due: at most once every `every` seconds of the monotonic clock
    (a step of the wall clock moves no sweep), never two at once in a process; a caller that
    finds a sweep running, or none due, goes on without."""

    def __init__(self, every: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._every = every
        self._clock = clock
        self._running = threading.Lock()
        self._next = 0.0  # monotonic

    def due(self) -> bool:
        """A sweep would run now: it is time, and none is running in this process."""
        return self._clock() >= self._next and not self._running.locked()

    def run_if_due(self, sweep: Callable[[], object]) -> None:
        """Runs `sweep` when due; what it raises reaches the caller."""
        now = self._clock()
        if now < self._next or not self._running.acquire(blocking=False):
            return
        try:
            self._next = now + self._every
            sweep()
        finally:
            self._running.release()
