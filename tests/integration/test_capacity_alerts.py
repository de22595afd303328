"""Alerts over real gRPC with a real database (SQLite and PostgreSQL): raising to organisations
or an area, acknowledgements per organisation seen by the sender, and the resumable watch."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, timedelta

import grpc
import pytest

from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from samhandling.common.v1 import common_pb2
from services.capacity.api import CapacityApi
from services.capacity.main import BACKEND
from services.platform.errors import error_info
from services.platform.protomap import to_timestamp
from tests.fixtures.capacity_alerts import (
    ACKNOWLEDGED,
    BAERUM,
    BODO,
    BODO_NURSE,
    HOSPITAL,
    HOSPITAL_ACTOR,
    RAISED,
    VESTRE_VIKEN,
    Alerts,
    Clock,
    events,
    next_message,
    snapshot,
)
from tests.support import DEMO_EHR_ACTOR, running_backend, settings_for

BAERUM_ACTOR = common_pb2.Actor(
    kind=common_pb2.ACTOR_KIND_SYSTEM, client_id="demo-ehr-baerum", orgnr_parent=BAERUM, orgnr_child="910000063"
)
VESTRE_VIKEN_ACTOR = common_pb2.Actor(
    kind=common_pb2.ACTOR_KIND_SYSTEM, client_id="vv-ehr", orgnr_parent=VESTRE_VIKEN, orgnr_child="910000128"
)
ACTORS = {BODO: DEMO_EHR_ACTOR, BAERUM: BAERUM_ACTOR, HOSPITAL: HOSPITAL_ACTOR, VESTRE_VIKEN: VESTRE_VIKEN_ACTOR}


@pytest.fixture
def settings(tmp_path, db_url):
    return settings_for(tmp_path, capacity=db_url)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@contextlib.asynccontextmanager
async def serving(settings, clock: Clock) -> AsyncIterator[Alerts]:
    """The capacity backend as `running_backend` serves it, with the api on a clock the test sets."""
    spec = dataclasses.replace(
        BACKEND, make_api=lambda stores, _: CapacityApi(stores.capacity, stores.alerts, clock=clock)
    )
    async with running_backend("capacity", settings, spec=spec) as channel:
        yield Alerts(capacity_pb2_grpc.CapacityServiceStub(channel), settings, clock)


def summary(message: capacity_pb2.WatchAlertsResponse) -> tuple[int, int, str]:
    return message.position, message.alert_event.kind, message.alert_event.alert.alert_id


async def test_an_alert_reaches_every_targeted_organisations_watcher(settings, clock):
    async with serving(settings, clock) as alerts:
        watchers = {orgnr: alerts.watch(actor) for orgnr, actor in ACTORS.items()}
        for call in watchers.values():
            assert not (await snapshot(call)).snapshot.alerts
        to_two = await alerts.raise_alert("r-1", target_orgnrs=[BAERUM, BODO])
        to_area = await alerts.raise_alert("r-2", area=capacity_pb2.AlertArea(region="Akershus"))
        assert list(to_two.target_orgnrs) == [BODO, BAERUM] == list(to_two.pending_orgnrs)
        assert list(to_area.target_orgnrs) == [BAERUM, VESTRE_VIKEN]
        assert (to_two.sender_orgnr, to_two.sender_client_id) == (HOSPITAL, "demo-hospital")
        first, second = await events(watchers[HOSPITAL], 2)
        assert [summary(first)[1:], summary(second)[1:]] == [(RAISED, to_two.alert_id), (RAISED, to_area.alert_id)]
        assert first.alert_event.alert == to_two
        assert [summary(m) for m in await events(watchers[BODO], 1)] == [summary(first)]
        assert [summary(m) for m in await events(watchers[BAERUM], 2)] == [summary(first), summary(second)]
        # Vestre Viken's first event is the second alert: it was never sent the first.
        assert [summary(m) for m in await events(watchers[VESTRE_VIKEN], 1)] == [summary(second)]
        for call in watchers.values():
            call.cancel()


async def test_the_sender_sees_who_has_and_has_not_acknowledged(settings, clock):
    async with serving(settings, clock) as alerts:
        sender_watch, bodo_watch = alerts.watch(HOSPITAL_ACTOR), alerts.watch(DEMO_EHR_ACTOR)
        await snapshot(sender_watch)
        await snapshot(bodo_watch)
        alert = await alerts.raise_alert("r-1", target_orgnrs=[BODO, BAERUM])
        clock.now += timedelta(minutes=3)
        seen_by_bodo = await alerts.acknowledge(alert.alert_id, BODO_NURSE, note="Ekstra personell kalt inn")
        (ack,) = seen_by_bodo.acknowledgements
        assert (ack.orgnr, ack.client_id, ack.hpr_number, ack.name, ack.note) == (
            BODO,
            "demo-ehr",
            "565501872",
            "Kari Nordmann",
            "Ekstra personell kalt inn",
        )
        assert ack.acknowledge_time.ToDatetime(tzinfo=UTC) == clock.now
        assert not seen_by_bodo.pending_orgnrs
        clock.now += timedelta(minutes=1)
        again = await alerts.acknowledge(alert.alert_id, DEMO_EHR_ACTOR, note="igjen")
        assert again == seen_by_bodo  # acknowledging twice changes nothing
        seen_by_baerum = await alerts.acknowledge(alert.alert_id, BAERUM_ACTOR)
        # A target sees its own acknowledgement only (an acknowledgement names a person).
        assert [(a.orgnr, a.hpr_number, a.name) for a in seen_by_baerum.acknowledgements] == [(BAERUM, "", "")]
        (listed,) = await alerts.list(HOSPITAL_ACTOR)
        assert [a.orgnr for a in listed.acknowledgements] == [BODO, BAERUM]
        assert not listed.pending_orgnrs

        raised, by_bodo, by_baerum = await events(sender_watch, 3)
        assert [m.alert_event.kind for m in (raised, by_bodo, by_baerum)] == [RAISED, ACKNOWLEDGED, ACKNOWLEDGED]
        assert raised.position < by_bodo.position < by_baerum.position
        # Each event shows the alert as it stood then; the repeated acknowledgement made no event.
        assert list(by_bodo.alert_event.alert.pending_orgnrs) == [BAERUM]
        assert [a.orgnr for a in by_bodo.alert_event.alert.acknowledgements] == [BODO]
        assert by_baerum.alert_event.alert == listed

        # Bodø is sent its own acknowledgement, not Bærum's: its next event is a later raise.
        later = await alerts.raise_alert("r-2", target_orgnrs=[BODO])
        assert [summary(m)[1:] for m in await events(bodo_watch, 3)] == [
            (RAISED, alert.alert_id),
            (ACKNOWLEDGED, alert.alert_id),
            (RAISED, later.alert_id),
        ]
        sender_watch.cancel()
        bodo_watch.cancel()


async def test_only_a_targeted_organisation_acknowledges(settings, clock):
    async with serving(settings, clock) as alerts:
        alert = await alerts.raise_alert("r-1", target_orgnrs=[BODO])
        for actor in (VESTRE_VIKEN_ACTOR, HOSPITAL_ACTOR):  # not a target; the sender
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await alerts.acknowledge(alert.alert_id, actor)
            assert (err.value.code(), error_info(err.value)[0]) == (
                grpc.StatusCode.PERMISSION_DENIED,
                "ALERT_NOT_TARGETED",
            )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await alerts.acknowledge("00000000-0000-0000-0000-000000000000", DEMO_EHR_ACTOR)
        assert (err.value.code(), error_info(err.value)[0]) == (grpc.StatusCode.NOT_FOUND, "ALERT_NOT_FOUND")
        for alert_id, note, field in ((alert.alert_id, "x" * 501, "note"), ("", "", "alert_id")):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await alerts.acknowledge(alert_id, DEMO_EHR_ACTOR, note=note)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert field in error_info(err.value)[1]
        (listed,) = await alerts.list(HOSPITAL_ACTOR)
        assert not listed.acknowledgements and list(listed.pending_orgnrs) == [BODO]


async def test_an_expired_alert_cannot_be_acknowledged_and_leaves_the_open_lists(settings, clock):
    async with serving(settings, clock) as alerts:
        alert = await alerts.raise_alert(
            "r-1", target_orgnrs=[BODO], expire_time=to_timestamp(clock.now + timedelta(hours=1))
        )
        clock.now += timedelta(hours=1)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await alerts.acknowledge(alert.alert_id, DEMO_EHR_ACTOR)
        assert (err.value.code(), error_info(err.value)[0]) == (grpc.StatusCode.FAILED_PRECONDITION, "ALERT_EXPIRED")
        assert await alerts.list(DEMO_EHR_ACTOR) == []
        assert [a.alert_id for a in await alerts.list(DEMO_EHR_ACTOR, include_expired=True)] == [alert.alert_id]
        watch = alerts.watch(DEMO_EHR_ACTOR)
        assert not (await snapshot(watch)).snapshot.alerts
        watch.cancel()
        clock.now += timedelta(days=30)
        assert await alerts.list(DEMO_EHR_ACTOR, include_expired=True) == []


async def test_a_retried_raise_is_stored_once(settings, clock):
    async with serving(settings, clock) as alerts:
        watch = alerts.watch(BODO_NURSE)
        await snapshot(watch)
        first = await alerts.raise_alert("same", target_orgnrs=[BODO])
        retry = await alerts.raise_alert("same", target_orgnrs=[BODO])
        assert retry == first
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await alerts.raise_alert("same", target_orgnrs=[BODO], message="Noe annet")
        assert (err.value.code(), error_info(err.value)[0]) == (grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")
        other_sender = await alerts.raise_alert("same", actor=BAERUM_ACTOR, target_orgnrs=[BODO])
        assert other_sender.alert_id != first.alert_id
        assert [summary(m)[1:] for m in await events(watch, 2)] == [
            (RAISED, first.alert_id),
            (RAISED, other_sender.alert_id),
        ]
        watch.cancel()


UNKNOWN_ORGNR = "910000136"  # valid check digit, in no seed


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"severity": capacity_pb2.ALERT_SEVERITY_UNSPECIFIED}, "severity"),
        ({"message": ""}, "message"),
        ({"message": "   "}, "message"),
        ({"message": "x" * 1001}, "message"),
        ({"message": "bell\x07"}, "message"),
        ({"expire_time": None}, "expire_time"),
        ({"expire_time": "past"}, "expire_time"),
        ({"expire_time": "eight days"}, "expire_time"),
        ({"request_id": ""}, "request_id"),
        ({"request_id": "x" * 65}, "request_id"),
        ({"target_orgnrs": ["12345"]}, "target_orgnrs[0]"),
        ({"target_orgnrs": [BODO, "910000013"]}, "target_orgnrs[1]"),
        ({"target_orgnrs": [UNKNOWN_ORGNR]}, "target_orgnrs[0]"),
        ({"target_orgnrs": ["910000020"]}, "target_orgnrs[0]"),  # a point of care, not a legal entity
        ({"target_orgnrs": [HOSPITAL]}, "target_orgnrs[0]"),  # the sender itself
        ({"target_orgnrs": []}, "target_orgnrs"),
        ({"area": capacity_pb2.AlertArea(region="Atlantis")}, "area"),
        ({"area": capacity_pb2.AlertArea(municipality_number="18")}, "area.municipality_number"),
    ],
)
async def test_an_invalid_alert_is_refused_and_stores_nothing(settings, clock, fields, field):
    async with serving(settings, clock) as alerts:
        expiry = fields.get("expire_time")
        if expiry is not None:
            ahead = {"past": -timedelta(seconds=1), "eight days": timedelta(days=8)}[expiry]
            fields = fields | {"expire_time": to_timestamp(clock.now + ahead)}
        request = alerts.request(**({"target_orgnrs": [BODO]} | {k: v for k, v in fields.items() if v is not None}))
        if "expire_time" in fields and expiry is None:
            request.ClearField("expire_time")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await alerts.stub.RaiseAlert(request, metadata=alerts._meta("RaiseAlert", HOSPITAL_ACTOR))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in error_info(err.value)[1]
        assert await alerts.list(HOSPITAL_ACTOR, include_expired=True) == []
        assert await alerts.list(DEMO_EHR_ACTOR, include_expired=True) == []


async def test_alerts_are_for_callers_acting_for_an_organisation(settings, clock):
    async with serving(settings, clock) as alerts:
        alert = await alerts.raise_alert("r-1", target_orgnrs=[BODO])
        nobody = common_pb2.Actor(kind=common_pb2.ACTOR_KIND_SYSTEM, client_id="loose-client")
        calls = {
            "raise": lambda: alerts.raise_alert("r-2", actor=nobody, target_orgnrs=[BODO]),
            "acknowledge": lambda: alerts.acknowledge(alert.alert_id, nobody),
            "list": lambda: alerts.list(nobody),
            "watch": lambda: next_message(alerts.watch(nobody)),
        }
        for name, call in calls.items():
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await call()
            assert (err.value.code(), error_info(err.value)[0]) == (
                grpc.StatusCode.PERMISSION_DENIED,
                "ORGANISATION_REQUIRED",
            ), name


async def test_alerts_are_listed_to_their_sender_and_targets_newest_first(settings, clock):
    async with serving(settings, clock) as alerts:
        older = await alerts.raise_alert("r-1", target_orgnrs=[BODO])
        clock.now += timedelta(minutes=1)
        newer = await alerts.raise_alert("r-2", area=capacity_pb2.AlertArea(municipality_number="1804"))
        assert list(newer.target_orgnrs) == [BODO]  # the sender is in 1804 too, and left out
        by_baerum = await alerts.raise_alert("r-3", actor=BAERUM_ACTOR, target_orgnrs=[VESTRE_VIKEN])
        assert [a.alert_id for a in await alerts.list(HOSPITAL_ACTOR)] == [newer.alert_id, older.alert_id]
        assert [a.alert_id for a in await alerts.list(BODO_NURSE)] == [newer.alert_id, older.alert_id]
        assert [a.alert_id for a in await alerts.list(VESTRE_VIKEN_ACTOR)] == [by_baerum.alert_id]
        assert [a.alert_id for a in await alerts.list(BAERUM_ACTOR)] == [by_baerum.alert_id]
        watch = alerts.watch(DEMO_EHR_ACTOR)
        assert [a.alert_id for a in (await snapshot(watch)).snapshot.alerts] == [newer.alert_id, older.alert_id]
        watch.cancel()


async def test_a_watch_of_alerts_cut_off_mid_stream_resumes_without_loss_or_repeats(settings, clock):
    async with serving(settings, clock) as alerts:
        reference, watcher = alerts.watch(HOSPITAL_ACTOR), alerts.watch(HOSPITAL_ACTOR)
        start = (await snapshot(reference)).position
        assert (await snapshot(watcher)).position == start
        raised = [await alerts.raise_alert(f"r-{i}", target_orgnrs=[BODO, BAERUM]) for i in range(4)]
        received = await events(watcher, 2)
        watcher.cancel()
        assert await watcher.code() == grpc.StatusCode.CANCELLED
        await alerts.acknowledge(raised[0].alert_id, DEMO_EHR_ACTOR)
        resumed = alerts.watch(HOSPITAL_ACTOR, resume_after=received[-1].position)
        await alerts.acknowledge(raised[3].alert_id, BAERUM_ACTOR)
        await alerts.raise_alert("r-last", target_orgnrs=[VESTRE_VIKEN])
        everything = await events(reference, 7)
        rest = await events(resumed, 7 - len(received))
        assert received + rest == everything
        assert [m.position for m in everything] == list(range(start + 1, start + 8))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await next_message(alerts.watch(HOSPITAL_ACTOR, resume_after=start + 8))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "resume_after" in error_info(err.value)[1]
        reference.cancel()
        resumed.cancel()


async def test_open_alerts_are_limited_per_sender_and_every_list_of_them_is_bounded(settings, clock):
    """docs/limits.md: 100 open alerts per sending organisation, a snapshot of the newest 200 with
    `truncated`, ListAlerts in pages (AIP-158) of alerts of maximum size."""
    longest = "𝄞" * 1000  # 4 bytes in UTF-8 each: the largest message text allowed
    async with serving(settings, clock) as alerts:

        async def raise_many(actor: common_pb2.Actor, count: int) -> None:
            for start in range(0, count, 20):
                await asyncio.gather(
                    *(
                        alerts.raise_alert(f"{actor.client_id}-{n}", actor=actor, target_orgnrs=[BODO], message=longest)
                        for n in range(start, min(start + 20, count))
                    )
                )

        await raise_many(HOSPITAL_ACTOR, 100)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await alerts.raise_alert("one-too-many", target_orgnrs=[BODO])
        assert (refused.value.code(), error_info(refused.value)[0]) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "OPEN_ALERTS_LIMIT",
        )
        await raise_many(BAERUM_ACTOR, 100)
        await raise_many(VESTRE_VIKEN_ACTOR, 1)

        watch = alerts.watch(DEMO_EHR_ACTOR)
        first = await snapshot(watch)
        watch.cancel()
        assert (len(first.snapshot.alerts), first.snapshot.truncated) == (200, True)
        assert first.snapshot.alerts[0].sender_orgnr == VESTRE_VIKEN  # the newest first
        assert first.snapshot.ByteSize() < 4 * 1024 * 1024

        def meta():  # an internal assertion is used once
            return alerts._meta("ListAlerts", DEMO_EHR_ACTOR)

        listed, token, pages = [], "", []
        while True:
            page = await alerts.stub.ListAlerts(
                capacity_pb2.ListAlertsRequest(page_size=100, page_token=token), metadata=meta()
            )
            pages.append(len(page.alerts))
            listed += [a.alert_id for a in page.alerts]
            if not (token := page.next_page_token):
                break
        assert pages == [100, 100, 1] and len(set(listed)) == 201
        assert listed[:200] == [a.alert_id for a in first.snapshot.alerts]

        for bad in ({"page_size": 101}, {"page_size": -1}, {"page_token": "djE6OTIyMzM3MjAzNjg1NDc3NTgwOA=="}):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await alerts.stub.ListAlerts(capacity_pb2.ListAlertsRequest(**bad), metadata=meta())
            assert (err.value.code(), set(error_info(err.value)[1])) == (grpc.StatusCode.INVALID_ARGUMENT, set(bad))

        clock.now += timedelta(hours=7)  # the first hundred have expired: the sender may raise again
        assert (await alerts.raise_alert("after-expiry", target_orgnrs=[BODO])).alert_id
