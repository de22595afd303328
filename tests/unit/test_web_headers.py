"""Every answer of the web pages, whatever produced it (a page, a redirect, a static file, a
refusal, a fault), carries the CSP and the security headers; HEAD is never served; unknown
paths outside /api/ get an HTML 404, unknown /api/ paths the API's JSON; the console guard
sends people without a session to the login and refuses a session of another console."""

from __future__ import annotations

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider
from starlette.responses import Response

from gateway.web.app import CSP, create_web_mount
from gateway.web.context import LANG_COOKIE, SESSION_COOKIE, Page, WebRoute
from services.platform.errors import ServiceError, unavailable
from tests.support_web import FakeSessions, form_post, log_in, make_session, web_client

SECURITY = {
    "content-security-policy": CSP,
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cross-origin-opener-policy": "same-origin",
}


async def _fails(page: Page) -> Response:
    raise RuntimeError("secret detail /home/x/app.py line 12")


async def _unavailable(page: Page) -> Response:
    raise unavailable("CONSENT_UNAVAILABLE", "consent does not answer")


async def _patient_home(page: Page) -> Response:
    assert page.session is not None
    return page.render("landing.html", page_title=page.session.person_name, logins=[], logged_out=False)


ROUTES = [
    WebRoute("/feil", {"GET": _fails}, None),
    WebRoute("/borte", {"GET": _unavailable}, None),
    WebRoute("/pasient", {"GET": _patient_home, "POST": _patient_home}, "patient"),
    WebRoute("/revisor", {"GET": _patient_home}, "auditor"),
]


@pytest.fixture
def sessions() -> FakeSessions:
    return FakeSessions()


@pytest.fixture
def client(sessions):
    return web_client(ROUTES, sessions=sessions)


def _secured(answer, cache: str = "no-store") -> None:
    for header, value in SECURITY.items():
        assert answer.headers.get(header) == value, header
    assert answer.headers["cache-control"] == cache


def test_the_csp_is_the_designs() -> None:
    assert CSP == (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


@pytest.mark.parametrize(
    ("method", "path", "status", "cache"),
    [
        ("GET", "/", 200, "no-store"),
        ("GET", "/sprak?til=en&tilbake=/", 303, "no-store"),
        ("GET", "/sprak?til=de", 400, "no-store"),
        ("GET", "/static/site.css", 200, "no-cache"),
        ("GET", "/static/favicon.svg", 200, "no-cache"),
        ("GET", "/finnes-ikke", 404, "no-store"),
        ("GET", "/static/finnes-ikke.js", 404, "no-store"),
        ("HEAD", "/", 405, "no-store"),
        ("PUT", "/", 405, "no-store"),
        ("GET", "/feil", 500, "no-store"),
        ("GET", "/borte", 503, "no-store"),
        ("GET", "/pasient", 303, "no-store"),
        ("POST", "/pasient", 303, "no-store"),  # no session: to the login, nothing done
    ],
)
def test_every_answer_carries_the_security_headers(client, method, path, status, cache) -> None:
    answer = client.request(method, path)
    assert answer.status_code == status
    _secured(answer, cache)
    if status >= 400 and method != "HEAD":
        assert answer.headers["content-type"] == "text/html; charset=utf-8"


def test_head_is_not_added_to_get_and_405_names_the_methods(client) -> None:
    for path, allow in [("/", "GET"), ("/pasient", "GET, POST"), ("/static/site.css", "GET")]:
        answer = client.head(path)
        assert answer.status_code == 405 and answer.headers["allow"] == allow


def test_unknown_paths_are_html_outside_api_and_json_inside(client) -> None:
    page = client.get("/pasient/finnes-ikke")
    assert page.status_code == 404 and "Fant ikke siden" in page.text and "ROUTE_NOT_FOUND" in page.text
    for path in ["/api/v1/finnes-ikke", "/api"]:
        api = client.get(path)
        assert api.status_code == 404 and api.headers["content-type"] == "application/json"
        assert api.json()["error"]["reason"] == "ROUTE_NOT_FOUND"


def test_a_fault_is_a_page_without_its_detail_but_with_a_trace_id(client) -> None:
    answer = client.get("/feil")
    assert answer.status_code == 500
    assert "Noe gikk galt hos oss" in answer.text and "Referanse for brukerstøtte: " in answer.text
    assert "secret detail" not in answer.text and "Traceback" not in answer.text and "app.py" not in answer.text
    unavailable_page = client.get("/borte")
    assert "Tjenesten svarer ikke akkurat nå" in unavailable_page.text
    assert "CONSENT_UNAVAILABLE" in unavailable_page.text


def test_error_pages_follow_the_language_cookie(client) -> None:
    client.cookies.set(LANG_COOKIE, "en")
    answer = client.get("/finnes-ikke")
    assert '<html lang="en">' in answer.text and "Page not found" in answer.text


def test_without_a_session_a_console_page_goes_to_its_login(client) -> None:
    answer = client.get("/pasient")
    assert answer.status_code == 303 and answer.headers["location"] == "/logg-inn/pasient?tilbake=%2Fpasient"
    auditor = client.get("/revisor")
    assert auditor.headers["location"] == "/logg-inn/ansatt?til=revisor&tilbake=%2Frevisor"


def test_an_ended_session_goes_to_the_login_saying_so(client) -> None:
    client.cookies.set(SESSION_COOKIE, "a-session-that-has-ended")
    answer = client.get("/pasient")
    assert answer.headers["location"] == "/logg-inn/pasient?tilbake=%2Fpasient&utlopt=1"


def test_a_session_of_another_console_is_refused(client, sessions) -> None:
    session = make_session("capacity")
    log_in(client, sessions, session)
    answer = client.get("/pasient")
    assert answer.status_code == 403 and "WEB_WRONG_CONSOLE" in answer.text
    assert "Du er logget inn til en annen del" in answer.text
    # Before the CSRF check: the wrong console is what the person must hear about.
    assert form_post(client, "/pasient", {}, session).status_code == 403


def test_the_right_console_gets_its_session_and_language(client, sessions) -> None:
    log_in(client, sessions, make_session("patient", lang="en", person_name="Eskil <b>"))
    answer = client.get("/pasient")
    assert answer.status_code == 200
    assert '<html lang="en">' in answer.text
    assert "<title>Eskil &lt;b&gt; – Samhandling</title>" in answer.text


def test_the_language_switch_sets_the_cookie_and_goes_back_only_to_a_page_of_ours(client, sessions) -> None:
    answer = client.get("/sprak?til=en&tilbake=/pasient")
    assert answer.status_code == 303 and answer.headers["location"] == "/pasient"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{LANG_COOKIE}=en;")
    for flag in ["HttpOnly", "Path=/", "SameSite=lax", "Secure"]:
        assert flag in cookie
    for elsewhere in [
        "//evil.test/",
        "https://evil.test/",
        "/finnes-ikke",
        "/finnes-ikke?x=1",
        "/\\evil.test",
        "//evil.test/?x=1",
        "/?" + "x=1&" * 400,
    ]:
        assert client.get("/sprak", params={"til": "nb", "tilbake": elsewhere}).headers["location"] == "/"
    assert client.get("/sprak?til=nb").headers["location"] == "/"


def test_the_language_switch_keeps_the_pages_query(client, sessions) -> None:
    back = "/pasient?side=2&q=a b&neste=//evil.test"
    answer = client.get("/sprak", params={"til": "en", "tilbake": back})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/pasient?side=2&q=a+b&neste=%2F%2Fevil.test"
    log_in(client, sessions, make_session("patient"))
    page = client.get("/pasient?side=2&q=a+b")
    assert 'href="/sprak?til=en&amp;tilbake=%2Fpasient%3Fside%3D2%26q%3Da%2Bb"' in page.text


def test_the_language_switch_updates_the_session(client, sessions) -> None:
    cookie = log_in(client, sessions, make_session("patient", lang="nb"))
    client.get("/sprak?til=en&tilbake=/pasient")
    assert sessions.by_cookie[cookie].lang == "en"
    assert '<html lang="en">' in client.get("/pasient").text


def test_the_landing_page_links_only_to_logins_that_exist(client) -> None:
    assert "/logg-inn/" not in client.get("/").text

    async def login(page: Page) -> Response:
        return page.redirect("/")

    with_login = web_client(
        [WebRoute("/logg-inn/pasient", {"GET": login}, None), WebRoute("/logg-inn/ansatt", {"GET": login}, None)]
    )
    text = with_login.get("/").text
    assert 'href="/logg-inn/pasient"' in text
    assert 'href="/logg-inn/ansatt?til=revisor"' in text and 'href="/logg-inn/ansatt?til=kapasitet"' in text


def test_the_logged_out_notice(client) -> None:
    assert "Du er logget ut." in client.get("/?utlogget=1").text
    assert "Du er logget ut." not in client.get("/").text


@pytest.mark.parametrize("path", ["/", "/sprak", "/api/v1/x", "/static/site.css"])
def test_a_route_may_not_take_a_reserved_or_taken_path(path) -> None:
    async def handler(page: Page) -> Response:
        return page.redirect("/")

    with pytest.raises(ValueError):
        create_web_mount(None, [WebRoute(path, {"GET": handler}, None)], TracerProvider())  # type: ignore[arg-type]


@pytest.mark.parametrize("methods", [["HEAD"], ["GET", "HEAD"], ["get"], ["DELETE"], []])
def test_a_route_takes_get_and_post_only(methods) -> None:
    async def handler(page: Page) -> Response:
        return page.redirect("/")

    with pytest.raises(ValueError, match="GET and POST only"):
        create_web_mount(
            None,
            [WebRoute("/x", dict.fromkeys(methods, handler), None)],  # type: ignore[arg-type]
            TracerProvider(),
        )


def test_a_service_error_status_maps_to_the_page_status() -> None:
    async def denied(page: Page) -> Response:
        raise ServiceError(grpc.StatusCode.PERMISSION_DENIED, "CONSENT_DENIED", "no")

    answer = web_client([WebRoute("/nei", {"GET": denied}, None)]).get("/nei")
    assert answer.status_code == 403 and "Du har ikke tilgang til disse opplysningene." in answer.text
