"""Readiness: whether this replica can answer calls now, as the `readiness` health service
reports it (services.platform.health; docs/observability.md).

A replica is ready when every one of its checks passes: its database answers a cheap query,
and for the gateway also its consent decision-cache lease is held (when the cache is on) and
a connection to a serving audit replica can be had. The checks run in the background every
`interval` seconds, each bounded by `timeout` (half the interval), never per probe: a probe
reads the last result, so a Kubernetes probe or a balancer polling often costs the database
nothing. A check that raises, or does not answer in time, fails; a database check still
running from an earlier round fails at once rather than start a second query.

Liveness is not tied to any of this: a database outage makes every replica unready (no
traffic) but none is restarted for it, which could not help.

Bounded: a fixed list of checks per server; at most one query in flight per database check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

READINESS_INTERVAL_SECONDS = 2.0  # the default of SAMHANDLING_READINESS_INTERVAL_SECONDS
# Every component's database has this table (services/platform/migrations): reading it touches
# the database itself (SQLite's `SELECT 1` would not even open the file) and costs one index page.
_QUERY = text("SELECT version_num FROM platform_alembic_version LIMIT 1")


@dataclass(frozen=True)
class ReadinessCheck:
    """One condition of readiness: `name` (fixed, for the log: database, consent_lease, audit)
    and `passes`, which answers whether it holds now (raising counts as no)."""

    name: str
    passes: Callable[[float], Awaitable[bool]]  # given the timeout in seconds


class ReadinessMonitor:
    """Runs the checks every `interval` seconds and reports each change of the outcome to
    `report` (True: ready)."""

    def __init__(
        self,
        checks: Sequence[ReadinessCheck],
        report: Callable[[bool], Awaitable[None]],
        *,
        interval: float = READINESS_INTERVAL_SECONDS,
        component: str = "",
    ) -> None:
        self._checks = tuple(checks)
        self._report = report
        self._interval = interval
        self._timeout = interval / 2
        self._component = component
        self._task: asyncio.Task[None] | None = None
        self.ready: bool | None = None  # the last outcome; None before the first round

    async def round(self) -> bool:
        """Runs every check once (together), reports the outcome if it changed, and returns it."""
        outcomes = await asyncio.gather(*(self._passes(check) for check in self._checks))
        failing = [check.name for check, ok in zip(self._checks, outcomes, strict=True) if not ok]
        ready = not failing
        if ready != self.ready:
            if ready:
                log.info("ready", extra={"component": self._component})
            else:
                log.warning("not ready", extra={"component": self._component, "failing": ",".join(failing)})
            self.ready = ready
            await self._report(ready)
        return ready

    async def _passes(self, check: ReadinessCheck) -> bool:
        try:
            return await asyncio.wait_for(check.passes(self._timeout), self._timeout)
        except Exception:  # a timeout or any failure of the check: not ready (the class is not news)
            return False

    def start(self) -> None:
        """Keeps running rounds every `interval` seconds until `stop`."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="readiness")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)  # the checking period
            await self.round()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


def database_check(engine: Engine) -> ReadinessCheck:
    """The database answers a cheap query on `engine`, which should be the check's own (one
    connection; so a busy pool of the request path does not make the replica look down, nor
    the check wait behind it). The query runs on a thread of the check's own, not asyncio's
    default executor, whose threads the request path's database calls occupy under load; while
    one is still running (a hung connection attempt), the check fails without starting another."""
    running: list[asyncio.Future[None]] = []
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readiness")

    def query() -> None:
        with engine.connect() as connection:
            connection.execute(_QUERY).first()

    async def passes(timeout: float) -> bool:
        if running and not running[0].done():
            return False
        running[:] = [asyncio.get_running_loop().run_in_executor(thread, query)]
        # A query that fails after its round gave up on it: its error is not news (and is not
        # to reach the log as "never retrieved").
        running[0].add_done_callback(lambda done: done.cancelled() or done.exception())
        await asyncio.wait_for(asyncio.shield(running[0]), timeout)  # a timeout leaves it running
        return True

    return ReadinessCheck("database", passes)


async def channel_ready(channel: grpc.aio.Channel, timeout: float) -> bool:
    """Whether the channel is READY or becomes so within `timeout` (it is asked to connect).
    On the health-checked channels of services.platform.channels, READY means a connection to
    at least one replica that reports SERVING for "" (not draining)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    state = channel.get_state(try_to_connect=True)
    while state != grpc.ChannelConnectivity.READY:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        try:
            await asyncio.wait_for(channel.wait_for_state_change(state), remaining)
        except TimeoutError:
            return False
        state = channel.get_state(try_to_connect=True)
    return True
