"""The auditors' escalation signals (ListEscalationSignals) through a real summary gRPC server with
real internal assertions, on SQLite and PostgreSQL (docs/escalation.md, "Auditors' signals").
The server's clock is fixed and its own sweeper left out: episodes are opened before it through the
escalation store on the server's database, a chain is exhausted by an explicit sweep at a chosen
time, and an acknowledgement goes through gRPC at the server's time, after its deadline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import escalation_pb2 as E
from samhandling.summary.v1 import escalation_pb2_grpc, summary_pb2
from services.platform.db import make_engine, make_sessions
from services.platform.errors import error_info
from services.platform.protomap import from_timestamp, to_timestamp
from services.summary.escalation_rules import AcknowledgeWithin
from services.summary.escalation_store import EscalationStore
from services.summary.escalation_sweeper import EscalationSweeper
from services.summary.main import BACKEND, make_api
from tests.fixtures import people
from tests.fixtures.audit_events import BAERUM_AUDITOR, BODO_AUDITOR
from tests.fixtures.escalation import LEGEVAKT, RECORDER, actor, facts
from tests.fixtures.escalation_api import LARS, escalation_call
from tests.fixtures.escalation_signals import raise_emergency
from tests.support import running_backend, settings_for

HOUR = timedelta(hours=1)
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # the server's clock when the late one is acknowledged
# An auditor of Vestre Viken HF: neither target nor source of any escalation here.
STRANGER_AUDITOR = common_pb2.Actor(
    kind=common_pb2.ACTOR_KIND_AUDITOR, client_id="demo-auditor", orgnr_parent="910000101", orgnr_child="910000128"
)
KRISTIN = actor(RECORDER, people.KRISTIN_HPR, "Kristin Korttidsen")


@pytest.fixture
def settings(tmp_path, db_url):
    return settings_for(tmp_path, summary=db_url)


@dataclass
class Signals:
    settings: object
    stub: escalation_pb2_grpc.EscalationServiceStub
    store: EscalationStore
    clock: list[datetime]  # the server's

    def emergency(self, patient: str, at: datetime) -> str:
        return raise_emergency(self.store, patient, at)

    async def call(self, method: str, request, who: common_pb2.Actor, patient_id: str = "", **kw):
        meta = escalation_call(self.settings, method, who, patient_id, **kw)
        return await getattr(self.stub, method)(request, metadata=meta)

    async def signals(self, who: common_pb2.Actor, **request) -> E.ListEscalationSignalsResponse:
        return await self.call("ListEscalationSignals", E.ListEscalationSignalsRequest(**request), who, categories=())


@pytest.fixture
async def sig(settings) -> AsyncIterator[Signals]:
    clock = [NOW]
    spec = replace(
        BACKEND,
        make_api=lambda store, s: make_api(
            store, s, clock=lambda: clock[0], facts=lambda _, org, __: facts(recorder=org)
        ),
        background=lambda apis, s: [],  # no sweeper of its own: the test sweeps
    )
    async with running_backend("summary", settings, spec=spec) as channel:
        engine = make_engine(settings.database_url("summary"))
        try:
            yield Signals(
                settings,
                escalation_pb2_grpc.EscalationServiceStub(channel),
                EscalationStore(make_sessions(engine), AcknowledgeWithin()),
                clock,
            )
        finally:
            engine.dispose()


@dataclass
class Seen:
    late: str  # acknowledged late by the legevakt, through gRPC
    exhausted: str  # its chain exhausted by the sweep
    opened_late: datetime
    exhausted_at: datetime


@pytest.fixture
async def seen(sig: Signals) -> Seen:
    opened_exhausted = NOW - 3 * HOUR
    exhausted = sig.emergency(people.INGRID, opened_exhausted)
    # The sweep at a chosen time fires the EMERGENCY's deadline: nobody is left to add.
    fired = EscalationSweeper(sig.store).sweep_once(opened_exhausted + timedelta(minutes=6))
    assert [f.timer.episode_id for f in fired] == [exhausted]
    opened_late = NOW - HOUR
    late = sig.emergency(people.TOR, opened_late)
    request = E.AcknowledgeEscalationRequest(escalation_id=late, request_id="ack-late")
    await sig.call("AcknowledgeEscalation", request, LARS, people.TOR)
    sig.clock[0] = NOW + timedelta(minutes=1)  # the lists below are asked a minute later
    return Seen(late, exhausted, opened_late, opened_exhausted + timedelta(minutes=6))


async def test_the_target_organisations_auditor_sees_the_late_acknowledgement_and_the_exhausted_chain(
    sig: Signals, seen: Seen
) -> None:
    answer = await sig.signals(BODO_AUDITOR)
    assert not answer.truncated and answer.next_page_token == ""
    late, exhausted = answer.signals  # newest event first
    assert (late.kind, late.escalation_id, late.level) == (
        E.ESCALATION_SIGNAL_KIND_ACKNOWLEDGED_LATE,
        seen.late,
        summary_pb2.ESCALATION_LEVEL_EMERGENCY,
    )
    assert from_timestamp(late.open_time) == seen.opened_late
    assert from_timestamp(late.deadline_time) == seen.opened_late + timedelta(minutes=5)
    assert from_timestamp(late.event_time) == NOW  # acknowledged at the server's time
    assert late.late_by.ToTimedelta() == HOUR - timedelta(minutes=5)
    assert (late.orgnr, late.role) == (LEGEVAKT, E.ESCALATION_ROLE_RESPONSIBLE)
    assert (late.person.hpr_number, late.person.name) == (people.LARS_HPR, "Lars Legevaktsen")

    assert (exhausted.kind, exhausted.escalation_id) == (E.ESCALATION_SIGNAL_KIND_CHAIN_EXHAUSTED, seen.exhausted)
    assert from_timestamp(exhausted.event_time) == seen.exhausted_at
    assert from_timestamp(exhausted.deadline_time) == seen.exhausted_at - timedelta(minutes=1)
    assert (exhausted.orgnr, exhausted.role) == (LEGEVAKT, E.ESCALATION_ROLE_RESPONSIBLE)
    assert not exhausted.HasField("late_by") and not exhausted.HasField("person")
    # No patient data: neither the patients' person numbers nor their names are in the answer.
    wire = answer.SerializeToString()
    for patient, name in ((people.TOR, "Tor"), (people.INGRID, "Ingrid")):
        assert patient.encode() not in wire and name.encode() not in wire


async def test_the_source_organisations_auditor_sees_the_exhaustion_and_a_stranger_nothing(
    sig: Signals, seen: Seen
) -> None:
    (source,) = (await sig.signals(BAERUM_AUDITOR)).signals
    assert (source.kind, source.escalation_id, source.orgnr, source.role) == (
        E.ESCALATION_SIGNAL_KIND_CHAIN_EXHAUSTED,
        seen.exhausted,
        RECORDER,
        E.ESCALATION_ROLE_SOURCE,
    )
    assert list((await sig.signals(STRANGER_AUDITOR)).signals) == []


async def test_a_kind_a_range_and_pages(sig: Signals, seen: Seen) -> None:
    only = await sig.signals(BODO_AUDITOR, kind=E.ESCALATION_SIGNAL_KIND_CHAIN_EXHAUSTED)
    assert [s.escalation_id for s in only.signals] == [seen.exhausted]
    before = await sig.signals(BODO_AUDITOR, end_time=to_timestamp(seen.exhausted_at + timedelta(minutes=1)))
    assert [s.escalation_id for s in before.signals] == [seen.exhausted]
    first = await sig.signals(BODO_AUDITOR, page_size=1)
    assert [s.escalation_id for s in first.signals] == [seen.late] and first.next_page_token
    second = await sig.signals(BODO_AUDITOR, page_size=1, page_token=first.next_page_token)
    assert [s.escalation_id for s in second.signals] == [seen.exhausted] and second.next_page_token == ""


async def refusal(call) -> tuple[grpc.StatusCode, str, dict[str, str]]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    reason, violations = error_info(caught.value)
    return caught.value.code(), reason, violations


@pytest.mark.parametrize(
    "who",
    [
        LARS,
        common_pb2.Actor(kind=common_pb2.ACTOR_KIND_AUDITOR, client_id="demo-auditor"),
        common_pb2.Actor(kind=common_pb2.ACTOR_KIND_PATIENT, pid=people.TOR),
    ],
    ids=["health-person", "auditor-without-organisation", "patient"],
)
async def test_only_an_organisations_auditor_reads_them(sig: Signals, who: common_pb2.Actor) -> None:
    code, reason, _ = await refusal(sig.signals(who))
    assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "AUDIT_SCOPE_MISSING")


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"kind": 9}, "kind"),
        ({"page_size": 101}, "page_size"),
        ({"page_token": "nonsense"}, "page_token"),
        (
            {
                "start_time": to_timestamp(datetime(2026, 12, 1, tzinfo=UTC)),
                "end_time": to_timestamp(datetime(2026, 11, 1, tzinfo=UTC)),
            },
            "start_time",
        ),
        (
            {
                "start_time": to_timestamp(datetime(2026, 10, 1, tzinfo=UTC)),
                "end_time": to_timestamp(datetime(2026, 11, 2, tzinfo=UTC)),
            },
            "end_time",
        ),
    ],
    ids=["kind", "page-size", "page-token", "start-after-end", "longer-than-31-days"],
)
async def test_a_bad_request_names_its_field(sig: Signals, request_fields: dict, field: str) -> None:
    code, reason, violations = await refusal(sig.signals(BODO_AUDITOR, **request_fields))
    assert (code, reason, list(violations)) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", [field])
