"""Audit service over real gRPC and its store on real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from samhandling.common.v1 import common_pb2
from services.audit.main import BACKEND
from services.audit.store import AuditStore
from services.platform.db import make_engine, make_sessions, migrate
from services.platform.errors import error_info
from services.platform.protomap import to_timestamp
from services.platform.settings import REPO_ROOT
from tests.fixtures.audit_events import (
    BAERUM,
    BAERUM_AUDITOR,
    BAERUM_NURSE,
    BODO,
    BODO_AUDITOR,
    GATEWAY,
    NURSE,
    OTHER_PATIENT,
    PATIENT,
    append,
    at_once,
    event,
    patient_actor,
    record,
)
from tests.support import asserted, running_backend, settings_for

LIST = "/samhandling.audit.v1.AuditService/ListEvents"


@pytest.fixture
def settings(tmp_path, db_url):
    return settings_for(tmp_path, audit=db_url)


async def list_events(stub, settings, actor, patient_id=PATIENT, **fields) -> audit_pb2.ListEventsResponse:
    return await stub.ListEvents(
        audit_pb2.ListEventsRequest(patient_id=patient_id, **fields),
        metadata=asserted(settings, "audit", LIST, actor=actor, patient_id=patient_id),
    )


async def test_appended_events_are_listed_newest_first(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        first, second = event("k-1"), event("k-2", action=audit_pb2.ACTION_SEARCH, decision=common_pb2.DECISION_DENY)
        stored = (await append(stub, settings, first, second)).events
        assert [e.idempotency_key for e in stored] == ["k-1", "k-2"]
        assert stored[1].sequence == stored[0].sequence + 1
        assert all(e.event_id for e in stored) and stored[0].event_id != stored[1].event_id

        listed = (await list_events(stub, settings, BODO_AUDITOR)).events
        assert list(listed) == [stored[1], stored[0]]
        # Everything appended comes back as sent, plus the server's id and sequence.
        expected = audit_pb2.AuditEvent()
        expected.CopyFrom(first)
        expected.event_id, expected.sequence = stored[0].event_id, stored[0].sequence
        assert listed[1] == expected


async def test_a_retried_append_stores_the_event_once(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        once = (await append(stub, settings, event("k-1"))).events[0]
        # The retry differs in content: the stored event wins, it is not stored again.
        again = await append(stub, settings, event("k-1", decided_by="retry"), event("k-2"), event("k-2"))
        assert again.events[0] == once
        assert again.events[1] == again.events[2] and again.events[1].sequence == once.sequence + 1
        listed = (await list_events(stub, settings, BODO_AUDITOR)).events
        assert [e.idempotency_key for e in listed] == ["k-2", "k-1"]


def test_concurrent_retries_store_the_event_once(audit_engine):
    # Two stores stand for two gateway replicas retrying the same event at the same moment.
    stores = [AuditStore(make_sessions(audit_engine)) for _ in range(2)]
    results: list[tuple[str, int]] = []

    def retry(index: int) -> None:
        row = stores[index % 2].append([record("same-key"), record(f"own-{index}")])[0]
        results.append((str(row.event_id), row.sequence))

    at_once(retry, 8)
    assert len(results) == 8 and len(set(results)) == 1
    with audit_engine.connect() as connection:
        sequences = connection.execute(sa.text("SELECT sequence FROM audit_events ORDER BY sequence")).scalars().all()
        size = connection.execute(sa.text("SELECT size FROM audit_log_head")).scalar_one()
    assert sequences == list(range(1, 10)) and size == 9  # dense: one shared event plus eight own


async def test_a_batch_with_one_bad_event_stores_nothing(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        bad = [
            event("k-1"),
            event("k-2"),
            event("k-3", patient_id="22750884908", trace_id="nope", occur_time=Timestamp(seconds=10**12)),
            event("", action=audit_pb2.ACTION_UNSPECIFIED, data_category=99),
        ]
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await append(stub, settings, *bad)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(error_info(err.value)[1]) == {
            "events[2].patient_id",
            "events[2].trace_id",
            "events[2].occur_time",
            "events[3].idempotency_key",
            "events[3].action",
            "events[3].data_category",
        }
        assert not (await list_events(stub, settings, BODO_AUDITOR)).events


async def test_appending_needs_the_gateway_and_a_sane_batch(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await append(stub, settings, event("k-1"), actor=NURSE)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert error_info(err.value)[0] == "APPEND_NOT_ALLOWED"
        for batch in ([], [event(f"k-{i}") for i in range(501)], [event("k-1", event_id="chosen")]):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await append(stub, settings, *batch)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert not (await list_events(stub, settings, BODO_AUDITOR)).events


async def test_a_flagged_access_keeps_its_justification_for_auditors_only(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        words = "Bevisstløs pasient innbrakt av ambulanse"
        emergency = event("k-1", access_basis=common_pb2.ACCESS_BASIS_EMERGENCY, flagged=True, justification=words)
        stored = (await append(stub, settings, emergency)).events[0]
        assert stored.flagged and stored.justification == words
        (audited,) = (await list_events(stub, settings, BODO_AUDITOR)).events
        assert audited.flagged and audited.justification == words
        (own,) = (await list_events(stub, settings, patient_actor(PATIENT))).events
        assert own.flagged and own.justification == "" and own.access_basis == common_pb2.ACCESS_BASIS_EMERGENCY

        with pytest.raises(grpc.aio.AioRpcError) as err:
            await append(stub, settings, event("k-2", justification="x" * 501), event("k-3", justification="a\nb"))
        assert set(error_info(err.value)[1]) == {"events[0].justification", "events[1].justification"}
        assert len((await list_events(stub, settings, BODO_AUDITOR)).events) == 1


async def test_auditors_see_only_accesses_by_their_own_organisation(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        await append(stub, settings, event("k-1"))
        assert len((await list_events(stub, settings, BODO_AUDITOR)).events) == 1
        assert not (await list_events(stub, settings, BAERUM_AUDITOR)).events


async def test_a_patient_sees_who_accessed_their_own_data(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        baerum_nurse = common_pb2.Actor(kind=common_pb2.ACTOR_KIND_PERSONNEL, orgnr_parent=BAERUM, name="Bjørn")
        await append(stub, settings, event("k-1"), event("k-2", actor=baerum_nurse), event("k-3", OTHER_PATIENT))
        own = (await list_events(stub, settings, patient_actor(PATIENT))).events
        assert [e.actor.name for e in own] == ["Bjørn", NURSE.name]
        assert own[1].actor.pid == ""  # staff person numbers stay hidden
        # Only what a patient's log shows: who, where, when, what and on which basis.
        assert all(not (e.idempotency_key or e.decision_id or e.trace_id or e.method or e.decided_by) for e in own)
        other = await list_events(stub, settings, patient_actor(OTHER_PATIENT), OTHER_PATIENT)
        assert [e.patient_id for e in other.events] == [OTHER_PATIENT]

        for actor in (patient_actor(OTHER_PATIENT), NURSE, GATEWAY):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await list_events(stub, settings, actor)
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert error_info(err.value)[0] == "AUDIT_SCOPE_MISSING"


async def test_listing_refuses_bad_input_and_other_patients(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await list_events(stub, settings, BODO_AUDITOR, "123", page_size=501, page_token="junk")
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(error_info(err.value)[1]) == {"patient_id", "page_size", "page_token"}
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ListEvents(
                audit_pb2.ListEventsRequest(patient_id=OTHER_PATIENT),
                metadata=asserted(settings, "audit", LIST, actor=BODO_AUDITOR, patient_id=PATIENT),
            )
        assert error_info(err.value)[0] == "ASSERTION_PATIENT_MISMATCH"


async def test_pages_walk_the_log_newest_first(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        await append(stub, settings, *(event(f"k-{i}") for i in range(1, 6)))
        await append(stub, settings, event("elsewhere", actor=BAERUM_AUDITOR))  # out of the Bodø auditor's scope
        pages, token = [], ""
        while True:
            page = await list_events(stub, settings, BODO_AUDITOR, page_size=2, page_token=token)
            pages.append([e.idempotency_key for e in page.events])
            token = page.next_page_token
            if not token:
                break
        assert pages == [["k-5", "k-4"], ["k-3", "k-2"], ["k-1"]]
        default = await list_events(stub, settings, BODO_AUDITOR)
        assert len(default.events) == 5 and default.next_page_token == ""


def test_the_database_refuses_to_change_or_delete_events(audit_engine):
    stored = AuditStore(make_sessions(audit_engine)).append([record("k-1")])[0]
    statements = ["UPDATE audit_events SET decided_by = 'forged'", "DELETE FROM audit_events"]
    if audit_engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_events")
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), audit_engine.begin() as connection:
            connection.execute(sa.text(statement))
    with audit_engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT sequence, decided_by FROM audit_events")).all()
    assert [tuple(r) for r in rows] == [(stored.sequence, "default")]


CRASHING_APPEND = """
import os, sys
from services.audit.store import AuditStore
from services.platform.db import make_engine, make_sessions
from tests.fixtures.audit_events import record

row = AuditStore(make_sessions(make_engine(sys.argv[1]))).append([record("crash-1")])[0]
print("acked", row.event_id, flush=True)
os._exit(1)  # no clean shutdown: no pool close, no WAL checkpoint
"""


def test_an_acknowledged_event_survives_a_crash(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    migrate(url, BACKEND.migrations)
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "protos")])}
    child = subprocess.run(
        [sys.executable, "-c", CRASHING_APPEND, url],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 1, child.stderr
    acked, event_id = child.stdout.split()
    assert acked == "acked"
    assert (tmp_path / "audit.db-wal").stat().st_size > 0  # the event lives only in the WAL so far
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            stored = connection.execute(sa.text("SELECT event_id, idempotency_key FROM audit_events")).all()
    finally:
        engine.dispose()
    assert [(str(r[0]).replace("-", ""), r[1]) for r in stored] == [(event_id.replace("-", ""), "crash-1")]


# The patient's access log narrowed by filters ("Logg over bruk"): period, organisation, flagged,
# without the patient's own (and representatives') reads.
BODO_CHILD = "910000020"  # NURSE's point of care under Bodø kommune


def at(day: int, hour: int = 12) -> Timestamp:
    return to_timestamp(datetime(2026, 3, day, hour, tzinfo=UTC))


async def filtered_log(stub, settings) -> None:
    """Appends the patient's log for the filter tests: keys say who, when and how."""
    await append(
        stub,
        settings,
        event("nurse-1", occur_time=at(1)),
        event("baerum-2", actor=BAERUM_NURSE, occur_time=at(2)),
        event(
            "flagged-3",
            actor=BAERUM_NURSE,
            occur_time=at(3),
            flagged=True,
            justification="bevisstløs",
            purpose_of_use=common_pb2.PURPOSE_OF_USE_ETREAT,
            access_basis=common_pb2.ACCESS_BASIS_EMERGENCY,
        ),
        event(
            "own-4",
            actor=patient_actor(PATIENT),
            occur_time=at(4),
            data_category=common_pb2.DATA_CATEGORY_ACCESS_LOG,
            access_basis=common_pb2.ACCESS_BASIS_OWN_DATA,
        ),
        event("nurse-5", occur_time=at(5), flagged=True, access_basis=common_pb2.ACCESS_BASIS_CONSENT_AT_MOMENT),
        event("other-patient-6", OTHER_PATIENT, occur_time=at(3)),
    )


async def keys(stub, settings, **fields) -> list[str]:
    """Every page of the patient's own log by these filters (page size 2), newest first."""
    found, token = [], ""
    while True:
        page = await list_events(stub, settings, patient_actor(PATIENT), page_size=2, page_token=token, **fields)
        assert len(page.events) <= 2
        found += [_key(e) for e in page.events]
        token = page.next_page_token
        if not token:
            return found


def _key(listed: audit_pb2.AuditEvent) -> str:
    """The test's key of an event as a patient sees it (idempotency keys are hidden from them)."""
    when = listed.occur_time.ToDatetime().day
    return {1: "nurse-1", 2: "baerum-2", 3: "flagged-3", 4: "own-4", 5: "nurse-5"}[when]


async def test_the_patients_log_narrows_by_period_organisation_flag_and_actor_kind(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        await filtered_log(stub, settings)
        everything = ["nurse-5", "own-4", "flagged-3", "baerum-2", "nurse-1"]
        assert await keys(stub, settings) == everything
        # The period: start inclusive, end exclusive.
        assert await keys(stub, settings, start_time=at(2), end_time=at(4)) == ["flagged-3", "baerum-2"]
        assert await keys(stub, settings, start_time=at(4)) == ["nurse-5", "own-4"]
        assert await keys(stub, settings, end_time=at(2)) == ["nurse-1"]
        # The organisation: a legal entity, or one point of care under it.
        assert await keys(stub, settings, actor_orgnr=BAERUM) == ["flagged-3", "baerum-2"]
        assert await keys(stub, settings, actor_orgnr=BODO_CHILD) == ["nurse-5", "nurse-1"]
        assert await keys(stub, settings, actor_orgnr=BODO) == ["nurse-5", "nurse-1"]
        assert await keys(stub, settings, actor_orgnr="910000071") == []  # a valid number without events
        assert await keys(stub, settings, flagged_only=True) == ["nurse-5", "flagged-3"]
        assert await keys(stub, settings, exclude_patient_actors=True) == [
            "nurse-5",
            "flagged-3",
            "baerum-2",
            "nurse-1",
        ]
        # Combined, every filter narrows further.
        assert await keys(
            stub,
            settings,
            start_time=at(1),
            end_time=at(5),
            actor_orgnr=BAERUM,
            flagged_only=True,
            exclude_patient_actors=True,
        ) == ["flagged-3"]
        assert await keys(stub, settings, flagged_only=True, actor_orgnr=BODO, exclude_patient_actors=True) == [
            "nurse-5"
        ]
        # The patient still never sees the justification; an auditor filtering sees it, in scope.
        flagged = await list_events(stub, settings, patient_actor(PATIENT), flagged_only=True)
        assert [e.justification for e in flagged.events] == ["", ""]
        baerum = await list_events(stub, settings, BAERUM_AUDITOR, flagged_only=True)
        assert [e.justification for e in baerum.events] == ["bevisstløs"]


async def test_a_page_token_is_refused_with_other_filters_and_bad_ranges_are_refused(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        await filtered_log(stub, settings)
        who = patient_actor(PATIENT)
        first = await list_events(stub, settings, who, page_size=1, exclude_patient_actors=True)
        token = first.next_page_token
        assert token and [_key(e) for e in first.events] == ["nurse-5"]
        # The same filters continue where the first page ended ...
        second = await list_events(stub, settings, who, page_size=1, page_token=token, exclude_patient_actors=True)
        assert [_key(e) for e in second.events] == ["flagged-3"]
        # ... any other filters (even none) would silently skip or repeat events: refused.
        for other in (
            {},
            {"flagged_only": True},
            {"exclude_patient_actors": True, "start_time": at(1)},
            {"exclude_patient_actors": True, "actor_orgnr": BODO},
        ):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await list_events(stub, settings, who, page_size=1, page_token=token, **other)
            assert (err.value.code(), error_info(err.value)[0]) == (
                grpc.StatusCode.INVALID_ARGUMENT,
                "INVALID_ARGUMENT",
            )
            assert set(error_info(err.value)[1]) == {"page_token"}, other
        bad = [
            ({"start_time": at(3), "end_time": at(3)}, {"end_time"}),
            ({"start_time": at(4), "end_time": at(3)}, {"end_time"}),
            ({"actor_orgnr": "910000013"}, {"actor_orgnr"}),  # check digit
            ({"actor_orgnr": "12345"}, {"actor_orgnr"}),
            ({"start_time": Timestamp(seconds=-62135596801)}, {"start_time"}),  # before year 1
            ({"actor_orgnr": "abc", "end_time": Timestamp(seconds=253402300800)}, {"actor_orgnr", "end_time"}),
        ]
        for fields, violated in bad:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await list_events(stub, settings, who, **fields)
            assert (err.value.code(), error_info(err.value)[0]) == (
                grpc.StatusCode.INVALID_ARGUMENT,
                "INVALID_ARGUMENT",
            )
            assert set(error_info(err.value)[1]) == violated, fields
