"""The audit log's metrics (docs/observability.md): appends, and how far the signed checkpoint
lags behind what was acknowledged.

- `samhandling.audit.append.duration` (s, histogram; `outcome`: ok, busy (AUDIT_BUSY), error): one
  AppendEvents call from its arrival at the group commit to its answer; its count is the
  number of calls.
- `samhandling.audit.events.appended` (counter): events acknowledged (committed) by AppendEvents.
- `samhandling.audit.checkpoint.lag.events` and `.lag.seconds` (observable gauges): events
  committed but not yet covered by the latest signed checkpoint, and how long the oldest of
  them has waited (0 when none). Read from the audit database when the exporter collects
  (one query per export interval per replica, memoised for a second, never on a request path);
  every replica reports the same log-wide values.

Bounded: no attributes but `outcome`, from a fixed set.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Iterable
from typing import Protocol

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

OUTCOMES = ("ok", "busy", "error")
MEMO_SECONDS = 1.0

_meter = metrics.get_meter("samhandling.audit")
_append_duration = _meter.create_histogram(
    "samhandling.audit.append.duration",
    unit="s",
    description="AppendEvents calls, by outcome",
)
_appended = _meter.create_counter(
    "samhandling.audit.events.appended",
    unit="{event}",
    description="audit events acknowledged",
)


class LagSource(Protocol):
    def checkpoint_lag(self) -> tuple[int, float]:
        """(events not yet in a signed checkpoint, seconds the oldest of them has waited)."""
        ...


def appended(outcome: str, started: float, events: int) -> None:
    """Records one AppendEvents call that began at `started` (time.perf_counter())."""
    _append_duration.record(time.perf_counter() - started, {"outcome": outcome if outcome in OUTCOMES else "error"})
    if outcome == "ok":
        _appended.add(events)


class _Lag:
    """The lag of every watched store, read at most once per MEMO_SECONDS (both gauges are
    collected together)."""

    def __init__(self) -> None:
        self._sources: weakref.WeakSet[LagSource] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._read_at = -MEMO_SECONDS
        self._values: list[tuple[int, float]] = []

    def watch(self, source: LagSource) -> None:
        self._sources.add(source)

    def forget(self, source: LagSource) -> None:
        self._sources.discard(source)

    def _read(self) -> list[tuple[int, float]]:
        with self._lock:  # the exporter's thread; tests may collect from another
            if time.monotonic() - self._read_at >= MEMO_SECONDS:
                values = []
                for source in list(self._sources):
                    try:
                        values.append(source.checkpoint_lag())
                    except SQLAlchemyError as exc:  # the class only: the text may hold SQL parameters
                        log.warning("audit checkpoint lag unreadable", extra={"error": type(exc).__name__})
                self._values, self._read_at = values, time.monotonic()
            return self._values

    def events(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(max(events for events, _ in values))] if (values := self._read()) else []

    def seconds(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(max(seconds for _, seconds in values))] if (values := self._read()) else []


lag = _Lag()
_meter.create_observable_gauge(
    "samhandling.audit.checkpoint.lag.events",
    callbacks=[lag.events],
    unit="{event}",
    description="events acknowledged but not yet in a signed checkpoint",
)
_meter.create_observable_gauge(
    "samhandling.audit.checkpoint.lag.seconds",
    callbacks=[lag.seconds],
    unit="s",
    description="how long the oldest event not yet in a signed checkpoint has waited",
)
