"""The escalation sweeper (infrastructure): fires due timers through the store, in bounded
batches, on every replica at once (docs/escalation.md, "Store and sweeper").

`sweep_once(now)` fires at most `batch` timers due at `now`, each in its own transaction (one
failing episode rolls back only itself; it is logged by its timer kind, never with patient
data, and passed over for the rest of that sweep). Replicas sweep together: on PostgreSQL each
claims a free episode with `SKIP LOCKED`, and a timer fired twice changes nothing the second
time (the core's idempotency), so every timer fires exactly once. `run` repeats sweeps until its
stop event is set, waiting `interval` between sweeps that found less than a full batch; the
clock is injected so tests call `sweep_once` with a chosen time and never sleep."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from .escalation_store import EscalationStore, FiredTimer, TimerFailed

__all__ = ["MAX_SWEEP_BATCH", "SWEEP_BATCH", "SWEEP_INTERVAL", "EscalationSweeper"]

log = logging.getLogger(__name__)

# Timers one sweep fires at most, and the most a caller may ask for.
SWEEP_BATCH = 100
MAX_SWEEP_BATCH = 1000
# The wait between sweeps while nothing more is due: the latest a timer fires after its due time.
SWEEP_INTERVAL = timedelta(seconds=5)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EscalationSweeper:
    def __init__(
        self,
        store: EscalationStore,
        *,
        clock: Callable[[], datetime] = _utc_now,
        batch: int = SWEEP_BATCH,
        interval: timedelta = SWEEP_INTERVAL,
    ) -> None:
        if not 1 <= batch <= MAX_SWEEP_BATCH:
            raise ValueError(f"a sweep's batch is 1 to {MAX_SWEEP_BATCH} timers")
        if interval <= timedelta(0):
            raise ValueError("the interval between sweeps must be positive")
        self._store = store
        self._clock = clock
        self._batch = batch
        self._interval = interval

    def sweep_once(self, now: datetime) -> list[FiredTimer]:
        """Fires up to `batch` timers due at `now`; returns what each did, in due order."""
        fired: list[FiredTimer] = []
        passed_over: set[tuple[str, str]] = set()
        while len(fired) < self._batch and len(passed_over) < self._batch:
            try:
                step = self._store.fire_next_due(now, passed_over)
            except TimerFailed as failed:  # one episode's failure must not stop the others
                log.error(
                    "escalation sweep: a timer of kind %s failed to fire (%s); passed over in this sweep",
                    failed.key[1],
                    type(failed.__cause__).__name__,
                )
                passed_over.add(failed.key)
                continue
            if step is None:
                break
            fired.append(step)
        return fired

    def run(self, stop: threading.Event) -> None:
        """Sweeps until `stop` is set (the server's thread); a full batch is followed at once by the next."""
        while not stop.is_set():
            try:
                full = len(self.sweep_once(self._clock())) >= self._batch
            except Exception:
                log.exception("escalation sweep failed")
                full = False
            if not full:
                stop.wait(self._interval.total_seconds())
