"""The web pages' login (gateway/web/login.py, sessions.py, caller.py) on the real suite: the
development STS's login page driven over httpx as a browser would, the gateway's pages, its
Enforcer and the audit log. Cookies are carried by hand: a `__Host-` cookie is Secure, which
httpx (rightly) does not send over http; Chromium does on loopback (tests/browser)."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from opentelemetry.sdk.trace import TracerProvider
from starlette.responses import Response

from gateway.main import create_gateway
from gateway.web import auditor, capacity
from gateway.web.context import SESSION_COOKIE, Page, WebRoute
from gateway.web.login import LOGIN_COOKIE
from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from samhandling.common.v1 import common_pb2
from services.cli.token import Identity, obtain_token
from services.sts.login_form import read_login_page
from tests.fixtures import people
from tests.support import Suite, running_suite

ESKIL_NAME = "Eskil Eksempelsen"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ")
CSRF_INPUT = re.compile(r'name="csrf" value="([^"]+)"')


class Clock:
    """The sessions' clock, moved by the test; the rest of the suite keeps real time."""

    def __init__(self) -> None:
        import time

        self.start = time.time()
        self.offset = 0.0

    def __call__(self) -> float:
        return self.start + self.offset


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False, timeout=20.0) as client:
        yield client


def base(suite: Suite) -> str:
    return f"http://{suite.settings.addresses['gateway_http']}"


def cookie_header(cookies: dict[str, str]) -> dict[str, str]:
    return {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}


def set_cookies(response: httpx.Response) -> dict[str, tuple[str, str]]:
    """name -> (value, the attributes as sent, lower-cased)."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        pair, _, attributes = header.partition(";")
        name, _, value = pair.strip().partition("=")
        found[name] = (value.strip('"'), attributes.lower())
    return found


@dataclass
class Flow:
    responses: list[httpx.Response]
    authorize_url: str
    callback_url: str
    login_cookie: str
    done: httpx.Response

    @property
    def cookie(self) -> str:
        return set_cookies(self.done)[SESSION_COOKIE][0]


async def start_login(
    http: httpx.AsyncClient, gateway: str, path: str = "/logg-inn/pasient", presented: dict[str, str] | None = None
) -> tuple[httpx.Response, str]:
    started = await http.get(gateway + path, headers=cookie_header(presented or {}))
    assert started.status_code == 303, started.text
    return started, set_cookies(started)[LOGIN_COOKIE][0]


async def at_the_sts(http: httpx.AsyncClient, authorize_url: str, pid: str) -> httpx.Response:
    page = await http.get(authorize_url)
    form, _ = read_login_page(page.text)
    assert page.status_code == 200 and form is not None, page.text
    answer = await http.post(
        urljoin(authorize_url, form.action), data={**form.hidden, "person": pid, "action": "login"}
    )
    assert answer.status_code == 302, answer.text
    return answer


async def log_in(
    http: httpx.AsyncClient,
    gateway: str,
    pid: str = people.ESKIL,
    *,
    path: str = "/logg-inn/pasient",
    presented: dict[str, str] | None = None,
) -> Flow:
    started, login_cookie = await start_login(http, gateway, path, presented)
    authorize_url = started.headers["location"]
    answer = await at_the_sts(http, authorize_url, pid)
    callback_url = answer.headers["location"]
    done = await http.get(callback_url, headers=cookie_header({LOGIN_COOKIE: login_cookie, **(presented or {})}))
    return Flow([started, answer, done], authorize_url, callback_url, login_cookie, done)


def session_rows(suite: Suite) -> list[sa.Row]:
    engine = sa.create_engine(suite.settings.database_url("gateway"))
    try:
        with engine.connect() as db:
            return list(db.execute(sa.text("SELECT * FROM web_sessions")))
    finally:
        engine.dispose()


async def get(http: httpx.AsyncClient, url: str, cookie: str) -> httpx.Response:
    return await http.get(url, headers=cookie_header({SESSION_COOKIE: cookie}))


async def log_out(http: httpx.AsyncClient, gateway: str, cookie: str, origin: str | None = None) -> httpx.Response:
    page = await get(http, gateway + "/pasient", cookie)
    token = CSRF_INPUT.search(page.text)
    assert token, page.text
    return await http.post(
        gateway + "/logg-ut",
        content=urlencode({"csrf": token.group(1)}),
        headers={
            **cookie_header({SESSION_COOKIE: cookie}),
            "origin": origin or gateway,
            "content-type": "application/x-www-form-urlencoded",
        },
    )


async def patient_auth(suite: Suite, pid: str) -> tuple[tuple[str, str], ...]:
    """The patient's own token (the CLI's login at samhandling-web), to read her access log."""
    token = await obtain_token(suite.settings, Identity(patient=pid))
    return (("authorization", f"Bearer {token.access_token}"),)


def reason_of(response: httpx.Response) -> str:
    found = re.search(r"[A-Z][A-Z0-9_]{5,}", response.text.split("<main", 1)[-1])
    return found.group(0) if found else ""


async def test_a_patient_logs_in_and_her_page_reads_through_the_enforcer_with_no_token_in_the_browser(
    suite: Suite, http: httpx.AsyncClient
) -> None:
    gateway = base(suite)

    flow = await log_in(http, gateway)
    page = await get(http, gateway + "/pasient", flow.cookie)

    # The authorize request: code + PKCE S256 + state + nonce, and no person number (no login_hint).
    query = {k: v[0] for k, v in parse_qs(urlsplit(flow.authorize_url).query).items()}
    assert query["response_type"] == "code" and query["client_id"] == "samhandling-portal"
    assert query["code_challenge_method"] == "S256" and query["state"] and query["nonce"]
    assert query["scope"] == "openid profile samhandling:patient"
    assert query["redirect_uri"] == gateway + "/innlogging/ferdig"
    assert "login_hint" not in query and people.ESKIL not in flow.authorize_url
    # The callback lands on the patient's page with the session cookie, flagged as it must be.
    assert flow.done.status_code == 303 and flow.done.headers["location"] == "/pasient"
    value, attributes = set_cookies(flow.done)[SESSION_COOKIE]
    assert len(value) == 43
    assert {a.strip() for a in attributes.split(";") if a.strip()} == {"httponly", "path=/", "samesite=lax", "secure"}
    assert set_cookies(flow.done)[LOGIN_COOKIE][1].count("max-age=0") == 1  # the login cookie is cleared
    # One session row, keyed by the cookie's hash only; its tokens never reach the browser.
    [row] = session_rows(suite)
    assert row.id_hash == hashlib.sha256(value.encode()).digest()
    assert value not in {str(v) for v in row}
    assert row.person_pid == people.ESKIL and row.person_name == ESKIL_NAME and row.console == "patient"
    assert row.orgnr_parent is None and row.orgnr_child is None  # a patient acts for no organisation
    for response in [*flow.responses, page]:
        shown = response.text + str(response.url) + " ".join(f"{k}: {v}" for k, v in response.headers.items())
        assert row.access_token not in shown and not JWT.search(shown)
    assert people.ESKIL not in flow.callback_url
    # The page: who is logged in, and the rules count read through the Enforcer, so audited.
    assert page.status_code == 200 and f"Logget inn som {ESKIL_NAME}" in page.text
    assert "delingsregler i kraft" in page.text
    events = await audit_pb2_grpc.AuditServiceStub(suite.gateway).ListEvents(
        audit_pb2.ListEventsRequest(patient_id=people.ESKIL), metadata=await patient_auth(suite, people.ESKIL)
    )
    reads = [e for e in events.events if e.actor.client_id == "samhandling-portal"]
    # Oversikt reads the summary (services, vital signs) and the rules (consent), all as hers.
    assert reads and all(e.action == audit_pb2.ACTION_READ and e.decision == common_pb2.DECISION_PERMIT for e in reads)
    assert common_pb2.DATA_CATEGORY_CONSENT in {e.data_category for e in reads}


async def test_the_landing_page_links_to_the_patient_login(suite: Suite, http: httpx.AsyncClient) -> None:
    landing = await http.get(base(suite) + "/")

    assert 'href="/logg-inn/pasient"' in landing.text


@pytest.fixture
async def staff_suite(tmp_path, monkeypatch) -> AsyncIterator[Suite]:
    """The suite with a stand-in auditor home page (the auditor console is another part's):
    the staff login is offered for a console only once its home page exists."""

    async def home(page: Page) -> Response:
        assert page.session is not None
        session = page.session
        return Response(
            f"revisor {session.person_name} {session.orgnr_parent}/{session.orgnr_child}", media_type="text/plain"
        )

    monkeypatch.setattr(auditor, "routes", lambda: [WebRoute("/revisor", {"GET": home}, "auditor")])
    monkeypatch.setattr(capacity, "routes", lambda: [])  # without its page, no capacity login
    async with running_suite(tmp_path) as running:
        yield running


async def test_an_auditor_logs_in_at_the_staff_client_for_her_console_only(
    staff_suite: Suite, http: httpx.AsyncClient
) -> None:
    gateway = base(staff_suite)
    landing = await http.get(gateway + "/")

    flow = await log_in(http, gateway, people.PETRA, path="/logg-inn/ansatt?til=revisor")
    home = await get(http, gateway + "/revisor", flow.cookie)
    patients = await get(http, gateway + "/pasient", flow.cookie)
    no_page_yet = await http.get(gateway + "/logg-inn/ansatt?til=kapasitet")

    assert 'href="/logg-inn/ansatt?til=revisor"' in landing.text
    query = parse_qs(urlsplit(flow.authorize_url).query)
    assert query["client_id"] == ["samhandling-ansatt"] and query["scope"] == [
        "openid profile nhn:samhandling/audit.read"
    ]
    assert flow.done.headers["location"] == "/revisor"
    [row] = session_rows(staff_suite)
    assert (row.console, row.person_pid, row.client_id) == ("auditor", people.PETRA, "samhandling-ansatt")
    assert "nhn:samhandling/audit.read" in row.scopes.split()
    # The session keeps the organisation her token acts for (Bodø kommune, hjemmesykepleie).
    assert (row.orgnr_parent, row.orgnr_child) == ("910000012", "910000020")
    assert home.status_code == 200 and home.text == "revisor Petra Personvernsen 910000012/910000020"
    assert patients.status_code == 403 and reason_of(patients) == "WEB_WRONG_CONSOLE"
    assert no_page_yet.status_code == 401 and reason_of(no_page_yet) == "WEB_LOGIN_FAILED"


async def test_an_answer_with_another_state_is_refused_and_makes_no_session(
    suite: Suite, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = base(suite)
    started, login_cookie = await start_login(http, gateway)
    answer = await at_the_sts(http, started.headers["location"], people.ESKIL)
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]

    forged = await http.get(
        gateway + "/innlogging/ferdig?" + urlencode({"code": code, "state": "forged"}),
        headers=cookie_header({LOGIN_COOKIE: login_cookie}),
    )
    no_login = await http.get(answer.headers["location"])  # no login cookie: not this browser's login

    for refused in (forged, no_login):
        assert refused.status_code == 401 and reason_of(refused) == "WEB_LOGIN_FAILED"
        assert SESSION_COOKIE not in set_cookies(refused)
    assert session_rows(suite) == []
    lines = [r for r in caplog.records if r.name == "gateway.security" and r.getMessage() == "web login refused"]
    assert [r.detail for r in lines] == [  # type: ignore[attr-defined]
        "the answer's state is not this login's",
        "no login is under way in this browser, or it took too long",
    ]
    assert not any(code in r.detail for r in lines)  # type: ignore[attr-defined]


async def test_a_code_cannot_be_used_twice(suite: Suite, http: httpx.AsyncClient) -> None:
    gateway = base(suite)
    flow = await log_in(http, gateway)
    assert flow.done.status_code == 303

    # The same answer again (its pending login is spent), and the spent code with a new login's state.
    again = await http.get(flow.callback_url, headers=cookie_header({LOGIN_COOKIE: flow.login_cookie}))
    started, login_cookie = await start_login(http, gateway)
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    code = parse_qs(urlsplit(flow.callback_url).query)["code"][0]
    replayed = await http.get(
        gateway + "/innlogging/ferdig?" + urlencode({"code": code, "state": state}),
        headers=cookie_header({LOGIN_COOKIE: login_cookie}),
    )

    for refused in (again, replayed):
        assert refused.status_code == 401 and reason_of(refused) == "WEB_LOGIN_FAILED"
    assert len(session_rows(suite)) == 1


async def test_a_session_id_the_browser_brought_is_never_kept(suite: Suite, http: httpx.AsyncClient) -> None:
    gateway = base(suite)
    first = await log_in(http, gateway)

    second = await log_in(http, gateway, presented={SESSION_COOKIE: first.cookie})
    planted = await log_in(http, gateway, presented={SESSION_COOKIE: "chosen-by-an-attacker"})

    assert len({first.cookie, second.cookie, planted.cookie, "chosen-by-an-attacker"}) == 4
    assert (await get(http, gateway + "/pasient", first.cookie)).status_code == 303  # replaced: ended
    assert (await get(http, gateway + "/pasient", second.cookie)).status_code == 200
    assert len(session_rows(suite)) == 2


async def test_logout_deletes_the_session_and_the_old_cookie_is_sent_to_the_login(
    suite: Suite, http: httpx.AsyncClient
) -> None:
    gateway = base(suite)
    flow = await log_in(http, gateway)

    out = await log_out(http, gateway, flow.cookie)
    after = await get(http, gateway + "/pasient", flow.cookie)

    assert out.status_code == 303 and out.headers["location"] == "/?utlogget=1"
    assert "max-age=0" in set_cookies(out)[SESSION_COOKIE][1]
    assert session_rows(suite) == []
    assert after.status_code == 303
    assert after.headers["location"] == "/logg-inn/pasient?" + urlencode({"tilbake": "/pasient", "utlopt": "1"})


async def test_a_cross_origin_logout_is_refused_and_the_session_lives_on(suite: Suite, http: httpx.AsyncClient) -> None:
    gateway = base(suite)
    flow = await log_in(http, gateway)

    refused = await log_out(http, gateway, flow.cookie, origin="http://evil.test")

    assert refused.status_code == 403 and reason_of(refused) == "WEB_CSRF_REFUSED"
    assert len(session_rows(suite)) == 1
    assert (await get(http, gateway + "/pasient", flow.cookie)).status_code == 200


@pytest.fixture
async def short_suite(tmp_path) -> AsyncIterator[tuple[Suite, Clock]]:
    async with running_suite(tmp_path, web_session_idle_seconds=100.0, web_session_max_seconds=300.0) as running:
        clock = Clock()
        running.app.web.sessions.clock = clock  # type: ignore[attr-defined]
        yield running, clock


async def test_a_session_ends_after_the_idle_limit(short_suite: tuple[Suite, Clock], http: httpx.AsyncClient) -> None:
    suite, clock = short_suite
    gateway = base(suite)
    flow = await log_in(http, gateway)

    clock.offset = 99
    within = await get(http, gateway + "/pasient", flow.cookie)
    clock.offset = 99 + 101
    idle = await get(http, gateway + "/pasient", flow.cookie)

    assert within.status_code == 200
    assert idle.status_code == 303 and "utlopt=1" in idle.headers["location"]
    assert session_rows(suite) == []
    # The login page says why before going on to the issuer, with a link on to the same login.
    told = await get(http, gateway + idle.headers["location"], flow.cookie)
    assert told.status_code == 200
    assert (
        '<p class="notice" role="status">Økten din er avsluttet: du blir logget ut etter 2 minutter uten '
        "aktivitet, og senest etter"
    ) in told.text
    assert 'href="/logg-inn/pasient?tilbake=%2Fpasient"' in told.text


async def test_a_session_ends_at_the_absolute_limit_however_active(
    short_suite: tuple[Suite, Clock], http: httpx.AsyncClient
) -> None:
    suite, clock = short_suite
    gateway = base(suite)
    flow = await log_in(http, gateway)

    statuses = []
    for offset in (90, 180, 270, 299, 300):
        clock.offset = offset
        statuses.append((await get(http, gateway + "/pasient", flow.cookie)).status_code)

    assert statuses == [200, 200, 200, 200, 303]
    assert session_rows(suite) == []


async def test_a_session_is_served_by_another_gateway_on_the_same_database(
    suite: Suite, http: httpx.AsyncClient
) -> None:
    flow = await log_in(http, base(suite))
    other = create_gateway(suite.settings, TracerProvider(), address="127.0.0.1:0", http_address="127.0.0.1:0")
    await other.start()
    try:
        elsewhere = f"http://127.0.0.1:{other.http_server.port}"
        page = await get(http, elsewhere + "/pasient", flow.cookie)
        out = await log_out(http, elsewhere, flow.cookie)
    finally:
        await other.stop(grace=0)

    assert page.status_code == 200 and f"Logget inn som {ESKIL_NAME}" in page.text
    assert out.status_code == 303 and session_rows(suite) == []


@pytest.fixture
async def clocked_suite(tmp_path) -> AsyncIterator[tuple[Suite, Clock]]:
    async with running_suite(tmp_path) as running:
        clock = Clock()
        running.app.web.sessions.clock = clock  # type: ignore[attr-defined]
        yield running, clock


async def test_a_token_near_its_end_is_refreshed_by_one_request_while_the_others_wait(
    clocked_suite: tuple[Suite, Clock], http: httpx.AsyncClient
) -> None:
    suite, clock = clocked_suite
    gateway = base(suite)
    flow = await log_in(http, gateway)
    [before] = session_rows(suite)

    clock.offset = 600 - 55  # less than a minute of the access token left
    pages = await asyncio.gather(*(get(http, gateway + "/pasient", flow.cookie) for _ in range(3)))
    [after] = session_rows(suite)
    # The new token is again within a minute of its end by the moved clock, so this refreshes
    # with the rotated refresh token: had two requests spent one, the issuer would have
    # revoked the family and this would end the session.
    again = await get(http, gateway + "/pasient", flow.cookie)

    assert [p.status_code for p in pages] == [200, 200, 200] and again.status_code == 200
    assert after.access_token != before.access_token and after.refresh_token != before.refresh_token
    assert after.refreshing_until is None
    assert before.refresh_token not in again.text and after.access_token not in again.text


async def test_a_refused_refresh_token_ends_the_session(
    clocked_suite: tuple[Suite, Clock], http: httpx.AsyncClient
) -> None:
    suite, clock = clocked_suite
    gateway = base(suite)
    flow = await log_in(http, gateway)
    engine = sa.create_engine(suite.settings.database_url("gateway"))
    with engine.begin() as db:
        db.execute(sa.text("UPDATE web_sessions SET refresh_token = 'not-a-refresh-token'"))
    engine.dispose()

    clock.offset = 600 - 55
    ended = await get(http, gateway + "/pasient", flow.cookie)
    after = await get(http, gateway + "/pasient", flow.cookie)

    assert ended.status_code == 401 and reason_of(ended) == "WEB_SESSION_ENDED"
    assert session_rows(suite) == []
    assert after.status_code == 303 and "utlopt=1" in after.headers["location"]
