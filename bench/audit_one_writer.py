"""A lone writer against one audit process and against two: where a second replica's CPU per
event goes (docs/audit-replicas.md). Not part of `make bench`; run it alone, as root or not:

    .venv/bin/python -m bench.audit_one_writer [--cells 5] [--pause-ms 7]

It starts what section 4 starts for PostgreSQL (a durable throwaway cluster, two
`samhandling serve audit` processes) and repeats section 4's
1-writer cell (`ROUNDS` rounds of at least `CALLS_PER_ROUND` sequential calls of 2 events, the
ways taking turns, the order rotating) `--cells` times, with four ways:

- **one**: every call to process 0 (section 4's "gRPC to 1 audit process");
- **one again**: the same, through a channel of its own: an A/A pair, whose ratio is the cell's
  own spread;
- **two**: the calls alternating between both processes through a gRPC round_robin channel (the
  gateway's way until services.platform.replica_set, which keeps a lone writer on one replica);
- **one, paused**: every call to process 0, with a pause of `--pause-ms` after each answer, about
  as long as each process idles between its calls in the alternating way, and nothing else
  different.

CPU is that of both audit processes together in every way (section 4 counts only process 0 for
"1 audit process", so its idle twin's background is left out there), per stored event."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from services.backend_lookup import backend
from services.platform.db import make_engine, make_sessions
from services.platform.settings import Settings
from tests.fixtures import postgres as pg
from tests.support import settings_for

from . import audit_appends as appends
from .report import table, times

ONE, ONE_AGAIN, TWO, PAUSED = "one", "one again", "two", "one, paused"
WAYS = (ONE, ONE_AGAIN, TWO, PAUSED)


@dataclass(frozen=True)
class WayRun:
    events: int
    seconds: float
    cpu_seconds: float  # both audit processes
    median_call_ms: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_us_per_event(self) -> float:
        return self.cpu_seconds * 1e6 / self.events


def ratios(cells: Sequence[dict[str, WayRun]]) -> dict[str, tuple[list[float], list[float]]]:
    """Per way but `one`: its events/s and its CPU per event over `one`'s, cell by cell."""
    return {
        way: (
            [c[way].events_per_second / c[ONE].events_per_second for c in cells],
            [c[way].cpu_us_per_event / c[ONE].cpu_us_per_event for c in cells],
        )
        for way in WAYS
        if way != ONE
    }


def spread(values: Sequence[float]) -> str:
    return f"{times(min(values))}–{times(max(values))} (median {times(statistics.median(values))})"


async def _cells(settings: Settings, cells: int, pause: float) -> list[dict[str, WayRun]]:
    backend("audit").migrate(settings)
    engine = make_engine(settings.database_url("audit"))
    try:
        async with contextlib.AsyncExitStack() as stack:
            services = [await stack.enter_async_context(appends.audit_process(settings)) for _ in range(2)]
            sessions = make_sessions(engine)
            targets = {
                ONE: appends.GrpcAppends(services[:1], sessions, settings),
                ONE_AGAIN: appends.GrpcAppends(services[:1], sessions, settings),
                TWO: appends.GrpcAppends(services, sessions, settings, round_robin=True),
            }
            targets[PAUSED] = targets[ONE]
            for target in {id(t): t for t in targets.values()}.values():
                stack.push_async_callback(target.close)
                await target.connect(1)
                await appends.measure(target, 1, appends.WARMUP_CALLS)
            pids = [service.pid for service in services]
            calls = appends.calls_per_writer(1, appends.CALLS_PER_WRITER)
            results = []
            for _ in range(cells):
                taken: dict[str, list[tuple[int, float, float, list[int]]]] = {way: [] for way in WAYS}
                for round_ in range(appends.ROUNDS):
                    shift = round_ % len(WAYS)
                    for way in WAYS[shift:] + WAYS[:shift]:
                        before = _cpu(pids)
                        events, seconds, per_call = await _run(targets[way], calls, pause if way == PAUSED else 0.0)
                        taken[way].append((events, seconds, _cpu(pids) - before, per_call))
                results.append(
                    {
                        way: WayRun(
                            sum(t[0] for t in runs),
                            sum(t[1] for t in runs),
                            sum(t[2] for t in runs),
                            statistics.median(ns for t in runs for ns in t[3]) / 1e6,
                        )
                        for way, runs in taken.items()
                    }
                )
            return results
    finally:
        engine.dispose()


async def _run(target: appends.GrpcAppends, calls: int, pause: float) -> tuple[int, float, list[int]]:
    """One writer's `calls` sequential calls, `pause` seconds idle after each answer; events
    stored (checked against the log), the time calls were in flight (pauses excluded) and each
    call's ns."""
    append = target.prepare(1, calls)
    before = target.counters()
    per_call: list[int] = []
    for c in range(calls):
        start = time.perf_counter_ns()
        await append(0, c)
        per_call.append(time.perf_counter_ns() - start)
        if pause:
            await asyncio.sleep(pause)
    events = (target.counters() - before).events
    if events != calls * appends.EVENTS_PER_CALL:
        raise RuntimeError(f"{calls} calls stored {events} events")
    return events, sum(per_call) / 1e9, per_call


def _cpu(pids: Sequence[int]) -> float:
    cpu = [appends.process_cpu_seconds(pid) for pid in pids]
    if None in cpu:
        raise RuntimeError("this needs /proc (Linux)")
    return sum(c for c in cpu if c is not None)


def render(cells: Sequence[dict[str, WayRun]], pause_ms: float) -> list[str]:
    rows = [
        [str(i), way, f"{r.events_per_second:,.0f}", f"{r.median_call_ms:.2f}", f"{r.cpu_us_per_event:,.0f}"]
        for i, cell in enumerate(cells)
        for way, r in cell.items()
    ]
    summary = [[way, spread(rate), spread(cpu)] for way, (rate, cpu) in ratios(cells).items()]
    return [
        f"1 writer, {len(cells)} cells; `{PAUSED}` pauses {pause_ms:g} ms after each answer. events/s: events over "
        "the time calls were in flight. CPU: both audit processes.",
        "",
        *table(["cell", "way", "events/s", "ms per call, median", "CPU µs per event"], rows),
        "",
        *table(["way against `one`", "events/s, min–max (median)", "CPU µs per event, min–max (median)"], summary),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=5)
    parser.add_argument("--pause-ms", type=float, default=7.0)
    args = parser.parse_args()
    bin_dir = pg.find_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL's server binaries are not installed")
    with tempfile.TemporaryDirectory(prefix="samhandling-bench-") as tmp, appends.durable_postgres(bin_dir) as url:
        settings = settings_for(Path(tmp), audit=url)
        cells = asyncio.run(_cells(settings, args.cells, args.pause_ms / 1000))
    print("\n".join(render(cells, args.pause_ms)))


if __name__ == "__main__":
    main()
