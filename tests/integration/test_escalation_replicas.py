"""The escalation change sequence with two summary replicas on one PostgreSQL database
(docs/escalation.md, "API"): changes made on both at once get every position exactly once, in
commit order, with no gap (an episode keeps only its last change); a watcher on one replica gets a change made on the other through the
notification (polls made too rare to meet the deadline)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from samhandling.summary.v1 import escalation_pb2 as E
from samhandling.summary.v1 import escalation_pb2_grpc, summary_pb2
from services.platform import watch
from services.platform.db import make_engine
from services.summary.models import EscalationChangeRow
from tests.fixtures import people
from tests.fixtures.escalation_api import KRISTIN, escalation_call, routed_backend
from tests.support import backend_replicas, settings_for

pytestmark = pytest.mark.postgres

DEADLINE_SECONDS = 10.0
# Every seeded person (seeds/patients.json): one concern each.
PATIENTS = people.PATIENTS


@pytest.fixture
def settings(tmp_path, postgres_url):
    return settings_for(tmp_path, summary=postgres_url)


@pytest.fixture(autouse=True)
def rare_polls(monkeypatch):
    """Polls far too rare to meet the deadline: only a notification can."""
    monkeypatch.setattr(watch, "POLL_SECONDS", 30.0)


def concern(patient_id: str) -> E.RaiseConcernRequest:
    return E.RaiseConcernRequest(
        patient_id=patient_id, request_id=f"c-{patient_id}", level=summary_pb2.ESCALATION_LEVEL_URGENT, note="Bekymret"
    )


async def test_changes_on_two_replicas_take_every_position_once_and_a_watch_on_either_sees_them(settings):
    async with backend_replicas(routed_backend(), settings) as (a, b):
        stubs = [escalation_pb2_grpc.EscalationServiceStub(r.channel) for r in (a, b)]
        watch_call = stubs[1].WatchEscalations(
            E.WatchEscalationsRequest(box=E.ESCALATION_BOX_SENT),
            metadata=escalation_call(settings, "WatchEscalations", KRISTIN, categories=()),
        )
        try:
            snapshot = await asyncio.wait_for(watch_call.read(), DEADLINE_SECONDS)
            assert list(snapshot.snapshot.escalations) == [] and snapshot.position == 0
            # Half the concerns through each replica, all at once.
            raised = await asyncio.gather(
                *(
                    stubs[n % 2].RaiseConcern(
                        concern(patient),
                        metadata=escalation_call(settings, "RaiseConcern", KRISTIN, patient),
                    )
                    for n, patient in enumerate(PATIENTS)
                )
            )
            expected = {r.escalation.escalation_id for r in raised}
            seen: list[tuple[int, str]] = []
            while len(seen) < len(PATIENTS):
                message = await asyncio.wait_for(watch_call.read(), DEADLINE_SECONDS)
                if message.HasField("change"):
                    seen.append((message.position, message.change.escalation_id))
            # One change on A alone: B's watcher learns of it only through A's notification.
            again = concern(people.TOR)
            again.request_id, again.note = "c-again", "Fortsatt bekymret"
            await stubs[0].RaiseConcern(again, metadata=escalation_call(settings, "RaiseConcern", KRISTIN, people.TOR))
            message = await asyncio.wait_for(watch_call.read(), DEADLINE_SECONDS)
            assert message.position == len(PATIENTS) + 1
        finally:
            watch_call.cancel()
    assert {episode for _, episode in seen} == expected
    assert [p for p, _ in seen] == sorted(p for p, _ in seen)
    engine = make_engine(settings.database_url("summary"))
    try:
        with engine.connect() as connection:
            positions = list(
                connection.scalars(select(EscalationChangeRow.position).order_by(EscalationChangeRow.position))
            )
    finally:
        engine.dispose()
    # Every position handed out once, with no gap; Tor's first change gave way to its last.
    tor = raised[PATIENTS.index(people.TOR)].escalation.escalation_id
    replaced = next(p for p, episode in seen if episode == tor)
    assert positions == [p for p in range(1, len(PATIENTS) + 2) if p != replaced]
