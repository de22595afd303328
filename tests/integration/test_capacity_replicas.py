"""Two capacity replicas on one PostgreSQL database, over real gRPC: a report or an alert
committed on one reaches a watcher on the other within a second (woken by NOTIFY: the poll is
set to 30 s), also after the listening connection was killed; and a watcher that disconnects
and resumes by position on the other replica sees every change exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import create_engine, text

from samhandling.capacity.v1 import capacity_pb2_grpc
from services.backend_lookup import backend
from services.platform import watch
from tests.fixtures.capacity_alerts import (
    ACKNOWLEDGED,
    BODO,
    BODO_NURSE,
    HOSPITAL_ACTOR,
    RAISED,
    Alerts,
    Clock,
)
from tests.fixtures.capacity_alerts import events as alert_events
from tests.fixtures.capacity_alerts import snapshot as alert_snapshot
from tests.fixtures.capacity_watch import Capacity, changes, snapshot
from tests.fixtures.pgbouncer_pool import POOLED
from tests.support import DEMO_EHR_ACTOR, backend_replicas, settings_for

pytestmark = pytest.mark.postgres

WITHIN_SECONDS = 1.0  # the goal: from the writer's reply to the watcher's receipt
DEADLINE_SECONDS = 10.0  # bounded waits for conditions


@dataclass
class Replica:
    capacity: Capacity
    alerts: Alerts


@pytest.fixture
def settings(tmp_path, postgres_url):
    return settings_for(tmp_path, capacity=postgres_url)


@pytest.fixture(autouse=True)
def rare_polls(monkeypatch):
    """Polls far too rare to meet the deadline: only a notification can."""
    monkeypatch.setattr(watch, "POLL_SECONDS", 30.0)


@contextlib.asynccontextmanager
async def capacity_replicas(settings, count: int = 2) -> AsyncIterator[list[Replica]]:
    """`count` capacity servers as main.py builds them, on the one database of `settings`."""
    async with backend_replicas(backend("capacity"), settings, count) as served:
        yield [
            Replica(
                Capacity(r.channel, settings),
                Alerts(capacity_pb2_grpc.CapacityServiceStub(r.channel), settings, Clock()),
            )
            for r in served
        ]


async def timed(report) -> float:
    """Awaits the write; returns the moment it returned."""
    await report
    return time.monotonic()


async def test_a_report_on_one_replica_reaches_a_watcher_on_the_other_within_a_second(settings):
    async with capacity_replicas(settings) as (a, b):
        on_b = b.capacity.watch()
        start = (await snapshot(on_b)).position
        for i in range(3):
            reported = await timed(a.capacity.report("bodo-kad", 10 + i))
            assert await changes(on_b, 1) == [(start + 1 + i, "bodo-kad", "bed", 10 + i)]
            assert time.monotonic() - reported < WITHIN_SECONDS
        on_b.cancel()


async def test_behind_a_transaction_pooler_replicas_listen_on_a_direct_url(tmp_path, pgbouncer, postgres_url):
    pooled = pgbouncer.url(postgres_url.rsplit("/", 1)[1])
    settings = replace(
        settings_for(tmp_path, capacity=pooled), database=POOLED, session_database_urls={"capacity": postgres_url}
    )
    async with capacity_replicas(settings) as (a, b):
        on_b = b.capacity.watch()
        start = (await snapshot(on_b)).position
        for i in range(2):
            reported = await timed(a.capacity.report("bodo-kad", 20 + i))
            assert await changes(on_b, 1) == [(start + 1 + i, "bodo-kad", "bed", 20 + i)]
            assert time.monotonic() - reported < WITHIN_SECONDS
        on_b.cancel()


async def test_a_watcher_resuming_on_the_other_replica_sees_every_report_exactly_once(settings):
    count, before = 30, 12
    async with capacity_replicas(settings) as replicas:
        first = replicas[0].capacity.watch()
        start = (await snapshot(first)).position

        async def report_on_both() -> None:  # one after the other, alternating replicas
            for i in range(count):
                await replicas[i % 2].capacity.report("bodo-kad", i)

        writer = asyncio.create_task(report_on_both())
        seen = await changes(first, before)
        first.cancel()  # disconnected mid-stream, while reports go on
        resumed = replicas[1].capacity.watch(resume_after=seen[-1][0])
        seen += await changes(resumed, count - before)
        await writer
        assert seen == [(start + 1 + i, "bodo-kad", "bed", i) for i in range(count)]
        # Nothing repeated is still on its way: the next message is the next report.
        await replicas[0].capacity.report("bodo-legevakt", 99)
        assert await changes(resumed, 1) == [(start + count + 1, "bodo-legevakt", "bed", 99)]
        resumed.cancel()


async def test_an_alert_on_one_replica_reaches_a_watcher_on_the_other_within_a_second(settings):
    async with capacity_replicas(settings) as (a, b):
        bodo_on_b, sender_on_a = b.alerts.watch(DEMO_EHR_ACTOR), a.alerts.watch(HOSPITAL_ACTOR)
        await alert_snapshot(bodo_on_b)
        await alert_snapshot(sender_on_a)
        raised_at = await timed(a.alerts.raise_alert("r-1", target_orgnrs=[BODO]))
        [raised] = await alert_events(bodo_on_b, 1)
        assert time.monotonic() - raised_at < WITHIN_SECONDS
        assert raised.alert_event.kind == RAISED
        alert_id = raised.alert_event.alert.alert_id
        await alert_events(sender_on_a, 1)  # the sender's own, from its replica
        acknowledged_at = await timed(b.alerts.acknowledge(alert_id, BODO_NURSE))
        [acknowledged] = await alert_events(sender_on_a, 1)
        assert time.monotonic() - acknowledged_at < WITHIN_SECONDS
        assert (acknowledged.alert_event.kind, acknowledged.alert_event.alert.alert_id) == (ACKNOWLEDGED, alert_id)
        bodo_on_b.cancel()
        sender_on_a.cancel()


async def test_an_alert_watcher_resuming_on_the_other_replica_sees_every_event_exactly_once(settings):
    count, before = 12, 5
    async with capacity_replicas(settings) as replicas:
        first = replicas[0].alerts.watch(DEMO_EHR_ACTOR)
        await alert_snapshot(first)

        async def raise_on_both() -> list[str]:
            return [
                (await replicas[i % 2].alerts.raise_alert(f"r-{i}", target_orgnrs=[BODO])).alert_id
                for i in range(count)
            ]

        writer = asyncio.create_task(raise_on_both())
        received = await alert_events(first, before)
        first.cancel()
        resumed = replicas[1].alerts.watch(DEMO_EHR_ACTOR, resume_after=received[-1].position)
        received += await alert_events(resumed, count - before)
        alert_ids = await writer
        assert [(m.alert_event.kind, m.alert_event.alert.alert_id) for m in received] == [
            (RAISED, alert_id) for alert_id in alert_ids
        ]
        positions = [m.position for m in received]
        assert positions == sorted(set(positions))  # in order, none twice
        last = await replicas[0].alerts.raise_alert("r-last", target_orgnrs=[BODO])
        [following] = await alert_events(resumed, 1)
        assert following.alert_event.alert.alert_id == last.alert_id
        resumed.cancel()


async def test_a_replica_listens_again_after_its_connection_was_killed(settings, postgres_url):
    async with capacity_replicas(settings) as (a, b):
        on_b = b.capacity.watch()  # the only watcher: B's listener is the only one
        start = (await snapshot(on_b)).position
        admin = create_engine(postgres_url)
        try:
            killed = await asyncio.to_thread(wait_for_listener, admin, None)
            with admin.begin() as connection:
                assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
            await asyncio.to_thread(wait_for_listener, admin, killed)
        finally:
            admin.dispose()
        reported = await timed(a.capacity.report("bodo-kad", 42))
        assert await changes(on_b, 1) == [(start + 1, "bodo-kad", "bed", 42)]
        assert time.monotonic() - reported < WITHIN_SECONDS
        on_b.cancel()


def wait_for_listener(engine, other_than: int | None) -> int:
    """The pid of the one capacity listener connection that is not `other_than`, once there is
    one LISTENing (bounded)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        with engine.connect() as connection:
            pids = connection.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'samhandling-capacity-listener'"
                    " AND query LIKE 'LISTEN%' AND pid IS DISTINCT FROM :other"
                ),
                {"other": other_than},
            ).all()
        if pids:
            [pid] = pids
            return pid
        assert time.monotonic() < deadline, "no capacity listener"
        time.sleep(0.05)  # polling a condition with a deadline
