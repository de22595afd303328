"""Every POST of the pages is refused unless it comes from the site's own page: the Origin
(and Sec-Fetch-Site when sent) must be ours, and the `csrf` field must be the session's
token. A refusal is a 403 page `WEB_CSRF_REFUSED`, one `gateway.security` line, and the
handler never runs."""

from __future__ import annotations

import logging

import pytest
from starlette.responses import Response

from gateway.web.context import Page, WebRoute
from gateway.web.csrf import new_token, origin_of, token_matches
from tests.support_web import ORIGIN, FakeSessions, form_post, log_in, make_session, web_client

PATH = "/pasient/regler/bekreft"


@pytest.fixture
def posted() -> list[Page]:
    return []


@pytest.fixture
def site(posted):
    async def confirm(page: Page) -> Response:
        posted.append(page)
        return page.redirect("/pasient/regler")

    async def public(page: Page) -> Response:
        posted.append(page)
        return page.redirect("/")

    sessions = FakeSessions()
    client = web_client(
        [WebRoute(PATH, {"POST": confirm}, "patient"), WebRoute("/offentlig", {"POST": public}, None)],
        sessions=sessions,
    )
    session = make_session()
    log_in(client, sessions, session)
    return client, session


def _refused(answer, posted, caplog) -> None:
    assert answer.status_code == 403
    assert "WEB_CSRF_REFUSED" in answer.text and "Skjemaet kom ikke fra denne nettsiden" in answer.text
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    assert not posted
    lines = [r for r in caplog.records if r.name == "gateway.security"]
    assert len(lines) == 1 and lines[0].reason == "WEB_CSRF_REFUSED"


def test_our_own_form_passes(site, posted) -> None:
    client, session = site
    answer = form_post(client, PATH, {"x": "1"}, session, **{"sec-fetch-site": "same-origin"})
    assert answer.status_code == 303 and answer.headers["location"] == "/pasient/regler"
    assert posted[0].form["x"] == "1"


def test_a_null_origin_passes_when_the_browser_says_same_origin(site, posted) -> None:
    """Under our Referrer-Policy: no-referrer, Chromium posts our own forms with `Origin: null`."""
    client, session = site
    answer = client.post(
        PATH, data={"csrf": session.csrf_token, "x": "1"}, headers={"origin": "null", "sec-fetch-site": "same-origin"}
    )
    assert answer.status_code == 303 and posted[0].form["x"] == "1"


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.test"},
        {"origin": "null"},
        {"origin": "null", "sec-fetch-site": "cross-site"},
        {"origin": "null", "sec-fetch-site": "same-site"},
        {},  # no Origin at all
        {"origin": "http://testserver"},  # another scheme is another origin
        {"origin": "https://testserver:8443"},
        {"origin": ORIGIN, "sec-fetch-site": "cross-site"},
        {"origin": ORIGIN, "sec-fetch-site": "same-site"},
    ],
)
def test_a_post_from_elsewhere_is_refused_before_the_form_is_read(site, posted, caplog, headers) -> None:
    client, session = site
    with caplog.at_level(logging.WARNING, logger="gateway.security"):
        answer = client.post(PATH, data={"csrf": session.csrf_token}, headers=headers)
    _refused(answer, posted, caplog)
    assert caplog.records[0].check == "origin"


@pytest.mark.parametrize("token", [None, "", "wrong", "x" * 43])
def test_a_post_without_the_sessions_token_is_refused(site, posted, caplog, token) -> None:
    client, session = site
    fields = {} if token is None else {"csrf": token}
    with caplog.at_level(logging.WARNING, logger="gateway.security"):
        answer = client.post(PATH, data=fields, headers={"origin": ORIGIN})
    _refused(answer, posted, caplog)
    assert caplog.records[0].check == "token"


def test_a_token_of_another_session_is_refused(site, posted, caplog) -> None:
    client, _ = site
    with caplog.at_level(logging.WARNING, logger="gateway.security"):
        answer = client.post(PATH, data={"csrf": new_token()}, headers={"origin": ORIGIN})
    _refused(answer, posted, caplog)


def test_a_public_post_without_a_session_has_no_token_to_match_and_is_refused(posted, caplog) -> None:
    async def public(page: Page) -> Response:
        posted.append(page)
        return page.redirect("/")

    client = web_client([WebRoute("/offentlig", {"POST": public}, None)])
    with caplog.at_level(logging.WARNING, logger="gateway.security"):
        answer = client.post("/offentlig", data={"csrf": ""}, headers={"origin": ORIGIN})
    _refused(answer, posted, caplog)


def test_a_configured_public_origin_is_the_only_one_accepted(posted) -> None:
    async def confirm(page: Page) -> Response:
        posted.append(page)
        return page.redirect("/")

    sessions = FakeSessions()
    client = web_client(
        [WebRoute(PATH, {"POST": confirm}, "patient")],
        sessions=sessions,
        expected_origin=origin_of("https://pasient.example.no/"),
    )
    session = make_session()
    log_in(client, sessions, session)
    # The request's own origin is not enough behind a proxy with a configured public URL.
    assert form_post(client, PATH, {}, session).status_code == 403
    answer = client.post(PATH, data={"csrf": session.csrf_token}, headers={"origin": "https://pasient.example.no"})
    assert answer.status_code == 303 and len(posted) == 1


def test_origin_of_normalises_as_browsers_send_origin() -> None:
    assert origin_of("https://Pasient.Example.no:443/api/v1") == "https://pasient.example.no"
    assert origin_of("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert origin_of("http://[::1]:80") == "http://[::1]"
    assert origin_of(None) is None and origin_of("") is None
    with pytest.raises(ValueError):
        origin_of("ftp://example.no")


def test_tokens_are_random_and_compared_whole() -> None:
    token = new_token()
    assert len(token) == 43 and token != new_token()
    assert token_matches(token, token)
    assert not token_matches(token, token[:-1])
    assert not token_matches("", "")
    assert not token_matches(token, None)
