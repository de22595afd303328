"""The patient pages over the real web wrapper with a FakeCaller: what each page asks the
Enforcer for (always the patient acted for, never a person number in a URL), what it shows
in both languages, the rule draft -> confirmation -> CreateRule flow with the reservation's
extra check, receipts verified (and refused when forged), the log's filters and paging, and a
log entry's proof verified with the pinned key (commitments shown as such, never the values)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from joserfc import jws
from joserfc.jwk import ECKey
from opentelemetry.sdk.trace import TracerProvider

from gateway.http.app import create_app
from gateway.web import patient, plain_language
from gateway.web.app import create_web_mount
from gateway.web.context import Web, WebSession
from gateway.web.i18n_loader import texts
from gateway.web.receipts import check_receipt
from samhandling.audit.v1 import audit_pb2
from samhandling.common.v1 import common_pb2 as C
from samhandling.consent.v1 import consent_pb2
from samhandling.summary.v1 import summary_pb2
from services.audit.checkpoints import NoteSigner
from services.platform.errors import ServiceError, not_found, permission_denied
from tests.fixtures import people
from tests.fixtures.event_proofs import PID, WORDS, build_v2
from tests.fixtures.event_proofs import VKEY as PROOF_VKEY
from tests.support_web import (
    ORIGIN,
    FakeCaller,
    FakeSessions,
    TestClient,
    form_post,
    log_in,
    make_session,
    new_session,
    seeded_directory,
)

KEY = ECKey.generate_key("P-256", parameters={"kid": "receipt-test"}, private=True)


class Keys:
    async def jwks(self) -> dict[str, Any]:
        public = KEY.as_dict(private=False)
        return {"keys": [public | {"kid": "receipt-test", "alg": "ES256"}]}


def sign(rule: consent_pb2.Rule, **changes: Any) -> str:
    content = {
        "rule_id": rule.rule_id,
        "version": rule.version,
        "patient_id": rule.patient_id,
        "rule_type": consent_pb2.RuleType.Name(rule.rule_type).removeprefix("RULE_TYPE_"),
        "state": consent_pb2.RuleState.Name(rule.state).removeprefix("RULE_STATE_"),
        "data_categories": [],
        "purposes": [],
        **changes,
    }
    return jws.serialize_compact(
        {"alg": "ES256", "kid": "receipt-test", "typ": "samhandling-consent-receipt+jws"},
        json.dumps(content).encode(),
        KEY,
    )


def block_rule(version: int = 1, state: int = consent_pb2.RULE_STATE_ACTIVE) -> consent_pb2.Rule:
    rule = consent_pb2.Rule(
        rule_id="rule-abc",
        version=version,
        patient_id=people.ESKIL,
        rule_type=consent_pb2.RULE_TYPE_BLOCK_PERSON,
        state=state,
    )
    rule.actor.hpr_number = people.SIGRID_HPR
    rule.create_time.FromDatetime(datetime(2026, 12, 5, 9, 30, tzinfo=UTC))
    rule.receipt = sign(rule)
    return rule


def client_for(caller: FakeCaller, sessions: FakeSessions, audit_vkey: str | None = PROOF_VKEY) -> TestClient:
    web = Web(
        caller=caller,
        sessions=sessions,
        directory=seeded_directory(),
        receipt_keys=Keys(),  # type: ignore[arg-type]
        audit_vkey=audit_vkey,
        expected_origin=None,
        production=False,
    )
    provider = TracerProvider()
    mount = create_web_mount(web, patient.routes(), provider)
    app = create_app(None, Keys(), provider, routes=[], web=mount)  # type: ignore[arg-type]
    return TestClient(app, base_url=ORIGIN, follow_redirects=False)


@pytest.fixture
def world() -> tuple[FakeCaller, FakeSessions, TestClient, WebSession]:
    summary = summary_pb2.GetPatientSummaryResponse(patient_id=people.ESKIL)
    summary.municipal_services.add(iplos_display="Hjemmesykepleie", active=True, provider_orgnr="910000020")
    summary.latest_vital_signs.spo2 = 96
    summary.latest_news2.CopyFrom(
        summary_pb2.News2Score(total=1, clinical_risk=summary_pb2.CLINICAL_RISK_LOW, scored=True)
    )
    summary.news2_trend.direction = summary_pb2.TREND_DIRECTION_STABLE
    caller = FakeCaller(
        answers={
            patient.GET_SUMMARY: summary,
            patient.LIST_REPRESENTATIONS: consent_pb2.ListRepresentationsResponse(),
            patient.LIST_NOTIFICATIONS: consent_pb2.ListNotificationsResponse(),
            patient.LIST_RULES: consent_pb2.ListRulesResponse(rules=[block_rule()]),
            patient.LIST_RULE_HISTORY: consent_pb2.ListRuleHistoryResponse(versions=[block_rule()]),
            patient.CREATE_RULE: lambda request: consent_pb2.CreateRuleResponse(rule=block_rule()),
            patient.REVOKE_RULE: consent_pb2.RevokeRuleResponse(rule=block_rule(2, consent_pb2.RULE_STATE_REVOKED)),
        }
    )
    sessions = FakeSessions()
    client = client_for(caller, sessions)
    session = make_session()
    log_in(client, sessions, session)
    return caller, sessions, client, session


def current(sessions: FakeSessions) -> WebSession:
    [held] = sessions.by_cookie.values()
    return held


def test_overview_shows_services_and_news2_in_plain_words_in_both_languages(world) -> None:
    caller, sessions, client, session = world
    page = client.get("/pasient")
    assert page.status_code == 200
    assert "Hjemmesykepleie" in page.text and "Lav risiko – stabil" in page.text
    assert "Du har 1 delingsregler i kraft." in page.text
    assert "Logget inn som Eskil Eksempelsen" in page.text and "Du handler for deg selv." in page.text
    [(_, rpc, request), *_] = caller.calls
    assert rpc == patient.GET_SUMMARY and request.patient_id == people.ESKIL
    sessions.by_cookie = {k: v.__class__(**{**v.__dict__, "lang": "en"}) for k, v in sessions.by_cookie.items()}
    english = client.get("/pasient")
    assert "Low risk – stable" in english.text and "Home nursing" not in english.text


def test_news2_under_16_is_not_scored_in_words() -> None:
    summary = summary_pb2.GetPatientSummaryResponse(latest_not_scored_reason=summary_pb2.NOT_SCORED_REASON_UNDER_16)
    summary.latest_vital_signs.pulse = 90
    told = plain_language.news2_text(texts("nb"), summary)
    assert told is not None and told.headline == "Ikke beregnet for barn under 16 år" and told.total is None
    summary.withheld_categories.append(C.DATA_CATEGORY_VITAL_SIGNS)
    assert plain_language.news2_text(texts("nb"), summary) is None


def test_every_enum_value_a_page_shows_has_a_label_in_both_languages() -> None:
    enums = {name: descriptor for name, (descriptor, _) in plain_language.ENUMS.items()}
    assert len(enums) == 17  # the enums the pages show
    for lang in ("nb", "en"):
        for enum, descriptor in enums.items():
            for value in descriptor.values():
                assert plain_language.label(texts(lang), enum, value)


def test_a_block_is_searched_drafted_confirmed_and_created_for_the_patient(world) -> None:
    caller, sessions, client, session = world
    form = client.get("/pasient/regler/ny", params={"type": "sperre", "sok": "Sigrid"})
    assert (
        form.status_code == 200 and f'value="{people.SIGRID_HPR}"' in form.text and "Sigrid Sykepleiersen" in form.text
    )

    drafted = form_post(client, "/pasient/regler/ny?type=sperre", {"hpr": people.SIGRID_HPR}, session)
    assert drafted.status_code == 303 and drafted.headers["location"] == "/pasient/regler/bekreft"
    assert patient.CREATE_RULE not in caller.rpcs()  # nothing is made before the confirmation

    confirm = client.get("/pasient/regler/bekreft")
    assert "Sigrid Sykepleiersen (sykepleier" in confirm.text and "heller ikke i en nødsituasjon" in confirm.text

    made = form_post(client, "/pasient/regler/bekreft", {"lagre": "1"}, session)
    assert made.status_code == 303 and made.headers["location"] == "/pasient/regler/rule-abc?ny=1"
    [(_, _, request)] = [c for c in caller.calls if c[1] == patient.CREATE_RULE]
    assert request.patient_id == people.ESKIL and request.rule_type == consent_pb2.RULE_TYPE_BLOCK_PERSON
    assert request.actor.hpr_number == people.SIGRID_HPR and not request.data_categories
    assert patient.DRAFT not in current(sessions).data
    again = form_post(client, "/pasient/regler/bekreft", {"lagre": "1"}, session)  # a second click
    assert again.status_code == 404 and [c[1] for c in caller.calls].count(patient.CREATE_RULE) == 1


def test_a_person_not_in_the_register_is_refused_next_to_the_field(world) -> None:
    caller, sessions, client, session = world
    refused = form_post(client, "/pasient/regler/ny?type=sperre", {"hpr": "123456789"}, session)
    assert refused.status_code == 400 and 'role="alert"' in refused.text and 'href="#hpr"' in refused.text
    assert patient.DRAFT not in current(sessions).data


def test_a_reservation_needs_the_understanding_ticked(world) -> None:
    caller, sessions, client, session = world
    form_post(client, "/pasient/regler/ny?type=reservasjon", {"reason": "vil ikke"}, session)
    confirm = client.get("/pasient/regler/bekreft")
    assert "reservasjon gjelder også i nødsituasjoner" in confirm.text and 'name="forstar"' in confirm.text
    refused = form_post(client, "/pasient/regler/bekreft", {"lagre": "1"}, session)
    assert refused.status_code == 400 and patient.CREATE_RULE not in caller.rpcs()
    made = form_post(client, "/pasient/regler/bekreft", {"lagre": "1", "forstar": "ja"}, session)
    assert made.status_code == 303
    [(_, _, request)] = [c for c in caller.calls if c[1] == patient.CREATE_RULE]
    assert request.rule_type == consent_pb2.RULE_TYPE_RESERVATION and request.reason == "vil ikke"


def test_the_consent_services_refusal_is_shown_on_the_confirmation(world) -> None:
    caller, sessions, client, session = world
    # a reason the catalogue does not hold (a peer's own), with the field violation consent gives
    caller.answers[patient.CREATE_RULE] = ServiceError(
        grpc.StatusCode.INVALID_ARGUMENT, "RULE_INVALID", "invalid actor: unknown", {"actor": "unknown"}
    )
    form_post(client, "/pasient/regler/ny?type=begrensning", {"kategori": str(C.DATA_CATEGORY_VITAL_SIGNS)}, session)
    refused = form_post(client, "/pasient/regler/bekreft", {"lagre": "1"}, session)
    assert refused.status_code == 400 and "Noe av det som ble sendt inn" in refused.text
    assert patient.DRAFT in current(sessions).data  # kept, so the patient can change it


def test_the_rule_page_verifies_each_receipt_and_a_forged_one_is_not_verified(world) -> None:
    caller, sessions, client, session = world
    page = client.get("/pasient/regler/rule-abc")
    assert page.status_code == 200 and "Kvittering: signatur kontrollert" in page.text
    download = client.get("/pasient/regler/rule-abc/v1/kvittering.jws")
    assert download.headers["content-type"] == "application/jose"
    assert download.headers["content-disposition"] == 'attachment; filename="kvittering-rule-abc-v1.jws"'
    assert json.loads(jws.deserialize_compact(download.text, KEY).payload)["rule_id"] == "rule-abc"

    forged = block_rule()
    forged.receipt = sign(forged, patient_id=people.FRIDA)
    assert check_receipt(forged, {"keys": [KEY.as_dict(private=False)]}).problem == "content"
    assert check_receipt(forged, {"keys": []}).problem == "signature"
    caller.answers[patient.LIST_RULE_HISTORY] = consent_pb2.ListRuleHistoryResponse(versions=[forged])
    assert "innholdet stemmer ikke med regelen" in client.get("/pasient/regler/rule-abc").text
    assert client.get("/pasient/regler/rule-zzz").status_code == 404


def test_revoking_asks_first_then_revokes(world) -> None:
    caller, sessions, client, session = world
    asked = client.get("/pasient/regler/rule-abc/trekk-tilbake")
    assert asked.status_code == 200 and patient.REVOKE_RULE not in caller.rpcs()
    done = form_post(client, "/pasient/regler/rule-abc/trekk-tilbake", {"reason": "ferdig"}, session)
    assert done.status_code == 303 and done.headers["location"] == "/pasient/regler/rule-abc"
    [(_, _, request)] = [c for c in caller.calls if c[1] == patient.REVOKE_RULE]
    assert (request.patient_id, request.rule_id, request.reason) == (people.ESKIL, "rule-abc", "ferdig")


def test_the_log_filters_marks_emergencies_and_pages(world) -> None:
    caller, sessions, client, session = world
    refused = audit_pb2.AuditEvent(
        decision=C.DECISION_DENY,
        access_basis=C.ACCESS_BASIS_BLOCK,
        data_category=C.DATA_CATEGORY_VITAL_SIGNS,
        action=audit_pb2.ACTION_READ,
        purpose_of_use=C.PURPOSE_OF_USE_TREAT,
    )
    refused.actor.CopyFrom(C.Actor(kind=C.ACTOR_KIND_PERSONNEL, hpr_number=people.SIGRID_HPR, authorization="SP"))
    emergency = audit_pb2.AuditEvent(
        decision=C.DECISION_PERMIT,
        access_basis=C.ACCESS_BASIS_EMERGENCY,
        purpose_of_use=C.PURPOSE_OF_USE_ETREAT,
        flagged=True,
        justification="secret",
    )
    emergency.actor.CopyFrom(C.Actor(kind=C.ACTOR_KIND_PERSONNEL, hpr_number="990000202", authorization="LE"))
    caller.answers[patient.LIST_EVENTS] = audit_pb2.ListEventsResponse(
        events=[refused, emergency], next_page_token="djE6MTI="
    )
    page = client.get("/pasient/logg", params={"fra": "2026-12-01", "org": "910000020", "nod": "1"})
    assert page.status_code == 200
    assert "Sigrid Sykepleiersen" in page.text and "Avvist" in page.text and "sykepleier" in page.text
    assert page.text.count('class="emergency"') == 1 and "Nødåpning" in page.text and "secret" not in page.text
    next_link = re.search(r'href="(/pasient/logg\?[^"]*side=[^"]*)"', page.text)
    assert next_link is not None and people.ESKIL not in next_link.group(1)
    [(_, _, request)] = [c for c in caller.calls if c[1] == patient.LIST_EVENTS]
    assert request.patient_id == people.ESKIL and request.actor_orgnr == "910000020" and request.flagged_only
    assert request.exclude_patient_actors and request.start_time.seconds > 0 and not request.page_token


def test_a_guardian_acting_for_a_child_reads_the_childs_data(world) -> None:
    caller, sessions, client, _ = world
    sessions.by_cookie.clear()
    guardian = make_session(
        person_pid=people.MIKKEL,
        person_name="Mikkel",
        acting_for=people.FRIDA,
        representation_id="rep-seed-0001",
        data={"acting_for_name": "Frida"},
    )
    log_in(client, sessions, guardian)
    page = client.get("/pasient/regler")
    assert page.status_code == 200 and "du handler for Frida" in page.text
    [(_, _, request)] = caller.calls
    assert request.patient_id == people.FRIDA


def test_the_overview_of_a_guardian_names_the_child_acted_for_once(world) -> None:
    caller, sessions, client, _ = world
    sessions.by_cookie.clear()
    caller.answers[patient.LIST_REPRESENTATIONS] = consent_pb2.ListRepresentationsResponse(
        representations=[
            consent_pb2.Representation(
                patient_id=pid, patient_name=name, status=consent_pb2.REPRESENTATION_STATUS_IN_FORCE
            )
            for pid, name in (("26812297073", "Frida Fantasisen"), ("14681450042", "Jonas Jubileumsen"))
        ]
    )
    log_in(client, sessions, make_session(person_pid="45869005006", person_name="Mikkel Midlertidigsen"))
    assert "Du kan også handle for: Frida Fantasisen, Jonas Jubileumsen." in client.get("/pasient").text
    sessions.by_cookie.clear()
    log_in(
        client,
        sessions,
        make_session(
            person_pid="45869005006",
            person_name="Mikkel Midlertidigsen",
            acting_for="26812297073",
            representation_id="rep-seed-0001",
            data={"acting_for_name": "Frida Fantasisen"},
        ),
    )
    page = client.get("/pasient").text
    assert "Du handler nå på vegne av Frida Fantasisen." in page
    assert "Du kan også handle for: Jonas Jubileumsen." in page  # not Frida again


def notification(kind: int, minute: int, actor: C.Actor | None = None) -> consent_pb2.Notification:
    made = consent_pb2.Notification(kind=kind, text="English text from consent")
    made.create_time.FromDatetime(datetime(2026, 12, 5, 10, minute, tzinfo=UTC))
    made.actor.CopyFrom(actor or C.Actor(kind=C.ACTOR_KIND_PERSONNEL, hpr_number=people.LARS_HPR, authorization="LE"))
    return made


def test_notifications_are_unread_until_marked_read_per_patient_acted_for(world) -> None:
    caller, sessions, client, session = world
    caller.answers[patient.LIST_NOTIFICATIONS] = consent_pb2.ListNotificationsResponse(
        notifications=[
            notification(consent_pb2.NOTIFICATION_KIND_EMERGENCY_ACCESS, 5),
            notification(
                consent_pb2.NOTIFICATION_KIND_RULE_CHANGED, 1, C.Actor(kind=C.ACTOR_KIND_PATIENT, pid=people.ESKIL)
            ),
        ]
    )
    page = client.get("/pasient/varsler")
    assert page.status_code == 200 and "2 uleste" in page.text and "English text" not in page.text
    assert "i en nødsituasjon" in page.text and page.text.count("card--emergency") == 1
    assert "Lars Legevaktsen" in page.text
    assert "Du har 2 uleste varsler." in client.get("/pasient").text
    done = form_post(client, "/pasient/varsler/lest", {}, session)
    assert done.status_code == 303
    assert sessions.marks[(session.subject, "notifications_read:self")] == "2026-12-05T10:05:00.000000Z"
    read = client.get("/pasient/varsler").text
    assert "0 uleste" in read and "Du endret en delingsregel." in read


def representations() -> consent_pb2.ListRepresentationsResponse:
    return consent_pb2.ListRepresentationsResponse(
        representations=[
            consent_pb2.Representation(
                representation_id="rep-seed-0001",
                patient_id=people.FRIDA,
                patient_name="Frida",
                status=consent_pb2.REPRESENTATION_STATUS_IN_FORCE,
            ),
            consent_pb2.Representation(
                representation_id="rep-seed-0003",
                patient_id=people.JONAS,
                patient_name="Jonas",
                status=consent_pb2.REPRESENTATION_STATUS_CHILD_TURNED_12,
            ),
        ]
    )


def test_a_guardian_switches_only_where_consent_permits(world) -> None:
    caller, sessions, client, session = world
    caller.answers[patient.LIST_REPRESENTATIONS] = representations()

    def rules_of(request):
        if request.patient_id == people.JONAS:
            raise permission_denied("CONSENT_DENIED", "no")
        return consent_pb2.ListRulesResponse()

    caller.answers[patient.LIST_RULES] = rules_of
    page = client.get("/pasient/representasjon")
    assert "Handle for Frida" in page.text and "Handle for Jonas" not in page.text and "fyller 12" in page.text

    switched = form_post(client, "/pasient/representasjon", {"representasjon": "rep-seed-0001"}, session)
    assert switched.status_code == 303 and current(sessions).acting_for == people.FRIDA
    [(probe, _, request)] = [c for c in caller.calls if c[1] == patient.LIST_RULES]
    assert probe.acting_for == people.FRIDA and request.patient_id == people.FRIDA
    assert "du handler for Frida" in client.get("/pasient/regler").text

    for forged in ("rep-seed-0003", "rep-unknown"):
        refused = form_post(client, "/pasient/representasjon", {"representasjon": forged}, current(sessions))
        assert refused.status_code == 403 and 'role="alert"' in refused.text
        assert current(sessions).acting_for == people.FRIDA and current(sessions).representation_id == "rep-seed-0001"
    back = form_post(client, "/pasient/representasjon", {"representasjon": "meg"}, current(sessions))
    assert back.status_code == 303 and current(sessions).acting_for is None
    assert "acting_for_name" not in current(sessions).data


def test_the_next_log_page_asks_with_the_token_and_own_reads_on_request(world) -> None:
    caller, sessions, client, session = world
    caller.answers[patient.LIST_EVENTS] = audit_pb2.ListEventsResponse()
    page = client.get("/pasient/logg", params={"meg": "1", "side": "djE6MTI=", "fra": "ikke-en-dato"})
    assert page.status_code == 200 and "Ingen bruk å vise" in page.text and 'href="#fra"' in page.text
    assert 'href="/pasient/logg?meg=1"' in page.text  # back to the first page, filters kept
    [(_, _, request)] = [c for c in caller.calls if c[1] == patient.LIST_EVENTS]
    assert request.page_token == "djE6MTI=" and not request.exclude_patient_actors
    assert not request.HasField("start_time")


def test_what_consent_withholds_is_named_not_hidden(world) -> None:
    caller, sessions, client, session = world
    withheld = summary_pb2.GetPatientSummaryResponse(withheld_categories=[C.DATA_CATEGORY_VITAL_SIGNS])
    caller.answers[patient.GET_SUMMARY] = withheld
    page = client.get("/pasient")
    assert "Dette er ikke tilgjengelig for deg: Vitale målinger." in page.text
    assert "Ingen målinger er registrert." in page.text


def test_two_simultaneous_confirmations_make_one_rule(world, tmp_path) -> None:
    """Both posts load the session (with the draft) before either takes it: the database's
    compare-and-set lets one take the draft, the other finds none (404)."""
    import asyncio
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from gateway.web.context import SESSION_COOKIE
    from gateway.web.sessions import SqlSessions
    from services.platform.db import make_engine, migrate_platform

    caller = world[0]
    url = f"sqlite:///{tmp_path / 'web.db'}"
    migrate_platform(url)
    sessions = SqlSessions(make_engine(url), idle_seconds=600, max_seconds=3600)
    try:
        cookie = asyncio.run(
            sessions.create(
                new_session(),
                replacing=None,
            )
        )
        session = asyncio.run(sessions.load(cookie))
        assert session is not None
        draft = {
            "kind": "sperre",
            "hpr": people.SIGRID_HPR,
            "categories": [],
            "purposes": [],
            "fra": "",
            "til": "",
            "reason": "",
        }
        asyncio.run(sessions.update(session, data={patient.DRAFT: draft}))
        both_loaded = threading.Barrier(2, timeout=10)
        load = sessions._load

        def load_together(value: str, activity: bool):  # type: ignore[no-untyped-def]
            found = load(value, activity)
            both_loaded.wait()
            return found

        sessions._load = load_together  # type: ignore[method-assign]
        client = client_for(caller, sessions)  # type: ignore[arg-type]
        client.cookies.set(SESSION_COOKIE, cookie)

        def confirm() -> int:
            return form_post(client, "/pasient/regler/bekreft", {"lagre": "1"}, session).status_code

        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(pool.map(lambda _: confirm(), range(2)))

        assert statuses == [303, 404]
        assert caller.rpcs().count(patient.CREATE_RULE) == 1
    finally:
        sessions.close()


def test_a_log_entrys_proof_is_verified_with_the_pinned_key_and_downloads(world) -> None:
    caller, sessions, client, _ = world
    mine = build_v2(4, opened=False)  # sequence 5, a version-2 leaf without openings
    caller.answers[patient.GET_PATIENT_EVENT_PROOF] = audit_pb2.GetPatientEventProofResponse(proof=mine)
    page = client.get("/pasient/logg/5")
    assert page.status_code == 200
    assert "Kontrollert: oppføringen står i loggen" in page.text and "7 oppføringer" in page.text
    assert "forseglede koder" in page.text  # the commitments, as such
    assert PID not in page.text and "bevisstløs" not in page.text.lower()
    assert "samhandling audit check-proof hendelse-5.proof --vkey " + PROOF_VKEY in page.text
    download = client.get("/pasient/logg/5/bevis")
    assert download.status_code == 200 and download.content.decode() == mine
    assert download.headers["content-disposition"] == 'attachment; filename="hendelse-5.proof"'
    requests = [r for _, rpc, r in caller.calls if rpc == patient.GET_PATIENT_EVENT_PROOF]
    assert [(r.patient_id, r.sequence) for r in requests] == [(people.ESKIL, 5), (people.ESKIL, 5)]
    assert WORDS not in page.text
    sessions.by_cookie = {k: v.__class__(**{**v.__dict__, "lang": "en"}) for k, v in sessions.by_cookie.items()}
    english = client.get("/pasient/logg/5")
    assert english.status_code == 200 and "Verified: the entry is in the log" in english.text
    assert "sealed codes" in english.text and PID not in english.text


def test_a_proof_that_does_not_verify_with_the_pinned_key_shows_nothing_of_the_entry(world) -> None:
    caller, sessions, _, _ = world
    caller.answers[patient.GET_PATIENT_EVENT_PROOF] = audit_pb2.GetPatientEventProofResponse(
        proof=build_v2(4, opened=False)
    )
    sessions.by_cookie.clear()
    other_key = NoteSigner.generate("samhandling.test/audit").verifier.vkey
    client = client_for(caller, sessions, audit_vkey=other_key)
    log_in(client, sessions, make_session())
    page = client.get("/pasient/logg/5")
    assert page.status_code == 502 and "Beviset kunne ikke kontrolleres" in page.text
    assert "Kontrollert:" not in page.text and "forseglede" not in page.text


@pytest.mark.parametrize(
    ("error", "status", "text"),
    [
        (not_found("EVENT_NOT_FOUND", "no event of this patient"), 404, "ikke signert inn i loggen ennå"),
        (
            ServiceError(grpc.StatusCode.FAILED_PRECONDITION, "EVENT_PROOF_NOT_PRIVATE", "v1"),
            409,
            "bare til virksomhetens revisor",
        ),
    ],
)
def test_an_entry_without_a_proof_for_the_patient_says_why(world, error, status, text) -> None:
    caller, _, client, _ = world
    caller.answers[patient.GET_PATIENT_EVENT_PROOF] = error
    page = client.get("/pasient/logg/3")
    assert page.status_code == status and text in page.text
    assert "Last ned beviset" not in page.text
    assert client.get("/pasient/logg/0").status_code == 404  # no such sequence, asked for nothing
    assert [r.sequence for _, rpc, r in caller.calls if rpc == patient.GET_PATIENT_EVENT_PROOF] == [3]


def test_each_log_entry_links_to_its_proof_by_sequence(world) -> None:
    caller, _, client, _ = world
    entry = audit_pb2.AuditEvent(sequence=42, decision=C.DECISION_PERMIT, data_category=C.DATA_CATEGORY_VITAL_SIGNS)
    entry.actor.CopyFrom(C.Actor(kind=C.ACTOR_KIND_PERSONNEL, hpr_number=people.SIGRID_HPR, authorization="SP"))
    caller.answers[patient.LIST_EVENTS] = audit_pb2.ListEventsResponse(events=[entry])
    page = client.get("/pasient/logg")
    assert page.status_code == 200 and 'href="/pasient/logg/42"' in page.text and "Se bevis" in page.text


def test_without_a_pinned_key_the_proof_page_proves_nothing(world) -> None:
    caller, sessions, _, _ = world
    caller.answers[patient.GET_PATIENT_EVENT_PROOF] = audit_pb2.GetPatientEventProofResponse(
        proof=build_v2(4, opened=False)
    )
    sessions.by_cookie.clear()
    client = client_for(caller, sessions, audit_vkey=None)
    log_in(client, sessions, make_session())
    page = client.get("/pasient/logg/5")
    assert page.status_code == 503 and "WEB_AUDIT_VKEY_MISSING" in page.text and "Kontrollert:" not in page.text
