"""Flow 5 of issue 13 in a real Chromium against the real suite: no token ever reaches the
browser (page, storage, URLs) and no person number is in a URL, over a patient's own pages and
those of a guardian acting for a child (where neither person number is in a page either); the session cookie's flags;
a form posted from another site is refused (in the browser, and with httpx: a foreign
Origin, a missing csrf field); the escalation inbox and an opened escalation hold no token nor
the patient's person number, and its action form refuses another site's post; after logout the old cookie gets the login on pages and
WEB_SESSION_ENDED on the stream relays; a session made on one gateway works on a second
one that shares its database (for a GET and for a CSRF-checked POST)."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from playwright.async_api import Page, Route, expect

from gateway.main import create_gateway
from gateway.web import capacity
from gateway.web.context import SESSION_COOKIE
from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from tests.browser.conftest import requests_seen
from tests.fixtures import people
from tests.fixtures.browser_pages import ACTING_SWEEP, JWT, act_for_frida, base_of, login_as, record_worsening
from tests.fixtures.browser_pages import SWEEP as PATIENT_SWEEP
from tests.fixtures.people import ESKIL, FRIDA, MIKKEL
from tests.support import Suite

pytestmark = pytest.mark.browser

SEEDED_PIDS = (people.MARTE, ESKIL, people.PETRA, people.MIKKEL, people.FRIDA, people.JONAS)
EVIL = "http://evil.test"


def stored_secrets(suite: Suite) -> list[str]:
    import sqlalchemy as sa

    engine = sa.create_engine(suite.settings.database_url("gateway"))
    try:
        with engine.connect() as db:
            rows = db.execute(sa.text("SELECT access_token, refresh_token FROM web_sessions")).all()
    finally:
        engine.dispose()
    return [value for row in rows for value in row if value]


async def session_cookie(page: Page) -> str:
    return next(c["value"] for c in await page.context.cookies() if c["name"] == SESSION_COOKIE)


async def test_no_token_or_person_number_reaches_the_browser(suite: Suite, page: Page) -> None:
    base = base_of(suite)
    await record_worsening(suite, ESKIL, "security-0")  # so that "Varsler om forverring" lists one
    await login_as(page, base, "capacity", people.MARTE)
    # The live relays have answered (the alert watch's snapshot redraws the list).
    await page.wait_for_function("document.getElementById('live-status').textContent.length > 0")
    await expect(page.locator("#live-banner")).to_be_hidden()
    await login_as(page, base, "patient", ESKIL)  # a second console in the same browser replaces the session

    secrets = stored_secrets(suite)
    assert secrets  # the tokens exist, server-side only
    cookie = next(c for c in await page.context.cookies() if c["name"] == SESSION_COOKIE)
    assert cookie["name"].startswith("__Host-") and cookie["path"] == "/"
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"
    assert not await page.evaluate("document.cookie.includes('samhandling')")
    # Every patient page a session shows (the sweep's list), not only the first one.
    await assert_nothing_leaks(page, base, [path for _, who, path in PATIENT_SWEEP if who == ESKIL], secrets)
    await page.goto(base + "/pasient/forverring")
    await expect(page.locator("li.card")).to_have_count(1)  # the page swept held his escalation


async def assert_nothing_leaks(
    page: Page, base: str, paths: list[str], secrets: list[str], hidden_pids: tuple[str, ...] = ()
) -> None:
    """Each page of `paths` holds no token (JWT-shaped or stored) in its DOM or storage, nor
    any of `hidden_pids`; no URL the page requested so far holds a token or a person number."""
    for path in paths:
        await page.goto(base + path)
        content = await page.content()
        storage = await page.evaluate("JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
        assert json.loads(storage) == [[], []]
        for place in (content, storage):
            assert not JWT.search(place) and not any(s in place for s in secrets), path
            assert not any(pid in place for pid in hidden_pids), path
    seen = requests_seen(page)
    assert seen
    for url in seen:
        assert not JWT.search(url) and not any(s in url for s in secrets), url
        assert not any(pid in url for pid in SEEDED_PIDS), url


async def test_nothing_leaks_to_a_guardian_acting_for_a_child(suite: Suite, page: Page) -> None:
    """The pages Mikkel sees acting for Frida: no token anywhere, neither person number in a
    page (a patient reader's pages show names, not numbers) nor in any URL."""
    base = base_of(suite)
    await act_for_frida(page, base)
    secrets = stored_secrets(suite)
    assert secrets
    await assert_nothing_leaks(page, base, ACTING_SWEEP, secrets, hidden_pids=(MIKKEL, FRIDA))
    await page.goto(base + "/pasient/logg?meg=1")
    await page.locator('a[href^="/pasient/logg/"]').first.click()  # a proof page of her log
    await page.wait_for_url(re.compile(re.escape(base) + r"/pasient/logg/\d+$"))
    await assert_nothing_leaks(page, base, [page.url.removeprefix(base)], secrets, hidden_pids=(MIKKEL, FRIDA))


async def test_the_inbox_leaks_nothing_and_its_forms_take_only_our_own_posts(suite: Suite, page: Page) -> None:
    base = base_of(suite)
    escalation_id = (await record_worsening(suite, people.TOR, "security-1")).escalation_id
    await login_as(page, base, "inbox", people.LARS)
    opened = f"/ansatt/eskaleringer/{escalation_id}"
    secrets = stored_secrets(suite)
    await assert_nothing_leaks(page, base, ["/ansatt/eskaleringer", opened], secrets, hidden_pids=(people.TOR,))
    assert not any(pid in url for url in requests_seen(page) for pid in (people.TOR, people.LARS))

    cookie = await session_cookie(page)
    csrf = await page.locator('input[name="csrf"]').first.get_attribute("value")
    request_id = await page.locator('input[name="foresporsel"]').first.get_attribute("value")
    headers = {"cookie": f"{SESSION_COOKIE}={cookie}", "content-type": "application/x-www-form-urlencoded"}
    body = f"csrf={csrf}&handling=kvitter&foresporsel={request_id}"
    async with httpx.AsyncClient(base_url=base) as http:
        foreign = await http.post(opened, content=body, headers={**headers, "origin": EVIL})
        assert foreign.status_code == 403 and "WEB_CSRF_REFUSED" in foreign.text
    await page.reload()
    await expect(page.locator(".facts .state")).to_have_text("Venter på kvittering")  # nothing was acknowledged


async def test_a_form_posted_from_another_site_is_refused(suite: Suite, page: Page) -> None:
    base = base_of(suite)
    await login_as(page, base, "capacity", people.MARTE)
    cookie = await session_cookie(page)
    csrf = await page.locator('input[name="csrf"]').first.get_attribute("value")
    assert csrf

    async def evil_page(route: Route) -> None:
        await route.fulfill(
            content_type="text/html",
            body=(
                f'<!doctype html><title>evil</title><form id="f" method="post" action="{base}/logg-ut">'
                f'<input name="csrf" value="guessed"></form><script>document.getElementById("f").submit()</script>'
            ),
        )

    await page.route(f"{EVIL}/**", evil_page)
    async with page.expect_response(f"{base}/logg-ut") as posted:
        await page.goto(f"{EVIL}/innbydelse")
    assert (await posted.value).status == 403
    await expect(page.get_by_text("WEB_CSRF_REFUSED")).to_be_visible()
    # The session is untouched: the capacity page still opens without a login.
    answer = await page.goto(base + "/ansatt/kapasitet")
    assert answer is not None and answer.status == 200 and page.url == base + "/ansatt/kapasitet"

    headers = {"cookie": f"{SESSION_COOKIE}={cookie}", "content-type": "application/x-www-form-urlencoded"}
    async with httpx.AsyncClient(base_url=base) as http:
        foreign = await http.post("/logg-ut", content=f"csrf={csrf}", headers={**headers, "origin": EVIL})
        assert foreign.status_code == 403 and "WEB_CSRF_REFUSED" in foreign.text
        without_token = await http.post("/logg-ut", content="", headers={**headers, "origin": base})
        assert without_token.status_code == 403 and "WEB_CSRF_REFUSED" in without_token.text
        page_answer = await http.get("/ansatt/kapasitet", headers={"cookie": headers["cookie"]})
        assert page_answer.status_code == 200  # neither refusal ended the session
        own = await http.post("/logg-ut", content=f"csrf={csrf}", headers={**headers, "origin": base})
        assert own.status_code == 303 and own.headers["location"] == "/?utlogget=1"


async def test_after_logout_the_old_cookie_gets_nothing(
    suite: Suite, page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capacity, "RECHECK_SECONDS", 0.0)  # re-check at every message, not every 15 s
    base = base_of(suite)
    await login_as(page, base, "capacity", people.MARTE)
    cookie = await session_cookie(page)
    old = {"cookie": f"{SESSION_COOKIE}={cookie}"}
    async with (
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        http.stream("GET", "/ansatt/kapasitet/strom?region=Nordland", headers=old) as relay,
    ):
        assert relay.status_code == 200
        lines = relay.aiter_lines()
        assert "snapshot" in json.loads(await anext(lines))
        await page.get_by_role("button", name="Logg ut").click()
        await page.wait_for_url(base + "/?utlogget=1")
        # The next message of the open relay (a report) finds the session ended.
        await capacity_pb2_grpc.CapacityServiceStub(suite.gateway).ReportCapacity(
            capacity_pb2.ReportCapacityRequest(
                unit_id="nlsh-bodo-akuttmottak",
                resource_type="treatment_room",
                total=12,
                available=2,
                occupied=10,
                status=capacity_pb2.CAPACITY_STATUS_STRAINED,
            ),
            metadata=await suite.auth("demo-hospital"),
        )
        rest = [json.loads(line) async for line in lines if line]
        assert rest[-1]["error"]["reason"] == "WEB_SESSION_ENDED"
        assert len(rest) <= 2  # at most the report itself before the end

    async with httpx.AsyncClient(base_url=base) as http:
        answer = await http.get("/ansatt/kapasitet", headers=old)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/logg-inn/ansatt?til=kapasitet")
        assert "utlopt=1" in answer.headers["location"]
        for stream in ("/ansatt/kapasitet/strom", "/ansatt/varsler/strom"):
            ended = await http.get(stream, headers=old)
            assert ended.status_code == 401 and ended.json()["error"]["reason"] == "WEB_SESSION_ENDED"
    assert stored_secrets(suite) == []


async def test_a_session_made_on_one_gateway_works_on_a_second(suite: Suite, page: Page) -> None:
    base = base_of(suite)
    second = create_gateway(suite.settings, TracerProvider(), address="127.0.0.1:0", http_address="127.0.0.1:0")
    await second.start()
    try:
        other = f"http://127.0.0.1:{second.http_server.port}"
        await login_as(page, base, "capacity", people.MARTE)
        # Cookies belong to the host, not the port: the same cookie goes to the second gateway.
        answer = await page.goto(other + "/ansatt/kapasitet")
        assert answer is not None and answer.status == 200 and page.url == other + "/ansatt/kapasitet"
        await expect(page.get_by_text("Logget inn som Marte Mottaksen")).to_be_visible()
        await expect(page.locator("#units tr").first).to_be_visible()
        cookie = await session_cookie(page)
        async with httpx.AsyncClient() as http:
            for host in (base, other):
                served = await http.get(host + "/ansatt/kapasitet", headers={"cookie": f"{SESSION_COOKIE}={cookie}"})
                assert served.status_code == 200
            # A CSRF-checked POST on the second gateway (the logout) ends the session for both.
            await page.get_by_role("button", name="Logg ut").click()
            await page.wait_for_url(other + "/?utlogget=1")
            for host in (base, other):
                gone = await http.get(host + "/ansatt/kapasitet", headers={"cookie": f"{SESSION_COOKIE}={cookie}"})
                assert gone.status_code == 303 and "utlopt=1" in gone.headers["location"]
        await page.goto(base + "/ansatt/kapasitet")
        assert re.search(r"/connect/authorize", page.url)
    finally:
        await second.stop(grace=0)
