"""WatchCapacity over real gRPC with a real database (SQLite and PostgreSQL): a snapshot, then
every change in order, the same for every watcher, and resumable without loss or repeats."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from samhandling.common.v1 import common_pb2
from services.platform.errors import error_info
from tests.fixtures.capacity_watch import OVERVIEW, TIMEOUT, Capacity, changes, next_message, snapshot
from tests.support import asserted, running_backend, settings_for

# Units of Bodø kommune (the demo-ehr actor) and of Bærum kommune, from seeds/units.json.
BODO_UNITS = ("bodo-kad", "bodo-legevakt")
BAERUM_ACTOR = common_pb2.Actor(
    kind=common_pb2.ACTOR_KIND_SYSTEM, client_id="demo-ehr-baerum", orgnr_parent="910000047", orgnr_child="910000063"
)


@pytest.fixture
def settings(tmp_path, db_url):
    return settings_for(tmp_path, capacity=db_url)


async def test_watch_starts_with_the_overview_then_sends_each_change_in_order(settings):
    async with running_backend("capacity", settings) as channel:
        capacity = Capacity(channel, settings)
        overview = await capacity.overview()
        first, second = capacity.watch(), capacity.watch()
        for call in (first, second):
            start = await snapshot(call)
            assert start.position == overview.position > 0
            assert list(start.snapshot.units) == list(overview.units)
            assert list(start.snapshot.totals) == list(overview.totals)
        await capacity.report("bodo-kad", 3)
        await capacity.report("bodo-legevakt", 4, "isolation_bed")
        await capacity.report("bodo-kad", 5)
        expected = [
            (overview.position + 1, "bodo-kad", "bed", 3),
            (overview.position + 2, "bodo-legevakt", "isolation_bed", 4),
            (overview.position + 3, "bodo-kad", "bed", 5),
        ]
        assert await changes(first, 3) == expected
        assert await changes(second, 3) == expected
        assert (await capacity.overview()).position == overview.position + 3
        first.cancel()
        second.cancel()


async def test_concurrent_reports_reach_every_watcher_once_in_position_order(settings):
    async with running_backend("capacity", settings) as channel:
        capacity = Capacity(channel, settings)
        watchers = [capacity.watch() for _ in range(3)]
        start = [(await snapshot(w)).position for w in watchers]
        assert len(set(start)) == 1
        reports = [(BODO_UNITS[i % 2], f"kind_{i % 5}", i) for i in range(24)]
        await asyncio.gather(*(capacity.report(unit, available, kind) for unit, kind, available in reports))
        seen = [await changes(w, len(reports)) for w in watchers]
        assert seen[0] == seen[1] == seen[2]
        # Nothing else reports, so an unfiltered watcher sees every position, each once, in order.
        assert [position for position, *_ in seen[0]] == list(range(start[0] + 1, start[0] + len(reports) + 1))
        assert sorted((u, k, a) for _, u, k, a in seen[0]) == sorted(reports)
        final = await capacity.overview()
        assert final.position == start[0] + len(reports)
        for w in watchers:
            w.cancel()


async def test_a_watcher_cut_off_mid_stream_resumes_without_loss_or_repeats(settings):
    async with running_backend("capacity", settings) as channel:
        capacity = Capacity(channel, settings)
        reference, watcher = capacity.watch(), capacity.watch()
        await snapshot(reference)
        await snapshot(watcher)
        for i in range(10):
            await capacity.report(BODO_UNITS[i % 2], i)
        received = await changes(watcher, 5)
        watcher.cancel()  # forced disconnect with changes still in flight
        assert await watcher.code() == grpc.StatusCode.CANCELLED
        for i in range(10, 20):  # while it is away
            await capacity.report(BODO_UNITS[i % 2], i)
        resumed = capacity.watch(resume_after=received[-1][0])

        async def more_reports() -> None:  # while it reconnects and catches up
            for i in range(20, 30):
                await capacity.report(BODO_UNITS[i % 2], i)

        reporter = asyncio.create_task(more_reports())
        everything = await changes(reference, 30)
        await reporter
        after = await changes(resumed, 30 - len(received))
        assert received + after == everything
        assert len({position for position, *_ in received + after}) == 30
        reference.cancel()
        resumed.cancel()


async def test_resuming_at_the_head_waits_for_the_next_change(settings):
    async with running_backend("capacity", settings) as channel:
        capacity = Capacity(channel, settings)
        head = (await capacity.overview()).position
        resumed = capacity.watch(resume_after=head)
        await capacity.report("bodo-kad", 7)
        assert await changes(resumed, 1) == [(head + 1, "bodo-kad", "bed", 7)]
        resumed.cancel()


async def test_filters_apply_to_changes_and_positions_stay_global(settings):
    async with running_backend("capacity", settings) as channel:
        capacity = Capacity(channel, settings)
        everything, baerum, kad = (
            capacity.watch(),
            capacity.watch(municipality_number="3201"),
            capacity.watch(unit_type=capacity_pb2.UNIT_TYPE_KAD, region="Nordland"),
        )
        await snapshot(everything)
        baerum_units = (await snapshot(baerum)).snapshot.units
        assert baerum_units and {u.municipality_number for u in baerum_units} == {"3201"}
        assert [u.unit_id for u in (await snapshot(kad)).snapshot.units] == ["bodo-kad"]
        await capacity.report("bodo-legevakt", 1)
        await capacity.report("baerum-legevakt", 2, actor=BAERUM_ACTOR)
        await capacity.report("bodo-kad", 3)
        legevakt, in_baerum, bodo_kad = await changes(everything, 3)
        assert await changes(baerum, 1) == [in_baerum]
        assert await changes(kad, 1) == [bodo_kad]
        assert legevakt[0] < in_baerum[0] < bodo_kad[0]
        for call in (everything, baerum, kad):
            call.cancel()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"resume_after": 10_000}, "resume_after"),
        ({"resume_after": -1}, "resume_after"),
        ({"municipality_number": "18"}, "municipality_number"),
        ({"unit_type": 99}, "unit_type"),
    ],
)
async def test_a_bad_watch_request_is_refused_with_a_field_violation(settings, fields, field):
    async with running_backend("capacity", settings) as channel:
        call = Capacity(channel, settings).watch(**fields)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await next_message(call)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in error_info(err.value)[1]


async def test_a_watch_needs_a_gateway_assertion_for_this_method(tmp_path):
    settings = settings_for(tmp_path)
    async with running_backend("capacity", settings) as channel:
        stub = capacity_pb2_grpc.CapacityServiceStub(channel)
        for reason, metadata in {
            "ASSERTION_MISSING": (),
            "ASSERTION_RETARGETED": asserted(settings, "capacity", OVERVIEW),
        }.items():
            call = stub.WatchCapacity(capacity_pb2.WatchCapacityRequest(), metadata=metadata)
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await next_message(call)
            assert (err.value.code(), error_info(err.value)[0]) == (grpc.StatusCode.UNAUTHENTICATED, reason)


async def test_a_cancelled_watch_leaves_no_task_behind(tmp_path):
    settings = settings_for(tmp_path)
    async with running_backend("capacity", settings) as channel:
        capacity = Capacity(channel, settings)
        await capacity.overview()  # the channel is connected before counting
        before = asyncio.all_tasks()
        call = capacity.watch()
        await snapshot(call)
        # The call's tasks on both ends (the server's handler runs in this loop), but not the
        # server's standing wait for its next call.
        started = {
            t for t in asyncio.all_tasks() - before if t.get_coro().__qualname__ != "AioServer._request_registered_call"
        }
        assert started
        call.cancel()
        done, pending = await asyncio.wait(started, timeout=TIMEOUT)
        assert not pending
