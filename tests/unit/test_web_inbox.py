"""The escalation inbox over the real web wrapper with a FakeCaller: the cards come by level,
then deadline, with the level in words and as a colour class, the deadline as "Kvitter innen
kl. HH.MM" (no script needed) and the server's time for the countdown; the opened escalation
shows the ISBAR view and only the forms its state allows, each with a request id of its own;
a double submit sends the same request id; consent's refusal gives the emergency dialog, whose
justification goes with the call (and with every action after it); refusals are in words. After
an emergency opening a form problem or a refusal reads nothing again (no second emergency
access): the page answers from its own fields, with "Åpne igjen" the only way to read again."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from gateway.web import inbox
from gateway.web.inbox import ACKNOWLEDGE, DECLINE, GET_ESCALATION, LIST_ESCALATIONS, RESOLVE
from gateway.web.sessions import session_ended
from samhandling.summary.v1 import escalation_pb2 as esc
from samhandling.summary.v1 import summary_pb2
from services.platform.error_reasons import Reason
from services.platform.errors import invalid_argument
from tests.fixtures import people
from tests.support_web import FakeCaller, FakeSessions, form_post, log_in, make_session, web_client

LEGEVAKT = "910000039"  # Bodø interkommunale legevakt (seeds/organisations.json)
HOME_NURSING = "910000020"
LARS = make_session(
    "inbox",
    person_pid=people.LARS,
    person_name="Lars Legevaktsen",
    scopes=frozenset({"openid", "profile", "nhn:samhandling/escalation.inbox", "nhn:samhandling/summary.read"}),
    orgnr_parent="910000012",
    orgnr_child=LEGEVAKT,
)
NOW = datetime(2026, 12, 5, 11, 0, tzinfo=UTC)  # 12.00 in Oslo


def stamp(moment: datetime) -> Timestamp:
    made = Timestamp()
    made.FromDatetime(moment)
    return made


def item(escalation_id: str, level: int, deadline_minutes: int | None) -> esc.EscalationInboxItem:
    made = esc.EscalationInboxItem(
        escalation_id=escalation_id,
        level=level,  # type: ignore[arg-type]
        state=esc.ESCALATION_STATE_OPEN,
        role=esc.ESCALATION_ROLE_RESPONSIBLE,
        open_time=stamp(NOW - timedelta(minutes=10)),
        pushed=True,
    )
    if deadline_minutes is not None:
        made.deadline_time.CopyFrom(stamp(NOW + timedelta(minutes=deadline_minutes)))
    return made


def escalation(state: int = esc.ESCALATION_STATE_OPEN) -> esc.Escalation:
    return esc.Escalation(
        escalation_id="esc-1",
        patient_id=people.TOR,
        level=summary_pb2.ESCALATION_LEVEL_EMERGENCY,
        state=state,  # type: ignore[arg-type]
        source_orgnr=HOME_NURSING,
        open_time=stamp(NOW - timedelta(minutes=2)),
        deadline_time=stamp(NOW + timedelta(minutes=3)),
        targets=[
            esc.EscalationTarget(
                orgnr=LEGEVAKT,
                name="Bodø interkommunale legevakt",
                kind=esc.ESCALATION_TARGET_KIND_LEGEVAKT,
                role=esc.ESCALATION_ROLE_RESPONSIBLE,
                added_because=esc.ESCALATION_NOTICE_REASON_OPENED,
                add_time=stamp(NOW - timedelta(minutes=2)),
            )
        ],
        events=[
            esc.EscalationEvent(kind=esc.ESCALATION_EVENT_KIND_OPENED, event_time=stamp(NOW - timedelta(minutes=2)))
        ],
        isbar=esc.Isbar(
            identify="Tor Tenktsen, målt av hjemmesykepleien",
            situation="NEWS2 7: akutt",
            background="Første måling",
            assessment="RR 3",
            recommendation="Ring 113",
        ),
    )


def opened(request: esc.GetEscalationRequest, state: int = esc.ESCALATION_STATE_OPEN) -> esc.GetEscalationResponse:
    assert request.escalation_id == "esc-1"
    return esc.GetEscalationResponse(escalation=escalation(state), server_time=stamp(NOW))


def client_for(caller: FakeCaller):
    sessions = FakeSessions()
    client = web_client(inbox.routes(), caller=caller, sessions=sessions)
    log_in(client, sessions, LARS)
    return client


def test_cards_come_by_level_then_deadline_with_the_level_in_words_and_colour() -> None:
    listed = esc.ListEscalationsResponse(
        escalations=[
            item("esc-urgent-late", summary_pb2.ESCALATION_LEVEL_URGENT, 14),
            item("esc-review", summary_pb2.ESCALATION_LEVEL_REVIEW, None),
            item("esc-emergency", summary_pb2.ESCALATION_LEVEL_EMERGENCY, 4),
            item("esc-urgent-soon", summary_pb2.ESCALATION_LEVEL_URGENT, -1),
        ],
        server_time=stamp(NOW),
    )
    caller = FakeCaller({LIST_ESCALATIONS: listed})
    page = client_for(caller).get("/ansatt/eskaleringer")

    assert page.status_code == 200
    order = re.findall(r'data-escalation="([^"]+)" data-level="([a-z_]+)"', page.text)
    assert order == [
        ("esc-emergency", "emergency"),
        ("esc-urgent-soon", "urgent"),
        ("esc-urgent-late", "urgent"),
        ("esc-review", "review"),
    ]
    assert '<span class="level-badge level-emergency">Akutt</span>' in page.text  # word and colour class
    assert "Kvitter innen kl. 12.04" in page.text  # 4 minutes after 12.00 in Oslo, no script needed
    assert "Fristen gikk ut kl. 11.59" in page.text
    live = json.loads(re.search(r'<script type="application/json" id="inbox-live">(.*?)</script>', page.text)[1])
    assert live["serverTime"] == "2026-12-05T11:00:00Z" and live["texts"]["left"] == "{time} igjen"
    ((_, rpc, request),) = caller.calls
    assert rpc == LIST_ESCALATIONS and request.box == esc.ESCALATION_BOX_RECEIVED and request.page_size == 50
    assert people.TOR not in page.text  # nothing of a patient is on the list (the items have none)


def test_the_sent_box_asks_for_the_escalations_sent_from_us() -> None:
    caller = FakeCaller({LIST_ESCALATIONS: esc.ListEscalationsResponse(server_time=stamp(NOW))})
    page = client_for(caller).get("/ansatt/eskaleringer?boks=sendt&avsluttede=1")
    assert page.status_code == 200 and "Dere har ikke sendt noen eskaleringer som er åpne." in page.text
    request = caller.calls[0][2]
    assert request.box == esc.ESCALATION_BOX_SENT and request.include_resolved


def test_an_opened_escalation_shows_the_isbar_and_the_forms_its_state_allows() -> None:
    caller = FakeCaller({GET_ESCALATION: opened})
    page = client_for(caller).get("/ansatt/eskaleringer/esc-1")

    assert page.status_code == 200
    assert "Ring 113" in page.text and "Tor Tenktsen, målt av hjemmesykepleien" in page.text
    actions = re.findall(r'name="handling" value="([a-z]+)"', page.text)
    assert actions == ["kvitter", "avvis", "avslutt"]  # no plan for an open EMERGENCY
    ids = re.findall(r'name="foresporsel" value="([^"]+)"', page.text)
    assert len(set(ids)) == 3  # each form its own request id


def test_a_double_submit_sends_the_same_request_id_and_then_shows_the_escalation() -> None:
    caller = FakeCaller(
        {
            GET_ESCALATION: opened,
            ACKNOWLEDGE: esc.AcknowledgeEscalationResponse(escalation=escalation(esc.ESCALATION_STATE_ACKNOWLEDGED)),
        }
    )
    client = client_for(caller)
    fields = {"handling": "kvitter", "foresporsel": "form-1"}
    first = form_post(client, "/ansatt/eskaleringer/esc-1", fields, LARS)
    second = form_post(client, "/ansatt/eskaleringer/esc-1", fields, LARS)

    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == "/ansatt/eskaleringer/esc-1?utfort=acknowledged"
    sent = [request for _, rpc, request in caller.calls if rpc == ACKNOWLEDGE]
    assert [(r.escalation_id, r.request_id) for r in sent] == [("esc-1", "form-1")] * 2
    assert caller.justifications == ["", ""]
    # The name the access token lacks, from the login; the HPR number is the token's own.
    assert {(r.acknowledged_by.hpr_number, r.acknowledged_by.name) for r in sent} == {("", "Lars Legevaktsen")}


def test_form_problems_and_refusals_are_said_in_words() -> None:
    refused = Reason.ESCALATION_ALREADY_ACKNOWLEDGED.error("taken")
    caller = FakeCaller({GET_ESCALATION: opened, ACKNOWLEDGE: refused})
    client = client_for(caller)

    missing = form_post(client, "/ansatt/eskaleringer/esc-1", {"handling": "avvis", "foresporsel": "f2"}, LARS)
    assert missing.status_code == 400 and "Skriv hvorfor dere sender den videre" in missing.text
    other = form_post(
        client, "/ansatt/eskaleringer/esc-1", {"handling": "avslutt", "foresporsel": "f3", "utfall": "other"}, LARS
    )
    assert other.status_code == 400 and "Skriv i notatet hva utfallet var." in other.text
    assert DECLINE not in caller.rpcs() and RESOLVE not in caller.rpcs()  # nothing sent with a problem

    taken = form_post(client, "/ansatt/eskaleringer/esc-1", {"handling": "kvitter", "foresporsel": "f4"}, LARS)
    assert taken.status_code == 400  # FAILED_PRECONDITION
    assert "Eskaleringen er allerede kvittert." in taken.text and "ESCALATION_ALREADY_ACKNOWLEDGED" in taken.text

    caller.answers[ACKNOWLEDGE] = invalid_argument({"acknowledged_by.name": "required"})
    invalid = form_post(client, "/ansatt/eskaleringer/esc-1", {"handling": "kvitter", "foresporsel": "f5"}, LARS)
    assert invalid.status_code == 400 and "acknowledged_by.name: required" in invalid.text  # the field named

    # After a normal opening a problem reads the escalation again, normally, keeping what was typed.
    caller.answers[DECLINE] = refused
    typed = {"handling": "avvis", "foresporsel": "f6", "grunn": "Ingen lege <ledig>"}
    declined = form_post(client, "/ansatt/eskaleringer/esc-1", typed, LARS)
    assert declined.status_code == 400 and "Ring 113" in declined.text  # read again
    assert ">Ingen lege &lt;ledig&gt;</textarea>" in declined.text
    assert caller.rpcs()[-2:] == [DECLINE, GET_ESCALATION] and set(caller.justifications) == {""}


def test_consent_refusing_the_read_offers_the_emergency_opening_which_carries_the_justification() -> None:
    caller = FakeCaller({GET_ESCALATION: Reason.CONSENT_DENIED.error("not permitted")})
    client = client_for(caller)
    page = client.get("/ansatt/eskaleringer/esc-1")
    assert page.status_code == 403
    assert "Nødåpning" in page.text and 'name="begrunnelse"' in page.text and "Ring 113" not in page.text

    blank = form_post(client, "/ansatt/eskaleringer/esc-1", {"handling": "nodapning", "begrunnelse": "  "}, LARS)
    assert blank.status_code == 400 and "Skriv hvorfor du må åpne opplysningene nå" in blank.text

    caller.answers[GET_ESCALATION] = opened
    caller.answers[ACKNOWLEDGE] = esc.AcknowledgeEscalationResponse(
        escalation=escalation(esc.ESCALATION_STATE_ACKNOWLEDGED)
    )
    why = "Bevisstløs pasient, trenger siste målinger"
    emergency = form_post(client, "/ansatt/eskaleringer/esc-1", {"handling": "nodapning", "begrunnelse": why}, LARS)
    assert emergency.status_code == 200 and "Ring 113" in emergency.text and "⚠ Nødåpning" in emergency.text
    assert f'name="begrunnelse" value="{why}"' in emergency.text  # the forms carry it on
    assert caller.justifications[-1] == why

    acknowledged = form_post(
        client, "/ansatt/eskaleringer/esc-1", {"handling": "kvitter", "foresporsel": "f5", "begrunnelse": why}, LARS
    )
    assert acknowledged.status_code == 200 and "Eskaleringen er kvittert." in acknowledged.text
    assert caller.rpcs()[-1] == ACKNOWLEDGE and caller.justifications[-1] == why


def emergency_fields(page_text: str) -> dict[str, str | list[str]]:
    """What each form of a page drawn after an emergency opening carries besides its own fields."""
    fields: dict[str, str | list[str]] = {}
    first_form = page_text[page_text.index('class="action-form"') :].split("</form>")[0]
    for name, value in re.findall(r'name="(begrunnelse|niva|tilstand|skjema)" value="([^"]*)"', first_form):
        if name == "skjema":
            fields.setdefault(name, [])
            assert isinstance(fields[name], list)
            fields[name].append(value)
        else:
            fields[name] = value
    return fields


def test_after_an_emergency_opening_a_form_problem_or_a_refusal_reads_nothing_again() -> None:
    caller = FakeCaller({GET_ESCALATION: opened, DECLINE: Reason.ESCALATION_ALREADY_ACKNOWLEDGED.error("taken")})
    client = client_for(caller)
    why = "Bevisstløs pasient, trenger siste målinger"
    path = "/ansatt/eskaleringer/esc-1"
    emergency = form_post(client, path, {"handling": "nodapning", "begrunnelse": why}, LARS)
    assert emergency.status_code == 200 and "Tor Tenktsen" in emergency.text
    carried = emergency_fields(emergency.text)
    assert carried == {
        "begrunnelse": why,
        "niva": "emergency",
        "tilstand": "open",
        "skjema": ["kvitter", "avvis", "avslutt"],
    }

    def opened_in_an_emergency() -> list[str]:
        return [j for (_, rpc, _), j in zip(caller.calls, caller.justifications, strict=True) if rpc == GET_ESCALATION]

    assert opened_in_an_emergency() == [why]

    # A form problem: nothing sent, nothing read; the problem, the forms, what was typed, "Åpne igjen".
    blank = form_post(client, path, {"handling": "avvis", "foresporsel": "f1", "grunn": "   ", **carried}, LARS)
    assert blank.status_code == 400
    assert "Skriv hvorfor dere sender den videre" in blank.text and 'aria-invalid="true"' in blank.text
    assert caller.rpcs() == [GET_ESCALATION]  # the opening alone
    assert "Tor Tenktsen" not in blank.text and "Ring 113" not in blank.text and people.TOR not in blank.text
    assert '<span class="level-badge level-emergency">Akutt</span>' in blank.text
    assert '<dd class="state">Venter på kvittering</dd>' in blank.text and ">esc-1</dd>" in blank.text
    assert re.findall(r'name="handling" value="([a-z]+)"', blank.text) == ["nodapning", "kvitter", "avvis", "avslutt"]
    assert "Åpne igjen (ny nødåpning logges)" in blank.text
    assert emergency_fields(blank.text) == carried  # the forms carry the justification and the page on

    # A refusal: the change (its own emergency access) and nothing read after it.
    typed = {"handling": "avvis", "foresporsel": "f2", "grunn": "Ingen lege ledig", **carried}
    taken = form_post(client, path, typed, LARS)
    assert taken.status_code == 400 and "Eskaleringen er allerede kvittert." in taken.text
    assert "ESCALATION_ALREADY_ACKNOWLEDGED" in taken.text and ">Ingen lege ledig</textarea>" in taken.text
    assert caller.rpcs() == [GET_ESCALATION, DECLINE] and caller.justifications[-1] == why
    assert "Tor Tenktsen" not in taken.text and "Åpne igjen (ny nødåpning logges)" in taken.text
    assert opened_in_an_emergency() == [why]

    # "Åpne igjen": the one explicit read, in an emergency.
    again = form_post(client, path, {"handling": "nodapning", "begrunnelse": why}, LARS)
    assert again.status_code == 200 and "Tor Tenktsen" in again.text and "⚠ Nødåpning" in again.text
    assert opened_in_an_emergency() == [why, why]

    # A session that ended under the change is the error page (log in again), as anywhere.
    caller.answers[ACKNOWLEDGE] = session_ended()
    ended = form_post(client, path, {"handling": "kvitter", "foresporsel": "f4", **carried}, LARS)
    assert ended.status_code == 401 and "WEB_SESSION_ENDED" in ended.text and "Åpne igjen" not in ended.text
    assert caller.rpcs()[-1] == ACKNOWLEDGE

    # The page's own fields are display only, but what is not one of the page's values is refused.
    calls = len(caller.calls)
    forged = form_post(client, path, {"handling": "kvitter", "foresporsel": "f3", **carried, "niva": "x"}, LARS)
    assert forged.status_code == 400 and "Feilkode: INVALID_ARGUMENT" in forged.text
    assert len(caller.calls) == calls  # nothing sent, nothing read


def test_another_consoles_session_gets_no_inbox() -> None:
    sessions = FakeSessions()
    client = web_client(inbox.routes(), caller=FakeCaller(), sessions=sessions)
    log_in(client, sessions, make_session("capacity"))
    answer = client.get("/ansatt/eskaleringer")
    assert answer.status_code == 403 and "WEB_WRONG_CONSOLE" in answer.text
