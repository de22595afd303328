"""The capacity page and its stream relays over the real web wrapper with a FakeCaller: the
page is in the page's language (no enum names shown raw), has a meter per unit and resource
and per sum, the status in words, times in Oslo; the relays are NDJSON, end a stream whose
session ended with WEB_SESSION_ENDED, and refuse a missing session without a redirect."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from gateway.web import capacity
from gateway.web.context import SESSION_COOKIE
from samhandling.capacity.v1 import capacity_pb2
from tests.fixtures import people
from tests.support_web import FakeCaller, FakeSessions, log_in, make_session, web_client

MARTE = make_session(
    "capacity",
    person_pid=people.MARTE,
    person_name="Marte Mottaksen",
    scopes=frozenset({"openid", "profile", "nhn:samhandling/capacity.read"}),
    orgnr_parent="910000071",
    orgnr_child="910000098",
)  # Nordlandssykehuset Bodø
REPORTED = Timestamp()
REPORTED.FromDatetime(datetime(2026, 12, 5, 13, 3, tzinfo=UTC))  # 14.03 in Oslo


def overview(request: capacity_pb2.GetCapacityOverviewRequest) -> capacity_pb2.GetCapacityOverviewResponse:
    unit = capacity_pb2.Unit(
        unit_id="nlsh-bodo-akuttmottak",
        name="Nordlandssykehuset Bodø – akuttmottak",
        unit_type=capacity_pb2.UNIT_TYPE_EMERGENCY_DEPARTMENT,
        region="Nordland",
        municipality_number="1804",
        resources=[
            capacity_pb2.Resource(
                resource_type="treatment_room",
                total=12,
                available=1,
                occupied=11,
                status=capacity_pb2.CAPACITY_STATUS_STRAINED,
                report_time=REPORTED,
                note="Korridorpasienter",
            ),
            capacity_pb2.Resource(
                resource_type="isolation_bed",
                total=4,
                available=0,
                occupied=4,
                status=capacity_pb2.CAPACITY_STATUS_FULL,
                report_time=REPORTED,
            ),
        ],
    )
    return capacity_pb2.GetCapacityOverviewResponse(
        units=[unit] if request.region in ("", "Nordland") else [],
        position=42,
        totals=[
            capacity_pb2.ResourceTotal(resource_type="isolation_bed", total=4, available=0, occupied=4, unit_count=1)
        ],
    )


def alerts(request: capacity_pb2.ListAlertsRequest) -> capacity_pb2.ListAlertsResponse:
    return capacity_pb2.ListAlertsResponse(
        alerts=[
            capacity_pb2.Alert(
                alert_id="a1",
                severity=capacity_pb2.ALERT_SEVERITY_CRITICAL,
                message="Masseskadehendelse, E6 nord",
                sender_orgnr="910000071",
                raise_time=REPORTED,
                expire_time=REPORTED,
                pending_orgnrs=["910000071"],
            )
        ]
    )


@pytest.fixture
def caller() -> FakeCaller:
    return FakeCaller(answers={capacity.GET_OVERVIEW: overview, capacity.LIST_ALERTS: alerts})


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_page_is_in_the_page_language_with_meters_status_words_and_oslo_times(caller, lang) -> None:
    sessions = FakeSessions()
    client = web_client(capacity.routes(), caller=caller, sessions=sessions)
    log_in(client, sessions, MARTE if lang == "nb" else MARTE.__class__(**{**MARTE.__dict__, "lang": "en"}))

    answer = client.get("/ansatt/kapasitet")

    assert answer.status_code == 200
    html = answer.text
    # Default region: that of the organisation Marte's token acts for (Bodø, Nordland).
    [(_, rpc, request), *_] = caller.calls
    assert rpc == capacity.GET_OVERVIEW and request.region == "Nordland"
    for raw in (
        "STRAINED",
        "FULL",
        "isolation_bed\u003c",
        ">isolation_bed",
        ">treatment_room",
        "CRITICAL",
        "EMERGENCY_DEPARTMENT",
    ):
        assert raw not in html
    words = {
        "nb": [
            "Presset",
            "Fullt",
            "Isolatsenger",
            "Behandlingsrom",
            "Akuttmottak",
            "Kritisk",
            "5. desember 2026 kl. 14.03",
            "Nordlandssykehuset HF",
        ],
        "en": [
            "Strained",
            "Full",
            "Isolation beds",
            "Treatment rooms",
            "Emergency department",
            "Critical",
            "5 December 2026 at 14:03",
            "Nordlandssykehuset HF",
        ],
    }[lang]
    for word in words:
        assert word in html, word
    assert html.count("<meter") == 3  # two unit resources and one sum
    assert 'class="status-badge status-strained"' in html and 'class="status-badge status-full"' in html
    live = json.loads(html.split('id="capacity-live">')[1].split("</script>")[0])
    assert live["position"] == "42" and live["region"] == "Nordland"


@pytest.mark.parametrize(
    ("parent", "child", "region"),
    [
        ("910000101", "910000128", "Akershus"),  # Marte's name, but a token of Bærum sykehus
        ("910000047", None, "Akershus"),  # only a legal entity: its region
        (None, None, ""),  # no organisation: every region, whatever the name matches
    ],
)
def test_the_default_region_is_the_sessions_organisations(caller, parent, child, region) -> None:
    sessions = FakeSessions()
    client = web_client(capacity.routes(), caller=caller, sessions=sessions)
    log_in(
        client,
        sessions,
        make_session(
            "capacity", person_name="Marte Mottaksen", scopes=MARTE.scopes, orgnr_parent=parent, orgnr_child=child
        ),
    )

    assert client.get("/ansatt/kapasitet").status_code == 200
    assert caller.calls[0][2].region == region


def test_a_region_asked_for_is_used_and_a_long_one_refused(caller) -> None:
    sessions = FakeSessions()
    client = web_client(capacity.routes(), caller=caller, sessions=sessions)
    log_in(client, sessions, MARTE)

    assert client.get("/ansatt/kapasitet?region=Akershus").status_code == 200
    assert caller.calls[0][2].region == "Akershus"
    assert client.get("/ansatt/kapasitet?region=" + "x" * 101).status_code == 400


def test_without_a_session_the_page_sends_to_the_personnel_login(caller) -> None:
    client = web_client(capacity.routes(), caller=caller)
    answer = client.get("/ansatt/kapasitet")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/logg-inn/ansatt?til=kapasitet")
    assert caller.calls == []


def test_the_relay_is_ndjson_from_the_position_asked_for(caller) -> None:
    caller.streams[capacity.WATCH_CAPACITY] = [capacity_pb2.WatchCapacityResponse(position=43)]
    sessions = FakeSessions()
    client = web_client(capacity.routes(), caller=caller, sessions=sessions)
    log_in(client, sessions, MARTE)

    answer = client.get("/ansatt/kapasitet/strom?region=Nordland&resume_after=42")

    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(line) for line in answer.text.splitlines()] == [{"position": "43"}]
    [(_, rpc, request)] = caller.calls
    assert rpc == capacity.WATCH_CAPACITY and request.region == "Nordland" and request.resume_after == 42
    assert answer.headers["cache-control"] == "no-store"


def test_a_relay_without_a_session_or_of_another_console_is_refused_as_json(caller) -> None:
    sessions = FakeSessions()
    client = web_client(capacity.routes(), caller=caller, sessions=sessions)
    client.cookies.set(SESSION_COOKIE, "ended")
    answer = client.get("/ansatt/varsler/strom")
    assert answer.status_code == 401 and answer.json()["error"]["reason"] == "WEB_SESSION_ENDED"
    log_in(client, sessions, make_session("patient"))
    answer = client.get("/ansatt/varsler/strom")
    assert answer.status_code == 403 and answer.json()["error"]["reason"] == "WEB_WRONG_CONSOLE"
    assert client.get("/ansatt/varsler/strom?resume_after=-1").status_code == 400
    assert caller.calls == []


def test_a_stream_whose_session_ends_says_so_in_its_last_line(caller, monkeypatch) -> None:
    monkeypatch.setattr(capacity, "RECHECK_SECONDS", 0.0)
    sessions = FakeSessions()
    caller.streams[capacity.WATCH_ALERTS] = [capacity_pb2.WatchAlertsResponse(position=n) for n in (1, 2, 3)]
    client = web_client(capacity.routes(), caller=caller, sessions=sessions)
    cookie = log_in(client, sessions, MARTE)
    real_load = sessions.load

    async def load_then_end(value: str):
        found = await real_load(value)
        sessions.end(cookie)  # ended (logged out elsewhere) after the relay's own first load
        return found

    sessions.load = load_then_end  # type: ignore[method-assign]

    lines = [json.loads(line) for line in client.get("/ansatt/varsler/strom").text.splitlines()]

    assert lines[0] == {"position": "1"}
    assert lines[-1]["error"]["reason"] == "WEB_SESSION_ENDED"
    assert len(lines) == 2


def test_the_old_page_moves_to_the_new_one() -> None:
    client = web_client(capacity.routes())
    answer = client.get("/pages/capacity?region=Nordland")
    assert answer.status_code == 301 and answer.headers["location"] == "/ansatt/kapasitet?region=Nordland"
    assert client.get("/pages/capacity.js").status_code == 404


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_every_status_severity_and_unit_type_has_words(lang) -> None:
    from gateway.web.i18n_loader import texts

    catalog = texts(lang)
    for enum, names, prefix in (
        (capacity_pb2.CapacityStatus, capacity.STATUS_NAMES, "capacity.status."),
        (capacity_pb2.AlertSeverity, capacity.SEVERITY_NAMES, "capacity.severity."),
        (capacity_pb2.UnitType, capacity.UNIT_TYPE_NAMES, "capacity.unit_type."),
    ):
        for value in enum.values():
            if value == 0:
                continue
            assert value in names, enum.Name(value)
            assert catalog.has(prefix + names[value]), enum.Name(value)
    assert catalog.has("capacity.status.unknown")
