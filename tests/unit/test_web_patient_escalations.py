"""The patient's own escalations (issue 17) over the real web wrapper with a FakeCaller: each
escalation with its level and state in words, the organisations told (names and times, one
that passed it on), who took charge (name and organisation), how it ended, a link to the
access log; the page asks for the patient acted for (a guardian's child), pages with the
portal's paging, is linked from the navigation, and shows no person number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from gateway.web import patient
from gateway.web.patient import LIST_PATIENT_ESCALATIONS
from samhandling.summary.v1 import escalation_pb2 as esc
from samhandling.summary.v1 import summary_pb2
from tests.fixtures import people
from tests.support_web import FakeCaller, FakeSessions, log_in, make_session, web_client

LEGEVAKT = "910000039"  # Bodø interkommunale legevakt (seeds/organisations.json)
HOME_NURSING = "910000020"  # Bodø kommune – hjemmesykepleie
OPENED = datetime(2026, 12, 5, 11, 0, tzinfo=UTC)  # 12.00 in Oslo


def stamp(moment: datetime) -> Timestamp:
    made = Timestamp()
    made.FromDatetime(moment)
    return made


def target(orgnr: str, name: str, kind: int, minutes: int, *, declined: bool = False) -> esc.EscalationTarget:
    return esc.EscalationTarget(
        orgnr=orgnr,
        name=name,
        kind=kind,  # type: ignore[arg-type]
        role=esc.ESCALATION_ROLE_RESPONSIBLE,
        add_time=stamp(OPENED + timedelta(minutes=minutes)),
        last_notice_time=stamp(OPENED + timedelta(minutes=minutes)),
        declined=declined,
    )


def resolved_escalation(patient_id: str) -> esc.Escalation:
    """An EMERGENCY that home nursing passed on, the legevakt (told again 10 minutes later) took
    (Lars) and closed."""
    legevakt = target(LEGEVAKT, "Bodø interkommunale legevakt", esc.ESCALATION_TARGET_KIND_LEGEVAKT, 3)
    legevakt.last_notice_time.CopyFrom(stamp(OPENED + timedelta(minutes=13)))
    return esc.Escalation(
        escalation_id="esc-1",
        patient_id=patient_id,
        level=summary_pb2.ESCALATION_LEVEL_EMERGENCY,
        state=esc.ESCALATION_STATE_RESOLVED,
        outcome=esc.ESCALATION_OUTCOME_SENT_TO_LEGEVAKT,
        source_orgnr="910000012",
        open_time=stamp(OPENED),
        targets=[
            target(HOME_NURSING, "", esc.ESCALATION_TARGET_KIND_HOME_NURSING, 0, declined=True),
            legevakt,
        ],
        events=[
            esc.EscalationEvent(kind=esc.ESCALATION_EVENT_KIND_OPENED, event_time=stamp(OPENED)),
            esc.EscalationEvent(
                kind=esc.ESCALATION_EVENT_KIND_ACKNOWLEDGED,
                event_time=stamp(OPENED + timedelta(minutes=4)),
                orgnr=LEGEVAKT,
                person=summary_pb2.Performer(hpr_number="990000102", name="Lars Legevaktsen"),
            ),
            esc.EscalationEvent(
                kind=esc.ESCALATION_EVENT_KIND_RESOLVED,
                event_time=stamp(OPENED + timedelta(minutes=40)),
                orgnr=LEGEVAKT,
                outcome=esc.ESCALATION_OUTCOME_SENT_TO_LEGEVAKT,
            ),
        ],
    )


def open_escalation(patient_id: str) -> esc.Escalation:
    return esc.Escalation(
        escalation_id="esc-2",
        patient_id=patient_id,
        level=summary_pb2.ESCALATION_LEVEL_URGENT_REVIEW,
        state=esc.ESCALATION_STATE_OPEN,
        open_time=stamp(OPENED + timedelta(days=1)),
        chain_exhausted=True,
        targets=[target(HOME_NURSING, "", esc.ESCALATION_TARGET_KIND_HOME_NURSING, 24 * 60)],
    )


def fixture(session=None, next_token: str = ""):  # type: ignore[no-untyped-def]
    session = session or make_session()
    patient_id = session.acting_for or session.person_pid
    caller = FakeCaller(
        answers={
            LIST_PATIENT_ESCALATIONS: esc.ListPatientEscalationsResponse(
                escalations=[open_escalation(patient_id), resolved_escalation(patient_id)],
                next_page_token=next_token,
            )
        }
    )
    sessions = FakeSessions()
    client = web_client(patient.routes(), caller=caller, sessions=sessions)
    log_in(client, sessions, session)
    return client, caller


def test_each_escalation_says_who_was_told_who_took_charge_and_how_it_ended() -> None:
    client, caller = fixture()
    answer = client.get("/pasient/forverring")
    assert answer.status_code == 200, answer.text
    page = answer.text
    assert "<h1>Varsler om forverring</h1>" in page
    assert '<a href="/pasient/forverring" aria-current="page">Varsler om forverring</a>' in page
    # The level and the state in words.
    assert "Akutt (med en gang)" in page and "Avsluttet" in page
    assert "Snarlig vurdering (innen en halvtime)" in page and "Venter på at noen tar ansvar" in page
    assert "Meldt 5. desember 2026 kl. 12.00" in page and "Meldt 6. desember 2026 kl. 12.00" in page
    # Who was told, by name (from the register when the answer has none), kind, role and time.
    assert (
        "Bodø kommune – hjemmesykepleie (hjemmesykepleien, skal ta ansvar): fikk beskjed 5. desember 2026 kl. 12.00"
        " – sendte det videre" in page
    )
    assert (
        "Bodø interkommunale legevakt (legevakten, skal ta ansvar): fikk beskjed 5. desember 2026 kl. 12.03;"
        " sist 5. desember 2026 kl. 12.13" in page
    )
    assert "Ingen flere tjenester var igjen å varsle." in page
    # Who took charge (name and organisation), how it ended; the open one: nobody yet.
    assert "<li>Lars Legevaktsen, Bodø interkommunale legevakt, 5. desember 2026 kl. 12.04</li>" in page
    assert "Ingen har tatt ansvar ennå." in page
    assert "Du ble sendt til legevakten (5. desember 2026 kl. 12.40)" in page
    assert page.count("Hvordan det endte") == 1  # the open one has not ended
    assert '<a href="/pasient/logg">' in page
    # No person number, no escalation id in the page.
    assert people.ESKIL not in page and "990000102" not in page and "esc-1" not in page
    ((_, rpc, request),) = caller.calls
    assert rpc == LIST_PATIENT_ESCALATIONS
    assert request == esc.ListPatientEscalationsRequest(patient_id=people.ESKIL, page_size=20)


def test_the_times_are_oslo_time_in_the_pages_language() -> None:
    client, _ = fixture(make_session(lang="en"))
    page = client.get("/pasient/forverring").text
    assert "<h1>Alerts about worsening</h1>" in page
    assert "Emergency (at once)" in page and "You were sent to the out-of-hours clinic" in page
    assert "Lars Legevaktsen, Bodø interkommunale legevakt," in page
    assert "Raised 5 December 2026 at 12:00" in page  # 11.00 UTC is 12.00 in Oslo


def test_a_guardian_sees_the_childs_escalations() -> None:
    guardian = make_session(
        person_pid=people.MIKKEL,
        person_name="Mikkel Midlertidigsen",
        acting_for=people.FRIDA,
        representation_id="rep-1",
        data={"acting_for_name": "Frida Fantasisen"},
    )
    client, caller = fixture(guardian)
    page = client.get("/pasient/forverring").text
    assert "du handler for Frida Fantasisen" in page and "Akutt (med en gang)" in page
    assert caller.calls[0][2].patient_id == people.FRIDA
    assert people.FRIDA not in page and people.MIKKEL not in page


def test_pages_follow_the_next_page_token_and_refuse_a_malformed_one() -> None:
    client, caller = fixture(next_token="abc_2")
    page = client.get("/pasient/forverring").text
    assert '<a href="/pasient/forverring?side=abc_2">' in page
    assert '<a href="/pasient/forverring">' not in page  # no "first page" link on the first page
    page = client.get("/pasient/forverring?side=abc_2").text
    assert caller.calls[-1][2].page_token == "abc_2"
    assert '<a href="/pasient/forverring">' in page
    client.get("/pasient/forverring?side=%3Cscript%3E")
    assert caller.calls[-1][2].page_token == ""


def test_no_escalations_says_so() -> None:
    caller = FakeCaller(answers={LIST_PATIENT_ESCALATIONS: esc.ListPatientEscalationsResponse()})
    sessions = FakeSessions()
    client = web_client(patient.routes(), caller=caller, sessions=sessions)
    log_in(client, sessions, make_session())
    page = client.get("/pasient/forverring").text
    assert "Det er ikke sendt noen varsler om forverring om deg." in page
