"""The web pages on the cluster: a login's pending state and a session live in the gateways'
shared PostgreSQL database, so a login may start on one gateway replica and finish on the other,
and a session made through HAProxy works on either replica (pages, the language switch and a
CSRF-checked POST). The STS's login form is driven over httpx as a browser would; cookies are
carried by hand (a `__Host-` cookie is Secure, which httpx does not send over http)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from gateway.web.context import SESSION_COOKIE
from gateway.web.login import CALLBACK_PATH, LOGIN_COOKIE
from services.sts.login_form import read_login_page
from tests.cluster.conftest import RunningCluster
from tests.fixtures import people

pytestmark = pytest.mark.cluster

ESKIL_NAME = "Eskil Eksempelsen"
CSRF_INPUT = re.compile(r'name="csrf" value="([^"]+)"')


def cookie_header(cookies: dict[str, str]) -> dict[str, str]:
    return {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


def set_cookie(response: httpx.Response, name: str) -> tuple[str, str]:
    """(value, attributes lower-cased) of the cookie `name` the response sets."""
    for header in response.headers.get_list("set-cookie"):
        pair, _, attributes = header.partition(";")
        key, _, value = pair.strip().partition("=")
        if key == name:
            return value.strip('"'), attributes.lower()
    raise AssertionError(f"no {name} cookie set: {response.headers.get_list('set-cookie')}")


def at_the_sts(http: httpx.Client, authorize_url: str, pid: str) -> str:
    """Logs `pid` in on the STS's form; returns the callback URL it sends the browser to."""
    page = http.get(authorize_url)
    form, _ = read_login_page(page.text)
    assert page.status_code == 200 and form is not None, page.text
    answer = http.post(urljoin(authorize_url, form.action), data={**form.hidden, "person": pid, "action": "login"})
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def log_in(http: httpx.Client, start_at: str, finish_at: str) -> tuple[str, str]:
    """Starts the patient login at the gateway `start_at`, logs Eskil in at the STS and brings the
    answer to the gateway `finish_at` (a base URL each); returns (the redirect URI the login
    asked for, the session cookie)."""
    started = http.get(start_at + "/logg-inn/pasient")
    assert started.status_code == 303, started.text
    login_cookie, _ = set_cookie(started, LOGIN_COOKIE)
    redirect_uri = parse_qs(urlsplit(started.headers["location"]).query)["redirect_uri"][0]
    answer = urlsplit(at_the_sts(http, started.headers["location"], people.ESKIL))
    done = http.get(f"{finish_at}{answer.path}?{answer.query}", headers=cookie_header({LOGIN_COOKIE: login_cookie}))
    assert done.status_code == 303 and done.headers["location"] == "/pasient", done.text
    return redirect_uri, set_cookie(done, SESSION_COOKIE)[0]


def described(response: httpx.Response) -> str:
    """What a page answer was, for a failure message: the request, status, where a redirect
    pointed and the page's text (an error page names its reason)."""
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text)).strip()
    where = f" -> {response.headers['location']}" if "location" in response.headers else ""
    return f"{response.request.method} {response.request.url} answered {response.status_code}{where}: {text[:2000]!r}"


def page_form_token(response: httpx.Response, logged_in_as: str = f"Logget inn som {ESKIL_NAME}") -> str:
    """The csrf token of a patient page that must have been served to the session's person."""
    assert response.status_code == 200 and logged_in_as in response.text, (
        f"not the session's page: {described(response)}"
    )
    token = CSRF_INPUT.search(response.text)
    assert token, f"no csrf field on the page: {described(response)}"
    return token.group(1)


def replica_urls(cluster: RunningCluster) -> list[str]:
    return [f"http://{r.http_address}" for r in cluster.replicas("gateway")]


def answered(cluster: RunningCluster, status_class: str) -> dict[str, int]:
    """Responses of `status_class` (e.g. "3xx") each gateway gave through HAProxy's HTTP port."""
    return {
        r["svname"]: int(r[f"hrsp_{status_class}"] or 0)
        for r in cluster.lb_stats()
        if r["pxname"] == "gateways_http" and r["svname"].startswith("gateway-")
    }


def sessions_of(cluster: RunningCluster, pid: str) -> int:
    engine = sa.create_engine(cluster.postgres_urls["gateway"])
    try:
        with engine.connect() as db:
            return db.execute(
                sa.text("SELECT count(*) FROM web_sessions WHERE person_pid = :pid"), {"pid": pid}
            ).scalar_one()
    finally:
        engine.dispose()


def test_a_session_made_through_haproxy_works_on_each_gateway_replica(cluster: RunningCluster) -> None:
    first, second = replica_urls(cluster)
    public = cluster.http_url
    before = answered(cluster, "3xx")
    with httpx.Client(follow_redirects=False, timeout=20.0) as http:
        redirect_uri, cookie = log_in(http, public, public)
        after = answered(cluster, "3xx")
        session = cookie_header({SESSION_COOKIE: cookie})

        # Pages on each replica's own port: the session row is in the shared database. Each
        # answer is checked as it comes, so a failure names the first page that went wrong.
        for url in (first, second):
            page_form_token(http.get(url + "/pasient", headers=session))
        # The language switch on the first replica changes the session; the second shows it.
        switched = http.get(first + "/sprak?" + urlencode({"til": "en", "tilbake": "/pasient"}), headers=session)
        assert switched.status_code == 303 and switched.headers["location"] == "/pasient", described(switched)
        page_form_token(http.get(second + "/pasient", headers=session), f"Logged in as {ESKIL_NAME}")
        # A CSRF-checked POST on the second replica with the token of a page the first rendered.
        # The browser's origin is the public one (HAProxy), whichever replica answers.
        body = urlencode(
            {"csrf": page_form_token(http.get(first + "/pasient", headers=session), f"Logged in as {ESKIL_NAME}")}
        )
        posted = {**session, "content-type": "application/x-www-form-urlencoded"}
        refused = http.post(second + "/logg-ut", content=body, headers={**posted, "origin": second})
        out = http.post(second + "/logg-ut", content=body, headers={**posted, "origin": public})
        ended = [http.get(url + "/pasient", headers=session) for url in (first, second)]

    assert redirect_uri == public + CALLBACK_PATH  # the login names the load balancer, not a replica
    # The login's two gateway steps (start, callback) were answered through HAProxy by both
    # gateways: round robin sends consecutive requests to the other one.
    assert {name: after[name] - before.get(name, 0) for name in after} == {"gateway-0": 1, "gateway-1": 1}
    assert refused.status_code == 403 and "WEB_CSRF_REFUSED" in refused.text  # not the public origin
    assert out.status_code == 303 and out.headers["location"] == "/?utlogget=1"
    assert sessions_of(cluster, people.ESKIL) == 0
    for page in ended:  # ended on both: back to the login
        assert page.status_code == 303 and page.headers["location"].startswith("/logg-inn/pasient?")


def test_a_login_started_on_one_replica_finishes_on_the_other(cluster: RunningCluster) -> None:
    first, second = replica_urls(cluster)
    with httpx.Client(follow_redirects=False, timeout=20.0) as http:
        redirect_uri, cookie = log_in(http, first, second)  # the pending login is in the shared database
        session = cookie_header({SESSION_COOKIE: cookie})
        tokens = [page_form_token(http.get(url + "/pasient", headers=session)) for url in (first, second)]
        assert tokens[0] == tokens[1]  # one session, one token, whichever replica renders it
        out = http.post(
            first + "/logg-ut",
            content=urlencode({"csrf": tokens[1]}),
            headers={**session, "origin": cluster.http_url, "content-type": "application/x-www-form-urlencoded"},
        )

    assert redirect_uri == cluster.http_url + CALLBACK_PATH
    assert out.status_code == 303 and sessions_of(cluster, people.ESKIL) == 0
