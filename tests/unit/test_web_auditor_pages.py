"""The auditor console's pages over the real web app with a FakeCaller: a search is POSTed,
kept in the session and named by a random key (no person number in any URL), every filter
reaches SearchEvents, pages follow next_page_token; an event shows only what a proof verified
with the pinned key says; the proof downloads; exports are POST downloads; log health keeps a
verified chain."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from gateway.web import auditor
from samhandling.audit.v1 import audit_pb2
from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import escalation_pb2, summary_pb2
from services.audit import merkle
from services.platform.errors import invalid_argument, not_found, permission_denied, unavailable
from tests.fixtures import people
from tests.fixtures.log_checks import OTHER_VKEY, SIGNER, VKEY, proof, tree
from tests.support_web import FakeCaller, FakeSessions, form_post, log_in, make_session, web_client

PATIENT = people.ESKIL


def auditor_session():
    return make_session(
        "auditor",
        person_pid=people.PETRA,
        person_name="Petra Personvernsen",
        scopes=frozenset({"openid", "profile", "nhn:samhandling/audit.read"}),
        orgnr_parent="910000012",
        orgnr_child="910000020",
    )  # Bodø kommune, her token's


def client_with(caller: FakeCaller, vkey: str = VKEY):
    sessions = FakeSessions()
    session = auditor_session()
    client = web_client(auditor.routes(), caller=caller, sessions=sessions, audit_vkey=vkey)
    log_in(client, sessions, session)
    return client, sessions, session


def event(sequence: int, *, flagged: bool = False, decision: int = common_pb2.DECISION_PERMIT) -> audit_pb2.AuditEvent:
    found = audit_pb2.AuditEvent(
        sequence=sequence,
        patient_id=PATIENT,
        flagged=flagged,
        decision=decision,
        actor=common_pb2.Actor(hpr_number=people.LARS_HPR, orgnr_parent="910000012"),
    )
    found.occur_time.FromDatetime(datetime(2026, 12, 4, 21, 30, tzinfo=UTC))
    return found


def test_a_search_is_posted_kept_in_the_session_and_paged_without_a_person_number_in_a_url() -> None:
    def answer(request: audit_pb2.SearchEventsRequest) -> audit_pb2.SearchEventsResponse:
        if request.page_token == "":
            return audit_pb2.SearchEventsResponse(events=[event(9, flagged=True)], next_page_token="t2")
        return audit_pb2.SearchEventsResponse(events=[event(3)])

    caller = FakeCaller({auditor.SEARCH_EVENTS: answer})
    client, sessions, session = client_with(caller)
    fields = {
        "patient_id": PATIENT,
        "actor_hpr_number": people.LARS_HPR,
        "actor_pid": "",
        "actor_orgnr_child": "910000020",
        "fra": "2026-12-01",
        "til": "2026-12-04",
        "purpose_of_use": "ETREAT",
        "decision": "PERMIT",
        "access_basis": "EMERGENCY",
        "flagged_only": "1",
    }

    posted = form_post(client, "/revisor/hendelser", fields, session)
    assert posted.status_code == 303
    location = posted.headers["location"]
    assert location.startswith("/revisor/hendelser?sok=") and PATIENT not in location
    first = client.get(location)
    second = client.get(location + "&side=2")

    assert first.status_code == 200 and "Nr. 9" in first.text and "Neste side" in first.text
    assert 'class="flagged"' in first.text and "Nødtilgang" in first.text
    assert second.status_code == 200 and "Nr. 3" in second.text and "Forrige side" in second.text
    request = caller.calls[0][2]
    assert isinstance(request, audit_pb2.SearchEventsRequest)
    f = request.filter
    assert (f.patient_id, f.actor_hpr_number, f.actor_orgnr_child, f.flagged_only) == (
        PATIENT,
        people.LARS_HPR,
        "910000020",
        True,
    )
    assert (f.purpose_of_use, f.decision, f.access_basis) == (
        common_pb2.PURPOSE_OF_USE_ETREAT,
        common_pb2.DECISION_PERMIT,
        common_pb2.ACCESS_BASIS_EMERGENCY,
    )
    assert f.start_time.ToDatetime(UTC) == datetime(2026, 11, 30, 23, tzinfo=UTC)  # Oslo midnight
    assert f.end_time.ToDatetime(UTC) == datetime(2026, 12, 4, 23, tzinfo=UTC)  # the whole last day
    assert caller.calls[1][2].page_token == "t2"  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/revisor/hendelser", "/revisor/eksport"])
def test_the_point_of_care_is_chosen_among_the_auditors_legal_entitys(path) -> None:
    caller = FakeCaller()
    client, sessions, session = client_with(caller)

    form = client.get(path)
    # Bodø kommune's points of care from the directory, as choices; no free number field.
    assert form.status_code == 200 and '<select id="f-actor_orgnr_child" name="actor_orgnr_child">' in form.text
    assert '<option value="910000020">Bodø kommune – hjemmesykepleie (910000020)</option>' in form.text
    assert '<option value="910000039">Bodø interkommunale legevakt (910000039)</option>' in form.text
    assert "910000055" not in form.text and 'name="actor_orgnr_child" value=' not in form.text
    # Another legal entity's point of care (Bærum helsehus) is not a choice, whatever is posted.
    refused = form_post(client, path, {"actor_orgnr_child": "910000055", "format": "csv"}, session)
    assert refused.status_code == 400 and 'id="e-actor_orgnr_child"' in refused.text
    assert caller.calls == []


def test_an_auditor_whose_token_names_no_organisation_has_no_point_of_care_to_choose() -> None:
    caller = FakeCaller()
    sessions = FakeSessions()
    session = make_session("auditor", scopes=frozenset({"nhn:samhandling/audit.read"}))
    client = web_client(auditor.routes(), caller=caller, sessions=sessions, audit_vkey=VKEY)
    log_in(client, sessions, session)
    assert '<option value="9100' not in client.get("/revisor/hendelser").text
    refused = form_post(client, "/revisor/hendelser", {"actor_orgnr_child": "910000020"}, session)
    assert refused.status_code == 400 and caller.calls == []


def test_a_bad_filter_is_shown_next_to_its_field_and_nothing_is_searched() -> None:
    caller = FakeCaller()
    client, _, session = client_with(caller)
    page = form_post(
        client, "/revisor/hendelser", {"fra": "2026-12-05", "til": "2026-12-01", "decision": "MAYBE"}, session
    )

    assert page.status_code == 400 and 'role="alert"' in page.text and 'href="#f-til"' in page.text
    assert 'href="#f-decision"' in page.text and not caller.calls


def test_an_unknown_search_key_is_a_page_saying_so() -> None:
    client, _, _ = client_with(FakeCaller())
    page = client.get("/revisor/hendelser?sok=nothing")
    assert page.status_code == 404 and "Søket er ikke lenger lagret" in page.text


def test_an_event_is_shown_from_its_proof_verified_with_the_pinned_key() -> None:
    caller = FakeCaller({auditor.GET_EVENT_PROOF: audit_pb2.GetEventProofResponse(proof=proof(3, 7))})
    client, _, _ = client_with(caller)
    page = client.get("/revisor/hendelser/4")
    download = client.get("/revisor/hendelser/4/bevis")

    assert page.status_code == 200 and "Bevis kontrollert" in page.text and "akutt" in page.text
    assert "<dd>Lese</dd>" in page.text  # the leaf's READ in words
    assert "Ikke registrert (hendelse fra før leaf versjon 2)" in page.text  # a version-1 leaf: no obligations
    assert download.status_code == 200 and download.content.decode() == proof(3, 7)
    assert download.headers["content-disposition"] == 'attachment; filename="hendelse-4.proof"'


def test_a_version_2_event_shows_what_its_proof_opened() -> None:
    """The auditor's proof of a version-2 leaf opens the person number and the justification:
    the page shows both, each checked against the leaf's commitment."""
    from tests.fixtures.event_proofs import PID, build_v2
    from tests.fixtures.event_proofs import VKEY as V2_VKEY

    caller = FakeCaller({auditor.GET_EVENT_PROOF: audit_pb2.GetEventProofResponse(proof=build_v2(5, opened=True))})
    client, _, _ = client_with(caller, vkey=V2_VKEY)
    page = client.get("/revisor/hendelser/6")
    assert page.status_code == 200 and "Bevis kontrollert" in page.text
    assert f"<dd>{PID}</dd>" in page.text and "Pasienten bevisstløs, trenger\nakutt oversikt" in page.text
    assert "åpningene er kontrollert mot forseglingen" in page.text
    # The decision's obligations, which a version-2 leaf records.
    assert "<dd>Merkes for revisjon; Pasienten varsles</dd>" in page.text


def test_a_proof_that_does_not_verify_with_the_pinned_key_shows_nothing_of_the_event() -> None:
    caller = FakeCaller({auditor.GET_EVENT_PROOF: audit_pb2.GetEventProofResponse(proof=proof(3, 7))})
    client, _, _ = client_with(caller, vkey=OTHER_VKEY)
    page = client.get("/revisor/hendelser/4")
    assert page.status_code == 502 and "kunne ikke kontrolleres" in page.text and "akutt" not in page.text


def test_an_event_not_yet_in_a_checkpoint_comes_in_a_moment() -> None:
    caller = FakeCaller({auditor.GET_EVENT_PROOF: not_found("EVENT_NOT_FOUND", "not yet")})
    client, _, _ = client_with(caller)
    page = client.get("/revisor/hendelser/12")
    assert page.status_code == 404 and "kommer om et øyeblikk" in page.text
    assert client.get("/revisor/hendelser/0").status_code == 400
    # Not a sequence either: "²" is a digit to str.isdigit but not to int().
    assert [client.get(f"/revisor/hendelser/{text}").status_code for text in ("%C2%B2", "1" * 19)] == [400, 400]


def test_an_export_is_a_post_download_with_the_filter() -> None:
    caller = FakeCaller(
        {
            auditor.EXPORT_EVENTS: audit_pb2.ExportEventsResponse(
                content_type="text/csv", content=b"sequence\n9\n", event_count=1
            )
        }
    )
    client, _, session = client_with(caller)
    assert client.get("/revisor/eksport").status_code == 200
    answer = form_post(client, "/revisor/eksport", {"patient_id": PATIENT, "format": "csv"}, session)

    assert answer.status_code == 200 and answer.content == b"sequence\n9\n"
    assert answer.headers["content-disposition"].startswith('attachment; filename="hendelser-')
    request = caller.calls[0][2]
    assert isinstance(request, audit_pb2.ExportEventsRequest)
    assert request.format == audit_pb2.EXPORT_FORMAT_CSV and request.filter.patient_id == PATIENT


def test_log_health_verifies_the_checkpoint_and_the_chain_since_the_last_visit() -> None:
    nodes, root9 = tree(9)
    _, root4 = tree(4)
    notes = iter([SIGNER.sign(4, root4), SIGNER.sign(9, root9)])
    caller = FakeCaller(
        {
            auditor.GET_CHECKPOINT: lambda _: audit_pb2.GetCheckpointResponse(checkpoint=next(notes)),
            auditor.GET_CONSISTENCY_PROOF: lambda r: audit_pb2.GetConsistencyProofResponse(
                hashes=merkle.consistency_proof(r.first_size, r.second_size, nodes)
            ),  # type: ignore[attr-defined]
        }
    )
    client, sessions, session = client_with(caller)

    first = client.get("/revisor/logghelse")
    second = client.get("/revisor/logghelse")

    assert "Første besøk" in first.text and "4 hendelser" in first.text and VKEY in first.text
    assert second.status_code == 200 and "er uendret del av loggen med 9 hendelser" in second.text
    assert [
        s.size for s in auditor.logcheck.parse_chain(sessions.marks[(session.subject, auditor.logcheck.CHAIN_MARK)])
    ] == [4, 9]


def test_signals_show_a_chart_with_a_table_alternative_in_both_languages() -> None:
    signal = audit_pb2.Signal(kind=audit_pb2.SIGNAL_KIND_EMERGENCY_OVERRIDE, events=[event(9, flagged=True)])
    caller = FakeCaller(
        {
            auditor.LIST_SIGNALS: audit_pb2.ListSignalsResponse(signals=[signal]),
            auditor.LIST_ESCALATION_SIGNALS: escalation_pb2.ListEscalationSignalsResponse(),
            auditor.SEARCH_EVENTS: audit_pb2.SearchEventsResponse(
                events=[event(9), event(8, decision=common_pb2.DECISION_DENY)]
            ),
            auditor.GET_CHECKPOINT: audit_pb2.GetCheckpointResponse(checkpoint=SIGNER.sign(4, tree(4)[1])),
        }
    )
    client, _, _ = client_with(caller)
    page = client.get("/revisor/signaler?fra=2026-12-01&til=2026-12-04")
    home = client.get("/revisor")

    assert page.status_code == 200 and "<svg" in page.text and '<title id="chart-title">' in page.text
    assert "<details>" in page.text and "Nødtilgang" in page.text
    assert home.status_code == 200 and "Signaler siste 7 dager: 1" in home.text and "4 hendelser" in home.text
    english = web_client(auditor.routes(), caller=caller, sessions=(sessions := FakeSessions()), audit_vkey=VKEY)
    log_in(english, sessions, auditor_session().__class__(**{**auditor_session().__dict__, "lang": "en"}))
    assert "Events and denials per day" in english.get("/revisor/signaler").text
    assert client.get("/revisor/signaler?fra=2026-01-01&til=2026-12-04").status_code == 400  # over 31 days


def test_the_searches_kept_are_bounded_in_number_and_size_and_the_newest_stays() -> None:
    many = {f"k{i}": {"fields": {}, "tokens": ["t" * 20] * 50, "at": float(i)} for i in range(12)}
    big = {f"k{i}": {"fields": {"patient_id": "x" * 4000}, "tokens": [""], "at": float(i)} for i in range(5)}

    assert set(auditor.bounded(many, "k0")) == {"k0", "k11", "k10", "k9", "k8"}
    kept = auditor.bounded(big, "k4")
    assert "k4" in kept and len(json.dumps(kept)) <= auditor.SEARCHES_BYTES and len(kept) < 5


def test_a_filter_the_service_refuses_is_shown_next_to_its_field() -> None:
    refused = invalid_argument({"filter.patient_id": "an 11-digit person number"})
    caller = FakeCaller({auditor.EXPORT_EVENTS: refused, auditor.SEARCH_EVENTS: refused})
    client, _, session = client_with(caller)
    export = form_post(client, "/revisor/eksport", {"patient_id": "123", "format": "fhir"}, session)
    searched = client.get(form_post(client, "/revisor/hendelser", {"patient_id": "123"}, session).headers["location"])

    for page in (export, searched):
        assert page.status_code == 400 and 'href="#f-patient_id"' in page.text and 'aria-invalid="true"' in page.text


def _escalation_signal(kind: int, *, late_minutes: int = 0) -> escalation_pb2.EscalationSignal:
    signal = escalation_pb2.EscalationSignal(
        kind=kind,
        escalation_id="esc-0001",
        level=summary_pb2.ESCALATION_LEVEL_EMERGENCY,
        orgnr="910000039",
        role=escalation_pb2.ESCALATION_ROLE_RESPONSIBLE,
    )
    signal.open_time.FromDatetime(datetime(2026, 12, 4, 10, 0, tzinfo=UTC))
    signal.deadline_time.FromDatetime(datetime(2026, 12, 4, 10, 5, tzinfo=UTC))
    signal.event_time.FromDatetime(datetime(2026, 12, 4, 10, 5, tzinfo=UTC) + timedelta(minutes=late_minutes))
    if late_minutes:
        signal.late_by.FromSeconds(late_minutes * 60)
        signal.person.hpr_number, signal.person.name = people.LARS_HPR, "Lars Legevaktsen"
    return signal


def test_the_escalation_signals_are_listed_beside_the_audits_for_the_period_and_say_when_more_were_left_out() -> None:
    def answer(request: escalation_pb2.ListEscalationSignalsRequest) -> escalation_pb2.ListEscalationSignalsResponse:
        if request.page_token == "":
            late = _escalation_signal(escalation_pb2.ESCALATION_SIGNAL_KIND_ACKNOWLEDGED_LATE, late_minutes=65)
            return escalation_pb2.ListEscalationSignalsResponse(signals=[late], next_page_token="t2")
        exhausted = _escalation_signal(escalation_pb2.ESCALATION_SIGNAL_KIND_CHAIN_EXHAUSTED)
        return escalation_pb2.ListEscalationSignalsResponse(signals=[exhausted], truncated=True)

    caller = FakeCaller(
        {
            auditor.LIST_SIGNALS: audit_pb2.ListSignalsResponse(),
            auditor.LIST_ESCALATION_SIGNALS: answer,
            auditor.SEARCH_EVENTS: audit_pb2.SearchEventsResponse(),
        }
    )
    client, _, _ = client_with(caller)
    page = client.get("/revisor/signaler?fra=2026-12-01&til=2026-12-04")

    assert page.status_code == 200
    for text in (
        "Kvittert etter fristen",
        "1 t 5 min for sent",
        "Kjeden oppbrukt",
        "Akutt",
        "Bodø interkommunale legevakt (910000039)",
        "ansvarlig mottaker",
        f"Lars Legevaktsen (HPR {people.LARS_HPR})",
        "4. desember 2026 kl. 11.05",  # the deadline, Oslo time
        "esc-0001",
        "flere eskaleringssignaler i perioden enn siden viser",
    ):
        assert text in page.text, text
    first, second = [r for _, rpc, r in caller.calls if rpc == auditor.LIST_ESCALATION_SIGNALS]
    assert (first.start_time.ToDatetime(UTC), first.end_time.ToDatetime(UTC)) == (
        datetime(2026, 11, 30, 23, 0, tzinfo=UTC),  # 1 December in Oslo
        datetime(2026, 12, 4, 23, 0, tzinfo=UTC),  # to the end of 4 December
    )
    assert (first.page_size, second.page_token) == (auditor.ESCALATION_SIGNAL_PAGE_SIZE, "t2")


def nothing_signalled() -> FakeCaller:
    """Both services answer with no signals and no events."""
    return FakeCaller(
        {
            auditor.LIST_SIGNALS: audit_pb2.ListSignalsResponse(),
            auditor.LIST_ESCALATION_SIGNALS: escalation_pb2.ListEscalationSignalsResponse(),
            auditor.SEARCH_EVENTS: audit_pb2.SearchEventsResponse(),
        }
    )


def test_a_period_of_31_days_over_the_autumn_clock_change_is_shortened_by_a_day_for_both_services() -> None:
    """31 Oslo days over the change to winter time last 31 days and an hour, which ListSignals and
    ListEscalationSignals both refuse: the console asks both for the period from its second day,
    shows that period and says why."""
    caller = nothing_signalled()
    client, _, _ = client_with(caller)
    page = client.get("/revisor/signaler?fra=2026-10-10&til=2026-11-09")

    assert page.status_code == 200 and "Ingen eskaleringssignaler i perioden." in page.text
    assert 'value="2026-10-11"' in page.text and "Perioden er forkortet med sin første dag" in page.text
    asked = {rpc: r for _, rpc, r in caller.calls if rpc in (auditor.LIST_SIGNALS, auditor.LIST_ESCALATION_SIGNALS)}
    for request in asked.values():
        assert (request.start_time.ToDatetime(UTC), request.end_time.ToDatetime(UTC)) == (
            datetime(2026, 10, 10, 22, 0, tzinfo=UTC),  # 11 October in Oslo (summer time)
            datetime(2026, 11, 9, 23, 0, tzinfo=UTC),  # to the end of 9 November (winter time)
        )
    assert len(asked) == 2


def test_a_period_of_31_days_without_a_clock_change_is_asked_whole() -> None:
    caller = nothing_signalled()
    client, _, _ = client_with(caller)
    page = client.get("/revisor/signaler?fra=2026-11-01&til=2026-12-01")

    assert page.status_code == 200 and "forkortet" not in page.text
    for _, rpc, request in caller.calls:
        if rpc in (auditor.LIST_SIGNALS, auditor.LIST_ESCALATION_SIGNALS):
            assert request.end_time.ToDatetime() - request.start_time.ToDatetime() == timedelta(days=31)


def test_the_audits_signals_are_shown_with_a_notice_when_the_escalation_signals_cannot_be_fetched() -> None:
    signal = audit_pb2.Signal(kind=audit_pb2.SIGNAL_KIND_EMERGENCY_OVERRIDE, events=[event(9, flagged=True)])
    caller = FakeCaller(
        {
            auditor.LIST_SIGNALS: audit_pb2.ListSignalsResponse(signals=[signal]),
            auditor.LIST_ESCALATION_SIGNALS: unavailable(
                "BACKEND_UNAVAILABLE", "the summary service cannot answer now"
            ),
            auditor.SEARCH_EVENTS: audit_pb2.SearchEventsResponse(events=[event(9)]),
        }
    )
    client, _, _ = client_with(caller)
    page = client.get("/revisor/signaler?fra=2026-12-01&til=2026-12-04")

    assert page.status_code == 200
    assert "Nødtilgang" in page.text and "<svg" in page.text  # the audit's part
    assert "Eskaleringssignalene kunne ikke hentes nå" in page.text
    assert "Ingen eskaleringssignaler i perioden." not in page.text  # not told there are none


def test_the_escalation_signals_are_shown_with_a_notice_when_the_audits_cannot_be_fetched() -> None:
    down = unavailable("BACKEND_UNAVAILABLE", "the audit service cannot answer now")
    late = _escalation_signal(escalation_pb2.ESCALATION_SIGNAL_KIND_ACKNOWLEDGED_LATE, late_minutes=65)
    caller = FakeCaller(
        {
            auditor.LIST_SIGNALS: down,
            auditor.LIST_ESCALATION_SIGNALS: escalation_pb2.ListEscalationSignalsResponse(signals=[late]),
            auditor.SEARCH_EVENTS: down,
        }
    )
    client, _, _ = client_with(caller)
    page = client.get("/revisor/signaler?fra=2026-12-01&til=2026-12-04")

    assert page.status_code == 200
    assert "Kvittert etter fristen" in page.text and "esc-0001" in page.text  # the summary's part
    assert page.text.count("Loggens signaler og diagrammet kunne ikke hentes nå") == 2  # chart and list
    assert "<svg" not in page.text and "Ingen signaler i perioden." not in page.text


def test_a_refusal_that_is_not_a_service_down_still_fails_the_page() -> None:
    caller = FakeCaller(
        {
            auditor.LIST_SIGNALS: audit_pb2.ListSignalsResponse(),
            auditor.LIST_ESCALATION_SIGNALS: permission_denied("AUDIT_SCOPE_MISSING", "auditors only"),
            auditor.SEARCH_EVENTS: audit_pb2.SearchEventsResponse(),
        }
    )
    client, _, _ = client_with(caller)

    assert client.get("/revisor/signaler?fra=2026-12-01&til=2026-12-04").status_code == 403


def test_the_consoles_home_page_says_what_it_could_not_fetch_when_the_audit_service_is_down() -> None:
    down = unavailable("BACKEND_UNAVAILABLE", "the audit service cannot answer now")
    client, _, _ = client_with(FakeCaller({auditor.LIST_SIGNALS: down, auditor.GET_CHECKPOINT: down}))
    page = client.get("/revisor")

    assert page.status_code == 200
    assert page.text.count("Loggen svarer ikke nå, så dette kunne ikke hentes.") == 2  # signals and health
    assert "Ingen signaler i perioden." not in page.text  # not told there are none
    assert 'href="/revisor/hendelser"' in page.text  # the rest of the console is still offered


def test_the_consoles_home_page_fails_on_a_refusal_that_is_not_a_service_down() -> None:
    refused = permission_denied("AUDIT_SCOPE_MISSING", "auditors only")
    client, _, _ = client_with(FakeCaller({auditor.LIST_SIGNALS: refused, auditor.GET_CHECKPOINT: refused}))

    assert client.get("/revisor").status_code == 403
