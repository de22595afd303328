"""Work a process runs beside its calls on a thread of its own (e.g. the summary service's
escalation sweeper): a loop `work(stop)` that returns once `stop` is set. Started once the server
serves and stopped once it has stopped, before the database is let go (Backend.background)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["STOP_SECONDS", "BackgroundWork"]

log = logging.getLogger(__name__)

# How long `stop` waits for the loop to return (one step of it: a sweep's transaction).
STOP_SECONDS = 10.0


class BackgroundWork:
    def __init__(
        self, name: str, work: Callable[[threading.Event], None], *, stop_seconds: float = STOP_SECONDS
    ) -> None:
        self.name = name
        self._work = work
        self._stop = threading.Event()
        self._stop_seconds = stop_seconds
        # A daemon: a loop stuck in a call must not keep a stopping process alive.
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Starts the loop (once)."""
        if not self._thread.is_alive() and not self._stop.is_set():
            self._thread.start()

    def stop(self) -> None:
        """Asks the loop to return and waits for it (at most `stop_seconds`); a loop never started
        is not started afterwards."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self._stop_seconds)
            if self._thread.is_alive():
                log.error("background work %s did not stop within %.0f s", self.name, self._stop_seconds)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._work(self._stop)
        except Exception:
            log.exception("background work %s ended with an error", self.name)
