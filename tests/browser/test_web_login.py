"""The web login in a real Chromium: from the landing page's link through the development
STS's login page back to the gateway's patient page, and out again. No token is ever in the
page, in the browser's storage or in any URL the browser requested; the session cookie is
`__Host-`, HttpOnly, Secure and SameSite=Lax."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from playwright.async_api import Page, expect

from gateway.web.context import SESSION_COOKIE
from tests.browser.conftest import assert_reflows, axe_check, requests_seen, shot
from tests.fixtures import people
from tests.fixtures.browser_pages import JWT, base_of, login_as
from tests.support import Suite

pytestmark = pytest.mark.browser


def stored_tokens(suite: Suite) -> list[str]:
    engine = sa.create_engine(suite.settings.database_url("gateway"))
    try:
        with engine.connect() as db:
            return [t for (t,) in db.execute(sa.text("SELECT access_token FROM web_sessions"))]
    finally:
        engine.dispose()


async def test_a_patient_logs_in_and_out_and_no_token_reaches_the_browser(suite: Suite, page: Page) -> None:
    base = base_of(suite)

    await login_as(page, base, "patient", people.ESKIL)

    await expect(page.get_by_text("Logget inn som Eskil Eksempelsen")).to_be_visible()
    await shot(page, "web-login-patient")
    [token] = stored_tokens(suite)
    cookie = next(c for c in await page.context.cookies() if c["name"] == SESSION_COOKIE)
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert cookie["expires"] == -1  # a session cookie: gone with the browser
    content = await page.content()
    storage = await page.evaluate("JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    assert json.loads(storage) == [[], []]
    seen = requests_seen(page)
    for place in (content, *seen):
        assert token not in place and not JWT.search(place)
    assert not any(people.ESKIL in url for url in seen)  # no person number in a URL (no login_hint)

    await page.get_by_role("button", name="Logg ut").click()
    await page.wait_for_url(base + "/?utlogget=1")

    await expect(page.get_by_role("status")).to_have_text("Du er logget ut.")
    assert not [c for c in await page.context.cookies() if c["name"] == SESSION_COOKIE]
    assert stored_tokens(suite) == []
    await page.goto(base + "/pasient")
    assert "/connect/authorize" in page.url  # the page sends an ended session to the login


async def test_after_an_expiry_the_login_says_why_before_going_to_the_issuer(suite: Suite, page: Page) -> None:
    """Where a page sends the browser once its session has ended (idle or absolute limit): the
    notice in either language, accessible, and a link on to the same login and page."""
    base = base_of(suite)
    minutes = round(suite.settings.web_session_idle_seconds / 60)
    hours = round(suite.settings.web_session_max_seconds / 3600)
    await page.goto(base + "/logg-inn/pasient?tilbake=%2Fpasient%2Flogg&utlopt=1")
    await expect(page.get_by_role("status")).to_have_text(
        f"Økten din er avsluttet: du blir logget ut etter {minutes} minutter uten aktivitet, og senest etter "
        f"{hours} timer. Logg inn på nytt for å fortsette."
    )
    await axe_check(page)
    await assert_reflows(page)
    await page.locator("a.lang-switch").click()
    await expect(page.get_by_role("status")).to_have_text(
        f"Your session has ended: you are logged out after {minutes} minutes without activity, and after "
        f"{hours} hours at the latest. Log in again to continue."
    )
    await page.locator('a[href="/logg-inn/pasient?tilbake=%2Fpasient%2Flogg"]').click()
    await page.locator(f'input[name="person"][value="{people.ESKIL}"]').check()
    await page.locator('button[name="action"][value="login"]').click()
    await page.wait_for_url(base + "/pasient/logg")
