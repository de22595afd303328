"""The EscalationService through a real summary gRPC server with real internal assertions, on
SQLite and PostgreSQL (docs/escalation.md, "API"). Episodes are opened through the escalation
store on the server's own database, as RecordVitalSigns will open them; everything else goes
through gRPC."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import escalation_pb2 as E
from samhandling.summary.v1 import escalation_pb2_grpc, summary_pb2, summary_pb2_grpc
from services.platform import watch
from services.platform.db import make_engine, make_sessions
from services.platform.errors import error_info
from services.platform.norway_date import day_in_norway
from services.platform.protomap import to_date, to_timestamp
from services.summary.escalation_rules import AcknowledgeWithin, evaluate
from services.summary.escalation_store import EscalationStore
from services.summary.store import SummaryStore
from tests.fixtures import people
from tests.fixtures.escalation import FOLLOW_UP_TEAM, HOME_NURSING, LEGEVAKT, RECORDER, routes, vital_signs_input
from tests.fixtures.escalation import measurement as scored_measurement
from tests.fixtures.escalation_api import KRISTIN, LARS, MARTE, SIGRID, VILDE, VITALS, escalation_call, routed_backend
from tests.support import asserted, running_backend, settings_for

UNKNOWN_ID = "esc-00000000000000000000000000000000"
UNKNOWN_PATIENT = "01818010083"  # a valid synthetic number, not seeded


@pytest.fixture
def settings(tmp_path, db_url):
    return settings_for(tmp_path, summary=db_url)


@dataclass
class Escalations:
    """A running summary backend, its escalation store (for opening episodes as RecordVitalSigns
    does) and a stub that asserts each call as the gateway would."""

    settings: object
    stub: escalation_pb2_grpc.EscalationServiceStub
    summaries: summary_pb2_grpc.PatientSummaryServiceStub
    summary: SummaryStore
    store: EscalationStore
    counter: itertools.count

    def open(self, total: int = 7, *, red: bool = False, at: datetime | None = None, patient: str = people.TOR) -> str:
        """A measurement of `total` recorded for the patient by RECORDER and escalated; the episode id."""
        now = datetime.now(UTC)
        at = at or now
        n = next(self.counter)
        given = replace(
            scored_measurement(at, total, red=red),
            source_system="demo-ehr",
            source_record_id=f"api-{n}",
            measurement_id="",
        )
        stored, _ = self.summary.record_measurement(patient, given, 0)
        transition = self.store.record_measurement(
            patient,
            measurement_id=stored.measurement_id,
            measured_at=at,
            evaluation=evaluate(stored, self.summary.get_patient(patient).birth_date, ()),
            source_orgnr=RECORDER,
            routes=routes(now),
            now=now,
        )
        assert transition.episode is not None
        return transition.episode.episode_id

    def meta(self, method: str, actor: common_pb2.Actor, patient_id: str = "", **kw):
        return escalation_call(self.settings, method, actor, patient_id, **kw)

    async def call(self, method: str, request, actor: common_pb2.Actor, patient_id: str = people.TOR, **kw):
        return await getattr(self.stub, method)(request, metadata=self.meta(method, actor, patient_id, **kw))


@pytest.fixture
async def esc(settings) -> AsyncIterator[Escalations]:
    async with running_backend("summary", settings, spec=routed_backend()) as channel:
        engine = make_engine(settings.database_url("summary"))
        sessions = make_sessions(engine)
        try:
            yield Escalations(
                settings,
                escalation_pb2_grpc.EscalationServiceStub(channel),
                summary_pb2_grpc.PatientSummaryServiceStub(channel),
                SummaryStore(sessions),
                EscalationStore(sessions, AcknowledgeWithin()),
                itertools.count(1),
            )
        finally:
            engine.dispose()


async def refusal(call) -> tuple[grpc.StatusCode, str, str]:
    """(code, reason, details) of a refused call."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    reason, _ = error_info(caught.value)
    return caught.value.code(), reason, caught.value.details() or ""


# -- GetEscalation, LookupEscalationPatient ---------------------------------------------------


async def test_get_escalation_opens_the_patient_the_measurements_and_the_isbar_view(esc):
    escalation_id = esc.open(7)
    answer = await esc.call("GetEscalation", E.GetEscalationRequest(escalation_id=escalation_id), LARS)
    got = answer.escalation
    assert (got.escalation_id, got.patient_id, got.source_orgnr) == (escalation_id, people.TOR, RECORDER)
    assert (got.level, got.state, got.origin) == (
        summary_pb2.ESCALATION_LEVEL_EMERGENCY,
        E.ESCALATION_STATE_OPEN,
        E.ESCALATION_ORIGIN_SCORE,
    )
    assert got.rules_version == "news2-escalation/2"
    assert [(t.orgnr, t.name, t.role) for t in got.targets] == [
        (LEGEVAKT, "Bodø interkommunale legevakt", E.ESCALATION_ROLE_RESPONSIBLE),
        (HOME_NURSING, "Bodø kommune – hjemmesykepleie", E.ESCALATION_ROLE_RESPONSIBLE),
        (FOLLOW_UP_TEAM, "Nordlandssykehuset Bodø – akuttmottak", E.ESCALATION_ROLE_INFORMED),
    ]  # the names of seeds/organisations.json
    assert [e.kind for e in got.events] == [E.ESCALATION_EVENT_KIND_OPENED]
    (measured,) = got.measurements
    assert measured.news2.total == 7 and measured.source_system == "demo-ehr"
    assert [n.kind for n in got.recorder_notices] == [summary_pb2.RECORDER_NOTICE_KIND_PHONE_113]
    assert list(got.recorder_notices[0].phone_numbers) == ["113"]
    assert got.HasField("deadline_time") and answer.HasField("server_time")
    assert "Tor" in got.isbar.identify and "7" in got.isbar.assessment
    assert got.isbar.recommendation.startswith("NEWS2 7")


async def test_the_source_and_an_informed_target_may_open_it(esc):
    escalation_id = esc.open(7)
    for actor in (KRISTIN, MARTE, SIGRID):
        answer = await esc.call("GetEscalation", E.GetEscalationRequest(escalation_id=escalation_id), actor)
        assert answer.escalation.escalation_id == escalation_id


async def test_an_organisation_neither_target_nor_source_learns_exactly_what_an_unknown_id_tells(esc):
    escalation_id = esc.open(7)
    for method, request in (
        ("GetEscalation", E.GetEscalationRequest),
        ("LookupEscalationPatient", E.LookupEscalationPatientRequest),
    ):
        stranger = await refusal(esc.call(method, request(escalation_id=escalation_id), VILDE))
        unknown = await refusal(esc.call(method, request(escalation_id=UNKNOWN_ID), VILDE))
        assert stranger == unknown
        assert stranger[:2] == (grpc.StatusCode.NOT_FOUND, "ESCALATION_NOT_FOUND")


async def test_lookup_names_the_patient_to_a_target_and_the_source_only(esc):
    escalation_id = esc.open(5)  # URGENT: home nursing and the legevakt; the follow-up team informed
    for actor in (LARS, SIGRID, MARTE, KRISTIN):
        # The gateway asks before it knows the patient: the assertion names none.
        answer = await esc.call(
            "LookupEscalationPatient",
            E.LookupEscalationPatientRequest(escalation_id=escalation_id),
            actor,
            patient_id="",
            categories=(),
        )
        assert answer.patient_id == people.TOR


async def test_get_escalation_needs_the_gateways_decision_for_its_patient(esc):
    escalation_id = esc.open(7)
    request = E.GetEscalationRequest(escalation_id=escalation_id)
    assert (await refusal(esc.call("GetEscalation", request, LARS, patient_id=people.ESKIL)))[:2] == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ASSERTION_PATIENT_MISMATCH",
    )
    assert (await refusal(esc.call("GetEscalation", request, LARS, categories=())))[:2] == (
        grpc.StatusCode.PERMISSION_DENIED,
        "CATEGORY_NOT_PERMITTED",
    )
    assert (await refusal(esc.call("GetEscalation", E.GetEscalationRequest(), LARS)))[:2] == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
    )
    no_organisation = common_pb2.Actor(kind=common_pb2.ACTOR_KIND_SYSTEM, client_id="demo-ehr")
    assert (await refusal(esc.call("GetEscalation", request, no_organisation)))[:2] == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ORGANISATION_REQUIRED",
    )


# -- AcknowledgeEscalation, DeclineEscalation, PlanReassessment, ResolveEscalation ------------


def ack(escalation_id: str, request_id: str = "ack-1", **kw) -> E.AcknowledgeEscalationRequest:
    return E.AcknowledgeEscalationRequest(escalation_id=escalation_id, request_id=request_id, **kw)


def event_kinds(escalation: E.Escalation) -> list[int]:
    return [e.kind for e in escalation.events]


async def test_a_responsible_target_acknowledges_and_a_repeat_changes_nothing(esc):
    escalation_id = esc.open(7)
    first = (await esc.call("AcknowledgeEscalation", ack(escalation_id), LARS)).escalation
    assert first.state == E.ESCALATION_STATE_ACKNOWLEDGED and not first.HasField("deadline_time")
    taken = first.events[-1]
    assert (taken.kind, taken.orgnr, taken.person.hpr_number, taken.person.name) == (
        E.ESCALATION_EVENT_KIND_ACKNOWLEDGED,
        LEGEVAKT,
        people.LARS_HPR,
        "Lars Legevaktsen",
    )
    assert first.recorder_notices[-1].kind == summary_pb2.RECORDER_NOTICE_KIND_ACKNOWLEDGED
    again = (await esc.call("AcknowledgeEscalation", ack(escalation_id), LARS)).escalation
    assert again == first  # the same request again: nothing changed, the same answer
    # The same request id for something else: a system of the legevakt naming another person.
    legevakt_system = common_pb2.Actor(
        kind=common_pb2.ACTOR_KIND_SYSTEM, client_id="demo-ehr", orgnr_parent="910000012", orgnr_child=LEGEVAKT
    )
    other_person = summary_pb2.Performer(hpr_number=people.SIGRID_HPR, name="Sigrid Sykepleiersen")
    assert (
        await refusal(
            esc.call("AcknowledgeEscalation", ack(escalation_id, acknowledged_by=other_person), legevakt_system)
        )
    )[:2] == (grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")
    assert (await refusal(esc.call("AcknowledgeEscalation", ack(escalation_id, "ack-2"), SIGRID)))[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ESCALATION_ALREADY_ACKNOWLEDGED",
    )


async def test_only_a_responsible_target_acknowledges(esc):
    escalation_id = esc.open(7)
    for actor in (MARTE, KRISTIN):  # informed; the source
        assert (await refusal(esc.call("AcknowledgeEscalation", ack(escalation_id), actor)))[:2] == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "ESCALATION_NOT_RESPONSIBLE",
        )
    stranger = await refusal(esc.call("AcknowledgeEscalation", ack(escalation_id), VILDE))
    assert stranger == await refusal(esc.call("AcknowledgeEscalation", ack(UNKNOWN_ID), VILDE))
    assert stranger[:2] == (grpc.StatusCode.NOT_FOUND, "ESCALATION_NOT_FOUND")
    system = common_pb2.Actor(
        kind=common_pb2.ACTOR_KIND_SYSTEM, client_id="demo-ehr", orgnr_parent="910000012", orgnr_child=LEGEVAKT
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await esc.call("AcknowledgeEscalation", ack(escalation_id), system)
    assert error_info(caught.value) == (
        "INVALID_ARGUMENT",
        {"acknowledged_by": "required: the health person who acts (HPR number and name)"},
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await esc.call("AcknowledgeEscalation", ack(escalation_id, request_id=""), LARS)
    assert set(error_info(caught.value)[1]) == {"request_id"}


async def test_a_decline_passes_it_on_and_the_decliner_may_no_longer_take_it(esc):
    escalation_id = esc.open(5)  # URGENT: home nursing and the legevakt responsible
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await esc.call(
            "DeclineEscalation", E.DeclineEscalationRequest(escalation_id=escalation_id, request_id="d-1"), LARS
        )
    assert set(error_info(caught.value)[1]) == {"reason"}
    request = E.DeclineEscalationRequest(escalation_id=escalation_id, request_id="d-1", reason="Ingen lege ledig nå")
    declined = (await esc.call("DeclineEscalation", request, LARS)).escalation
    assert {t.orgnr: t.declined for t in declined.targets} == {
        LEGEVAKT: True,
        HOME_NURSING: False,
        FOLLOW_UP_TEAM: False,
    }
    assert (declined.events[-1].kind, declined.events[-1].text) == (E.ESCALATION_EVENT_KIND_DECLINED, request.reason)
    assert declined.state == E.ESCALATION_STATE_OPEN
    assert (await esc.call("DeclineEscalation", request, LARS)).escalation == declined
    assert (await refusal(esc.call("AcknowledgeEscalation", ack(escalation_id), LARS)))[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ESCALATION_NOT_RESPONSIBLE",
    )
    last = E.DeclineEscalationRequest(escalation_id=escalation_id, request_id="d-2", reason="Pasienten er ikke vår")
    exhausted = (await esc.call("DeclineEscalation", last, SIGRID)).escalation
    assert exhausted.chain_exhausted and exhausted.state == E.ESCALATION_STATE_OPEN
    assert E.ESCALATION_EVENT_KIND_CHAIN_EXHAUSTED in event_kinds(exhausted)


async def test_a_reassessment_is_planned_after_an_acknowledgement_and_never_for_an_emergency(esc):
    escalation_id = esc.open(5)
    now = datetime.now(UTC)

    def plan(request_id: str, ahead: timedelta, note: str = "") -> E.PlanReassessmentRequest:
        return E.PlanReassessmentRequest(
            escalation_id=escalation_id, request_id=request_id, reassess_time=to_timestamp(now + ahead), note=note
        )

    assert (await refusal(esc.call("PlanReassessment", plan("p-1", timedelta(hours=2)), SIGRID)))[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ESCALATION_NOT_ACKNOWLEDGED",
    )
    await esc.call("AcknowledgeEscalation", ack(escalation_id), SIGRID)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await esc.call("PlanReassessment", plan("p-2", timedelta(hours=25)), SIGRID)
    assert set(error_info(caught.value)[1]) == {"reassess_time"}
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await esc.call("PlanReassessment", plan("p-2", timedelta(hours=2), "x" * 1001), SIGRID)
    assert error_info(caught.value) == ("INVALID_ARGUMENT", {"note": "at most 1000 characters"})
    note = "Ny måling etter inhalasjon.\nRing ved SpO2 under 92."
    planned = (await esc.call("PlanReassessment", plan("p-3", timedelta(hours=2), note), SIGRID)).escalation
    assert planned.state == E.ESCALATION_STATE_REASSESSMENT_PLANNED
    assert planned.reassess_time.ToDatetime(tzinfo=UTC) == now + timedelta(hours=2)
    assert (planned.events[-1].kind, planned.events[-1].text) == (E.ESCALATION_EVENT_KIND_REASSESSMENT_PLANNED, note)
    again = plan("p-3", timedelta(hours=2), note)
    assert (await esc.call("PlanReassessment", again, SIGRID)).escalation == planned
    assert (await refusal(esc.call("PlanReassessment", plan("p-3", timedelta(hours=2), "Annet"), SIGRID)))[:2] == (
        grpc.StatusCode.ALREADY_EXISTS,
        "REQUEST_ID_REUSED",
    )

    emergency = esc.open(7, patient=people.ESKIL)
    await esc.call("AcknowledgeEscalation", ack(emergency), LARS, patient_id=people.ESKIL)
    request = E.PlanReassessmentRequest(
        escalation_id=emergency, request_id="p-4", reassess_time=to_timestamp(now + timedelta(hours=1))
    )
    assert (await refusal(esc.call("PlanReassessment", request, LARS, patient_id=people.ESKIL)))[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ESCALATION_EMERGENCY_NO_PLAN",
    )


async def test_the_source_or_a_responsible_target_resolves_with_an_outcome(esc):
    escalation_id = esc.open(7)

    def resolve(request_id: str, outcome: int, note: str = "") -> E.ResolveEscalationRequest:
        return E.ResolveEscalationRequest(
            escalation_id=escalation_id, request_id=request_id, outcome=outcome, note=note
        )

    for outcome, field in (
        (E.ESCALATION_OUTCOME_UNSPECIFIED, "outcome"),
        (E.ESCALATION_OUTCOME_AUTO_IMPROVED, "outcome"),
        (E.ESCALATION_OUTCOME_OTHER, "note"),  # OTHER needs a note
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await esc.call("ResolveEscalation", resolve("r-1", outcome), KRISTIN)
        assert set(error_info(caught.value)[1]) == {field}
    assert (await refusal(esc.call("ResolveEscalation", resolve("r-1", E.ESCALATION_OUTCOME_NO_ACTION_NEEDED), MARTE)))[
        :2
    ] == (grpc.StatusCode.FAILED_PRECONDITION, "ESCALATION_NOT_RESPONSIBLE")
    request = resolve("r-1", E.ESCALATION_OUTCOME_AMBULANCE_CALLED, "Ambulanse bestilt")
    resolved = (await esc.call("ResolveEscalation", request, KRISTIN)).escalation
    assert (resolved.state, resolved.outcome) == (E.ESCALATION_STATE_RESOLVED, E.ESCALATION_OUTCOME_AMBULANCE_CALLED)
    assert (resolved.events[-1].orgnr, resolved.events[-1].text) == (RECORDER, "Ambulanse bestilt")
    assert (await esc.call("ResolveEscalation", request, KRISTIN)).escalation == resolved
    assert (await refusal(esc.call("AcknowledgeEscalation", ack(escalation_id), LARS)))[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ESCALATION_RESOLVED",
    )


# -- RaiseConcern ---------------------------------------------------------------------------------


def concern(patient_id: str = people.ESKIL, request_id: str = "c-1", **kw) -> E.RaiseConcernRequest:
    values = {"level": summary_pb2.ESCALATION_LEVEL_URGENT, "note": "Virker mer forvirret enn i går"} | kw
    return E.RaiseConcernRequest(patient_id=patient_id, request_id=request_id, **values)


async def test_a_concern_opens_an_escalation_and_a_repeat_answers_the_same(esc):
    raised = await esc.call("RaiseConcern", concern(), KRISTIN, patient_id=people.ESKIL)
    # Decided as a write, which a restriction does not stop: the answer names the escalation, its
    # level and state, and nothing of the patient, the other organisations or its history.
    answered = raised.escalation
    assert (answered.origin, answered.level, answered.state) == (
        E.ESCALATION_ORIGIN_CONCERN,
        summary_pb2.ESCALATION_LEVEL_URGENT,
        E.ESCALATION_STATE_OPEN,
    )
    assert (answered.patient_id, answered.source_orgnr, list(answered.targets), list(answered.events)) == (
        "",
        "",
        [],
        [],
    )
    assert not answered.measurements and not answered.recorder_notices and not answered.HasField("isbar")
    opened = await esc.call(
        "GetEscalation", E.GetEscalationRequest(escalation_id=answered.escalation_id), KRISTIN, patient_id=people.ESKIL
    )
    got = opened.escalation
    assert (got.patient_id, got.origin, got.level, got.source_orgnr) == (
        people.ESKIL,
        E.ESCALATION_ORIGIN_CONCERN,
        summary_pb2.ESCALATION_LEVEL_URGENT,
        RECORDER,
    )
    assert [(t.orgnr, t.role) for t in got.targets] == [
        (HOME_NURSING, E.ESCALATION_ROLE_RESPONSIBLE),
        (LEGEVAKT, E.ESCALATION_ROLE_RESPONSIBLE),
        (FOLLOW_UP_TEAM, E.ESCALATION_ROLE_INFORMED),
    ]
    assert event_kinds(got) == [E.ESCALATION_EVENT_KIND_OPENED, E.ESCALATION_EVENT_KIND_CONCERN]
    opened = got.events[-1]
    assert (opened.kind, opened.text, opened.person.hpr_number) == (
        E.ESCALATION_EVENT_KIND_CONCERN,
        "Virker mer forvirret enn i går",
        people.KRISTIN_HPR,
    )
    assert [n.kind for n in raised.recorder_notices] == [summary_pb2.RECORDER_NOTICE_KIND_SENT]
    assert await esc.call("RaiseConcern", concern(), KRISTIN, patient_id=people.ESKIL) == raised
    assert (await refusal(esc.call("RaiseConcern", concern(note="Noe annet"), KRISTIN, patient_id=people.ESKIL)))[
        :2
    ] == (grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")

    upgraded = await esc.call(
        "RaiseConcern",
        concern(request_id="c-2", level=summary_pb2.ESCALATION_LEVEL_EMERGENCY),
        SIGRID,
        patient_id=people.ESKIL,
    )
    assert upgraded.escalation.escalation_id == got.escalation_id
    assert upgraded.escalation.level == summary_pb2.ESCALATION_LEVEL_EMERGENCY
    reopened = await esc.call(
        "GetEscalation", E.GetEscalationRequest(escalation_id=got.escalation_id), KRISTIN, patient_id=people.ESKIL
    )
    assert reopened.escalation.events[-1].kind == E.ESCALATION_EVENT_KIND_CONCERN
    # The organisation raising the emergency is the one with the patient: it is told to phone 113 (the
    # source, which raised the first concern, is not), and it is not notified as a target of its own alert.
    assert [n.kind for n in upgraded.recorder_notices] == [summary_pb2.RECORDER_NOTICE_KIND_PHONE_113]
    assert [n.phone_numbers for n in upgraded.recorder_notices] == [["113"]]


async def test_a_concern_is_refused_without_a_level_a_note_or_a_known_patient(esc):
    for request, field in (
        (concern(level=summary_pb2.ESCALATION_LEVEL_UNSPECIFIED), "level"),
        (concern(note=""), "note"),
        (concern(request_id=""), "request_id"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await esc.call("RaiseConcern", request, KRISTIN, patient_id=people.ESKIL)
        assert set(error_info(caught.value)[1]) == {field}
    assert (await refusal(esc.call("RaiseConcern", concern(UNKNOWN_PATIENT), KRISTIN, patient_id=UNKNOWN_PATIENT)))[
        :2
    ] == (grpc.StatusCode.NOT_FOUND, "PATIENT_NOT_FOUND")
    assert (await refusal(esc.call("RaiseConcern", concern(), KRISTIN, patient_id=people.TOR)))[:2] == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ASSERTION_PATIENT_MISMATCH",
    )


# -- ListEscalations, WatchEscalations, ListPatientEscalations -------------------------------------


def inbox(**kw) -> E.ListEscalationsRequest:
    return E.ListEscalationsRequest(**kw)


async def listed(esc: Escalations, actor: common_pb2.Actor, **kw) -> E.ListEscalationsResponse:
    return await esc.call("ListEscalations", inbox(**kw), actor, patient_id="", categories=())


async def test_the_inbox_lists_the_most_urgent_first_for_each_organisations_part(esc):
    emergency = esc.open(7)  # Tor
    urgent = esc.open(5, patient=people.ESKIL)
    received = await listed(esc, LARS)
    assert [i.escalation_id for i in received.escalations] == [emergency, urgent]
    first = received.escalations[0]
    assert (first.level, first.state, first.role) == (
        summary_pb2.ESCALATION_LEVEL_EMERGENCY,
        E.ESCALATION_STATE_OPEN,
        E.ESCALATION_ROLE_RESPONSIBLE,
    )
    assert first.HasField("deadline_time") and first.HasField("last_notice_time") and received.HasField("server_time")
    assert (first.last_notice_reason, first.pushed, first.declined) == (E.ESCALATION_NOTICE_REASON_OPENED, True, False)
    assert 0 < received.escalations[0].position < received.escalations[1].position
    assert [i.role for i in (await listed(esc, MARTE)).escalations] == [E.ESCALATION_ROLE_INFORMED] * 2
    assert list((await listed(esc, VILDE)).escalations) == []
    sent = (await listed(esc, KRISTIN, box=E.ESCALATION_BOX_SENT)).escalations
    assert [(i.escalation_id, i.role) for i in sent] == [
        (emergency, E.ESCALATION_ROLE_SOURCE),
        (urgent, E.ESCALATION_ROLE_SOURCE),
    ]
    assert not sent[0].HasField("last_notice_time")
    assert list((await listed(esc, KRISTIN)).escalations) == []  # received: the source is no target

    one = await listed(esc, LARS, page_size=1)
    assert [i.escalation_id for i in one.escalations] == [emergency] and one.next_page_token
    rest = await listed(esc, LARS, page_size=1, page_token=one.next_page_token)
    assert [i.escalation_id for i in rest.escalations] == [urgent] and not rest.next_page_token


async def test_a_resolved_escalation_is_listed_only_when_asked_for(esc):
    escalation_id = esc.open(7)
    resolve = E.ResolveEscalationRequest(
        escalation_id=escalation_id, request_id="r-1", outcome=E.ESCALATION_OUTCOME_MANAGED_IN_PLACE
    )
    await esc.call("ResolveEscalation", resolve, LARS)
    assert list((await listed(esc, LARS)).escalations) == []
    (item,) = (await listed(esc, LARS, include_resolved=True)).escalations
    assert (item.escalation_id, item.state) == (escalation_id, E.ESCALATION_STATE_RESOLVED)


async def test_the_inbox_refuses_bad_pages(esc):
    for kw, field in (({"page_size": 101}, "page_size"), ({"page_token": "nope"}, "page_token"), ({"box": 9}, "box")):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await listed(esc, LARS, **kw)
        assert set(error_info(caught.value)[1]) == {field}


async def next_message(call) -> E.WatchEscalationsResponse:
    return await asyncio.wait_for(call.read(), 10)


async def test_a_watch_sends_the_open_escalations_then_each_change_and_resumes_from_a_position(esc):
    escalation_id = esc.open(7)
    watch = esc.stub.WatchEscalations(
        E.WatchEscalationsRequest(), metadata=esc.meta("WatchEscalations", LARS, "", categories=())
    )
    try:
        first = await next_message(watch)
        assert first.WhichOneof("event") == "snapshot" and not first.snapshot.truncated
        assert [i.escalation_id for i in first.snapshot.escalations] == [escalation_id]
        assert first.position == first.snapshot.escalations[0].position
        await esc.call("AcknowledgeEscalation", ack(escalation_id), LARS)
        change = await next_message(watch)
        assert change.WhichOneof("event") == "change" and change.position > first.position
        assert (change.change.escalation_id, change.change.state) == (escalation_id, E.ESCALATION_STATE_ACKNOWLEDGED)
        assert change.change.position == change.position
    finally:
        watch.cancel()
    resumed = esc.stub.WatchEscalations(
        E.WatchEscalationsRequest(resume_after=first.position),
        metadata=esc.meta("WatchEscalations", LARS, "", categories=()),
    )
    try:
        again = await next_message(resumed)
        assert (again.position, again.change) == (change.position, change.change)
    finally:
        resumed.cancel()
    beyond = esc.stub.WatchEscalations(
        E.WatchEscalationsRequest(resume_after=change.position + 1),
        metadata=esc.meta("WatchEscalations", LARS, "", categories=()),
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await next_message(beyond)
    assert set(error_info(caught.value)[1]) == {"resume_after"}


async def test_a_watch_shows_nothing_of_another_organisations_escalations(esc):
    sent = esc.stub.WatchEscalations(
        E.WatchEscalationsRequest(box=E.ESCALATION_BOX_SENT),
        metadata=esc.meta("WatchEscalations", KRISTIN, "", categories=()),
    )
    try:
        first = await next_message(sent)
        assert list(first.snapshot.escalations) == []
        # Another organisation's concern first (Vilde's: neither a target nor the source is Kristin's)...
        await esc.call("RaiseConcern", concern(people.ESKIL), VILDE, patient_id=people.ESKIL)
        # ...then one sent from Kristin's organisation: the only message her watch gets.
        own = esc.open(7)
        message = await next_message(sent)
        assert (message.change.escalation_id, message.change.role) == (own, E.ESCALATION_ROLE_SOURCE)
    finally:
        sent.cancel()


async def test_a_patients_escalations_newest_first_without_measurements(esc):
    older = esc.open(7)
    await esc.call(
        "ResolveEscalation",
        E.ResolveEscalationRequest(
            escalation_id=older, request_id="r-1", outcome=E.ESCALATION_OUTCOME_NO_ACTION_NEEDED
        ),
        LARS,
    )
    newer = esc.open(5)

    async def patient_list(**kw):
        request = E.ListPatientEscalationsRequest(patient_id=people.TOR, **kw)
        return await esc.call("ListPatientEscalations", request, LARS)

    answer = await patient_list()
    assert [e.escalation_id for e in answer.escalations] == [newer, older]
    assert all(not e.measurements and not e.HasField("isbar") for e in answer.escalations)
    assert all(t.name for e in answer.escalations for t in e.targets)  # every target named
    assert [n.kind for n in answer.escalations[1].recorder_notices][-1] == summary_pb2.RECORDER_NOTICE_KIND_RESOLVED
    page_one = await patient_list(page_size=1)
    assert [e.escalation_id for e in page_one.escalations] == [newer]
    page_two = await patient_list(page_size=1, page_token=page_one.next_page_token)
    assert [e.escalation_id for e in page_two.escalations] == [older] and not page_two.next_page_token
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await patient_list(page_size=51)
    assert set(error_info(caught.value)[1]) == {"page_size"}
    # A health person of an organisation the escalations were not shared with learns of none of them.
    stranger = await esc.call("ListPatientEscalations", E.ListPatientEscalationsRequest(patient_id=people.TOR), VILDE)
    assert list(stranger.escalations) == [] and not stranger.next_page_token


# -- GetEscalationStatistics, ExportEscalation -------------------------------------------------------


async def test_statistics_count_per_day_and_level_what_the_organisation_acknowledged_and_what_timed_out(esc):
    now = datetime.now(UTC)
    emergency = esc.open(7)  # Tor
    esc.open(5, patient=people.ESKIL)  # URGENT: nobody takes it within 15 minutes
    await esc.call("AcknowledgeEscalation", ack(emergency), LARS)
    fired = esc.store.fire_next_due(now + timedelta(minutes=20))
    assert fired is not None and fired.timer.episode_id != emergency
    today = day_in_norway(now)
    request = E.GetEscalationStatisticsRequest(start_date=to_date(today), end_date=to_date(today))
    answer = await esc.call("GetEscalationStatistics", request, LARS, patient_id="", categories=())
    rows = {(d.level, d.opened_count, d.acknowledged_count, d.timed_out_count): d for d in answer.days}
    assert set(rows) == {
        (summary_pb2.ESCALATION_LEVEL_URGENT, 1, 0, 1),
        (summary_pb2.ESCALATION_LEVEL_EMERGENCY, 1, 1, 0),
    }
    taken = rows[(summary_pb2.ESCALATION_LEVEL_EMERGENCY, 1, 1, 0)]
    assert timedelta(0) <= taken.median_time_to_acknowledge.ToTimedelta() == taken.p90_time_to_acknowledge.ToTimedelta()
    assert not rows[(summary_pb2.ESCALATION_LEVEL_URGENT, 1, 0, 1)].HasField("median_time_to_acknowledge")
    nobody = await esc.call("GetEscalationStatistics", request, VILDE, patient_id="", categories=())
    assert list(nobody.days) == []
    too_long = E.GetEscalationStatisticsRequest(start_date=to_date(today), end_date=to_date(today + timedelta(days=93)))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await esc.call("GetEscalationStatistics", too_long, LARS, patient_id="", categories=())
    assert error_info(caught.value) == ("INVALID_ARGUMENT", {"end_date": "at most 92 days after start_date"})


async def test_an_escalation_exports_as_a_fhir_task_with_its_communications(esc):
    escalation_id = esc.open(7)
    answer = await esc.call("ExportEscalation", E.ExportEscalationRequest(escalation_id=escalation_id), LARS)
    bundle = json.loads(answer.bundle_json)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert bundle["resourceType"] == "Bundle" and kinds[0] == "Task"
    assert kinds.count("Communication") == 4  # three deliveries and the recorder's PHONE_113
    stranger = await refusal(
        esc.call("ExportEscalation", E.ExportEscalationRequest(escalation_id=escalation_id), VILDE)
    )
    assert stranger == await refusal(
        esc.call("ExportEscalation", E.ExportEscalationRequest(escalation_id=UNKNOWN_ID), VILDE)
    )


# -- EnrolFollowUp, EndFollowUp -----------------------------------------------------------------

ALWAYS_OPEN = E.OpeningHours(
    intervals=[E.OpeningInterval(weekday=d, start_minute=0, end_minute=1440) for d in range(1, 8)]
)


def enrolment(patient_id: str = people.TOR, request_id: str = "e-1", **kw) -> E.EnrolFollowUpRequest:
    values = {"team_name": "Digital hjemmeoppfølging", "opening_hours": ALWAYS_OPEN} | kw
    return E.EnrolFollowUpRequest(patient_id=patient_id, request_id=request_id, **values)


async def record(esc: Escalations, at: datetime, total: int, n: int) -> summary_pb2.RecordVitalSignsResponse:
    """A measurement of Tor recorded through RecordVitalSigns by the recorder (Kristin's organisation)."""
    method = "/samhandling.summary.v1.PatientSummaryService/RecordVitalSigns"
    metadata = asserted(
        esc.settings, "summary", method, actor=KRISTIN, patient_id=people.TOR, data_categories=(VITALS,)
    )
    request = summary_pb2.RecordVitalSignsRequest(
        patient_id=people.TOR, source_record_id=f"enrolled-{n}", vital_signs=vital_signs_input(at, total)
    )
    return await esc.summaries.RecordVitalSigns(request, metadata=metadata)


async def test_an_enrolment_makes_the_team_primary_for_the_next_review_within_its_hours(esc):
    enrolled = (await esc.call("EnrolFollowUp", enrolment(), MARTE)).enrolment
    assert (enrolled.patient_id, enrolled.team_orgnr, enrolled.team_name) == (
        people.TOR,
        FOLLOW_UP_TEAM,
        "Digital hjemmeoppfølging",
    )
    assert (enrolled.enrolled_by.hpr_number, enrolled.enrolled_by.name) == (people.MARTE_HPR, "Marte Mottaksen")
    assert enrolled.opening_hours == ALWAYS_OPEN and enrolled.HasField("start_time")
    assert not enrolled.HasField("end_time") and not enrolled.HasField("ended_by")
    assert (await esc.call("EnrolFollowUp", enrolment(), MARTE)).enrolment == enrolled  # a repeat: the same

    now = datetime.now(UTC)
    assert (await record(esc, now - timedelta(hours=2), 0, 1)).escalation_id == ""
    review = await record(esc, now - timedelta(hours=1), 2, 2)  # a rise of 2 within 24 h
    assert review.escalation_level == summary_pb2.ESCALATION_LEVEL_REVIEW
    opened = await esc.call("GetEscalation", E.GetEscalationRequest(escalation_id=review.escalation_id), MARTE)
    assert [(t.orgnr, t.name, t.kind, t.role) for t in opened.escalation.targets] == [
        (
            FOLLOW_UP_TEAM,
            "Nordlandssykehuset Bodø – akuttmottak",
            E.ESCALATION_TARGET_KIND_FOLLOW_UP_TEAM,
            E.ESCALATION_ROLE_RESPONSIBLE,
        )
    ]  # without the enrolment Tor's home nursing would be primary


async def test_only_the_teams_organisation_ends_an_enrolment_and_a_repeat_changes_nothing(esc):
    enrolled = (await esc.call("EnrolFollowUp", enrolment(), MARTE)).enrolment
    end = E.EndFollowUpRequest(enrolment_id=enrolled.enrolment_id, request_id="end-1", patient_id=people.TOR)
    stranger = await refusal(esc.call("EndFollowUp", end, VILDE))
    unknown = await refusal(
        esc.call(
            "EndFollowUp",
            E.EndFollowUpRequest(enrolment_id="fu-unknown", request_id="end-1", patient_id=people.TOR),
            VILDE,
        )
    )
    assert stranger == unknown and stranger[:2] == (grpc.StatusCode.NOT_FOUND, "ENROLMENT_NOT_FOUND")
    # Another patient's id (the gateway decided for that patient) is answered as an unknown id.
    other = E.EndFollowUpRequest(enrolment_id=enrolled.enrolment_id, request_id="end-1", patient_id=people.ESKIL)
    another_patient = await refusal(esc.call("EndFollowUp", other, MARTE, patient_id=people.ESKIL))
    unknown_to_marte = await refusal(
        esc.call(
            "EndFollowUp",
            E.EndFollowUpRequest(enrolment_id="fu-unknown", request_id="end-1", patient_id=people.ESKIL),
            MARTE,
            patient_id=people.ESKIL,
        )
    )
    assert another_patient == unknown_to_marte and another_patient[:2] == (
        grpc.StatusCode.NOT_FOUND,
        "ENROLMENT_NOT_FOUND",
    )
    # The patient is required, and must be the one the gateway decided for.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await esc.call(
            "EndFollowUp", E.EndFollowUpRequest(enrolment_id=enrolled.enrolment_id, request_id="end-1"), MARTE
        )
    reason, fields = error_info(caught.value)
    assert (caught.value.code(), reason, set(fields)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
        {"patient_id"},
    )
    assert (await refusal(esc.call("EndFollowUp", end, MARTE, patient_id=people.ESKIL)))[:2] == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ASSERTION_PATIENT_MISMATCH",
    )
    assert not (await esc.call("EnrolFollowUp", enrolment(), MARTE)).enrolment.HasField("end_time")  # none ended it
    ended = (await esc.call("EndFollowUp", end, MARTE)).enrolment
    assert ended.HasField("end_time") and ended.end_time.ToDatetime(tzinfo=UTC) >= enrolled.start_time.ToDatetime(
        tzinfo=UTC
    )
    assert (ended.ended_by.hpr_number, ended.ended_by.name) == (people.MARTE_HPR, "Marte Mottaksen")
    assert (await esc.call("EndFollowUp", end, MARTE)).enrolment == ended
    # The request ids are the organisation's: used for another thing, refused.
    reused = await refusal(esc.call("EnrolFollowUp", enrolment(request_id="end-1"), MARTE))
    assert reused[:2] == (grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")
    other_content = await refusal(esc.call("EnrolFollowUp", enrolment(team_name="Et annet team"), MARTE))
    assert other_content[:2] == (grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")


async def test_an_enrolment_is_refused_with_bad_hours_a_missing_field_or_an_unknown_patient(esc):
    def hours(*intervals: tuple[int, int, int], closed: tuple[common_pb2.Date, ...] = ()) -> E.OpeningHours:
        return E.OpeningHours(
            intervals=[E.OpeningInterval(weekday=d, start_minute=a, end_minute=b) for d, a, b in intervals],
            closed_dates=closed,
        )

    for request, violations in (
        (enrolment(opening_hours=hours((0, 480, 930))), {"opening_hours": "weekday must be 1 (Monday) to 7 (Sunday)"}),
        (
            enrolment(opening_hours=hours((1, 930, 480))),
            {"opening_hours": "an opening interval runs from a start to a later end within one day"},
        ),
        (enrolment(opening_hours=E.OpeningHours()), {"opening_hours": "opening hours need at least one interval"}),
        (
            enrolment(opening_hours=hours(*[(1, 480, 930)] * 29)),
            {"opening_hours": "at most 28 intervals and 400 closed days"},
        ),
        (
            enrolment(opening_hours=hours((1, 480, 930), closed=(common_pb2.Date(year=2026, month=2, day=30),))),
            {"opening_hours": "a closed date is not a calendar date"},
        ),
        (E.EnrolFollowUpRequest(patient_id=people.TOR), {"request_id", "team_name", "opening_hours"}),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await esc.call("EnrolFollowUp", request, MARTE)
        reason, fields = error_info(caught.value)
        assert reason == "INVALID_ARGUMENT"
        assert (fields if isinstance(violations, dict) else set(fields)) == violations
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await esc.call("EnrolFollowUp", enrolment(), HOSPITAL_SYSTEM)
    assert set(error_info(caught.value)[1]) == {"enrolled_by"}
    named = summary_pb2.Performer(hpr_number=people.MARTE_HPR, name="Marte Mottaksen")
    by_system = (await esc.call("EnrolFollowUp", enrolment(enrolled_by=named), HOSPITAL_SYSTEM)).enrolment
    assert by_system.enrolled_by == named
    assert (await refusal(esc.call("EnrolFollowUp", enrolment(UNKNOWN_PATIENT), MARTE, patient_id=UNKNOWN_PATIENT)))[
        :2
    ] == (grpc.StatusCode.NOT_FOUND, "PATIENT_NOT_FOUND")
    assert (await refusal(esc.call("EnrolFollowUp", enrolment(), MARTE, patient_id=people.ESKIL)))[:2] == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ASSERTION_PATIENT_MISMATCH",
    )


async def test_a_measurement_that_escalates_wakes_this_replicas_watchers_at_once(esc, monkeypatch):
    monkeypatch.setattr(watch, "POLL_SECONDS", 30.0)  # far too rare: only the wake-up meets the deadline
    call = esc.stub.WatchEscalations(
        E.WatchEscalationsRequest(), metadata=esc.meta("WatchEscalations", LARS, "", categories=())
    )
    try:
        assert list((await next_message(call)).snapshot.escalations) == []
        request = summary_pb2.RecordVitalSignsRequest(
            patient_id=people.TOR, source_record_id="v-1", vital_signs=vital_signs_input(datetime.now(UTC), 7)
        )
        metadata = asserted(
            esc.settings,
            "summary",
            "/samhandling.summary.v1.PatientSummaryService/RecordVitalSigns",
            actor=KRISTIN,
            patient_id=people.TOR,
            data_categories=(VITALS,),
        )
        recorded = await esc.summaries.RecordVitalSigns(request, metadata=metadata)
        assert recorded.escalation_level == summary_pb2.ESCALATION_LEVEL_EMERGENCY
        change = await next_message(call)
        assert change.change.escalation_id == recorded.escalation_id
    finally:
        call.cancel()


# -- every problem of a request named in one answer ---------------------------------------------

LEGEVAKT_SYSTEM = common_pb2.Actor(
    kind=common_pb2.ACTOR_KIND_SYSTEM, client_id="demo-ehr", orgnr_parent="910000012", orgnr_child=LEGEVAKT
)
HOSPITAL_SYSTEM = common_pb2.Actor(
    kind=common_pb2.ACTOR_KIND_SYSTEM, client_id="demo-ehr", orgnr_parent="910000071", orgnr_child=FOLLOW_UP_TEAM
)
NOT_A_NUMBER = "1234"
TOO_LONG_NOTE = "x" * 1001


async def problems_named(esc: Escalations, method: str, request, actor: common_pb2.Actor, patient_id: str) -> set[str]:
    """The field paths of one INVALID_ARGUMENT answer."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await esc.call(method, request, actor, patient_id=patient_id)
    reason, fields = error_info(caught.value)
    assert (caught.value.code(), reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    return set(fields)


async def test_a_change_with_several_problems_names_them_all_at_once_and_changes_nothing(esc):
    wrong_person = summary_pb2.Performer(hpr_number="99000010x", name="")
    for method, request, actor, fields in (
        (
            "AcknowledgeEscalation",
            E.AcknowledgeEscalationRequest(),
            LEGEVAKT_SYSTEM,
            {"escalation_id", "request_id", "acknowledged_by"},
        ),
        (
            "DeclineEscalation",
            E.DeclineEscalationRequest(declined_by=summary_pb2.Performer(hpr_number="990000101")),
            LARS,  # a health person acts for themselves
            {"escalation_id", "request_id", "reason", "declined_by.hpr_number"},
        ),
        (
            "PlanReassessment",
            E.PlanReassessmentRequest(note=TOO_LONG_NOTE),
            LEGEVAKT_SYSTEM,
            {"escalation_id", "request_id", "note", "reassess_time", "planned_by"},
        ),
        (
            "ResolveEscalation",
            E.ResolveEscalationRequest(note=TOO_LONG_NOTE, resolved_by=wrong_person),
            LEGEVAKT_SYSTEM,
            {"escalation_id", "request_id", "note", "outcome", "resolved_by.hpr_number", "resolved_by.name"},
        ),
    ):
        assert await problems_named(esc, method, request, actor, people.TOR) == fields, method
    # The same for an escalation that exists: refused before anything is looked up or changed.
    escalation_id = esc.open(7)
    before = esc.store.get(escalation_id)
    bad = E.ResolveEscalationRequest(escalation_id=escalation_id, outcome=E.ESCALATION_OUTCOME_OTHER)
    assert await problems_named(esc, "ResolveEscalation", bad, LEGEVAKT_SYSTEM, people.TOR) == {
        "request_id",
        "note",  # required for OTHER
        "resolved_by",
    }
    assert esc.store.get(escalation_id) == before


async def test_a_concern_with_several_problems_names_them_all_at_once_and_raises_nothing(esc):
    assert await problems_named(
        esc, "RaiseConcern", E.RaiseConcernRequest(patient_id=NOT_A_NUMBER), LEGEVAKT_SYSTEM, people.ESKIL
    ) == {
        "patient_id",
        "level",
        "note",
        "request_id",
        "raised_by",
    }
    too_long = concern(note=TOO_LONG_NOTE, request_id="", level=summary_pb2.ESCALATION_LEVEL_UNSPECIFIED)
    assert await problems_named(esc, "RaiseConcern", too_long, KRISTIN, people.ESKIL) == {"level", "note", "request_id"}
    assert esc.store.open_episode(people.ESKIL) is None


async def test_an_enrolment_or_end_with_several_problems_names_them_all_at_once(esc):
    enrol = E.EnrolFollowUpRequest(patient_id=NOT_A_NUMBER)
    assert await problems_named(esc, "EnrolFollowUp", enrol, HOSPITAL_SYSTEM, people.TOR) == {
        "patient_id",
        "request_id",
        "team_name",
        "opening_hours",
        "enrolled_by",
    }
    end = E.EndFollowUpRequest(patient_id=NOT_A_NUMBER)
    assert await problems_named(esc, "EndFollowUp", end, HOSPITAL_SYSTEM, people.TOR) == {
        "patient_id",
        "enrolment_id",
        "request_id",
        "ended_by",
    }


async def test_an_unknown_patient_is_not_found_before_any_problem_of_the_request_is_named(esc):
    # The gateway answers PATIENT_NOT_FOUND to anyone but the patient as it answers a reservation:
    # were the problems named first, a malformed request would tell reserved from unknown.
    for method, request, actor in (
        ("RaiseConcern", E.RaiseConcernRequest(patient_id=UNKNOWN_PATIENT), LEGEVAKT_SYSTEM),
        ("ListPatientEscalations", E.ListPatientEscalationsRequest(patient_id=UNKNOWN_PATIENT, page_size=1000), LARS),
        ("EnrolFollowUp", E.EnrolFollowUpRequest(patient_id=UNKNOWN_PATIENT), HOSPITAL_SYSTEM),
        ("EndFollowUp", E.EndFollowUpRequest(patient_id=UNKNOWN_PATIENT), HOSPITAL_SYSTEM),
    ):
        assert await refusal(esc.call(method, request, actor, patient_id=UNKNOWN_PATIENT)) == (
            grpc.StatusCode.NOT_FOUND,
            "PATIENT_NOT_FOUND",
            "no such patient",
        ), method


async def test_a_list_with_several_problems_names_them_all_at_once(esc):
    bad_page = {"page_size": 1000, "page_token": "not a token"}
    patients = E.ListPatientEscalationsRequest(patient_id=NOT_A_NUMBER, **bad_page)
    assert await problems_named(esc, "ListPatientEscalations", patients, LARS, people.TOR) == {
        "patient_id",
        "page_size",
        "page_token",
    }
    inbox_request = E.ListEscalationsRequest(box=99, **bad_page)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await esc.call("ListEscalations", inbox_request, LARS, patient_id="", categories=())
    assert set(error_info(caught.value)[1]) == {"box", "page_size", "page_token"}
    statistics = E.GetEscalationStatisticsRequest(end_date=common_pb2.Date(year=2026, month=2, day=30))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await esc.call("GetEscalationStatistics", statistics, LARS, patient_id="", categories=())
    assert set(error_info(caught.value)[1]) == {"start_date", "end_date"}
    watch = esc.stub.WatchEscalations(
        E.WatchEscalationsRequest(box=99, resume_after=-1),
        metadata=esc.meta("WatchEscalations", LARS, "", categories=()),
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await next_message(watch)
    assert set(error_info(caught.value)[1]) == {"box", "resume_after"}


async def test_a_watch_of_pushed_only_leaves_a_review_out_and_answers_its_change_with_a_heartbeat(esc):
    """REVIEW is listed, not pushed (docs/escalation.md "API"): with `pushed_only` the snapshot
    holds only what was pushed, and a change to a REVIEW comes as a heartbeat at its position, so a
    client alerting on every change never alerts on one; without it the REVIEW comes, pushed false."""
    review = await esc.call(
        "RaiseConcern",
        concern(people.ESKIL, level=summary_pb2.ESCALATION_LEVEL_REVIEW),
        KRISTIN,
        patient_id=people.ESKIL,
    )
    review_id = review.escalation.escalation_id
    urgent_id = esc.open(5)  # Tor: home nursing and the legevakt, pushed
    every = await esc.call("ListEscalations", E.ListEscalationsRequest(), SIGRID, patient_id="", categories=())
    assert {(i.escalation_id, i.pushed) for i in every.escalations} == {(review_id, False), (urgent_id, True)}

    watch = esc.stub.WatchEscalations(
        E.WatchEscalationsRequest(pushed_only=True), metadata=esc.meta("WatchEscalations", SIGRID, "", categories=())
    )
    try:
        first = await next_message(watch)
        assert [i.escalation_id for i in first.snapshot.escalations] == [urgent_id]
        await esc.call("AcknowledgeEscalation", ack(review_id), SIGRID, patient_id=people.ESKIL)
        quiet = await next_message(watch)
        assert quiet.WhichOneof("event") is None and quiet.position > first.position  # a heartbeat
        await esc.call("AcknowledgeEscalation", ack(urgent_id), SIGRID)
        change = await next_message(watch)
        assert (change.change.escalation_id, change.change.pushed) == (urgent_id, True)
        assert change.position > quiet.position
    finally:
        watch.cancel()

    sent = esc.stub.WatchEscalations(
        E.WatchEscalationsRequest(box=E.ESCALATION_BOX_SENT, pushed_only=True),
        metadata=esc.meta("WatchEscalations", KRISTIN, "", categories=()),
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await next_message(sent)
    assert (caught.value.code(), set(error_info(caught.value)[1])) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        {"pushed_only"},
    )
