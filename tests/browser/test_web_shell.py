"""The web shell in a real Chromium against the real gateway: the landing page in bokmål and,
after the language switch (by keyboard), in English; its headers; no CSP violation, no
script error, no request to another origin; axe finds nothing serious; it reflows at 320 px;
and the HTML 404 page does the same."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, expect

from gateway.web.app import CSP
from tests.browser.conftest import assert_reflows, axe_check, requests_seen, shot, tab_to
from tests.support import Suite

pytestmark = pytest.mark.browser


def _base(suite: Suite) -> str:
    return f"http://{suite.settings.addresses['gateway_http']}"


async def test_the_landing_page_in_both_languages(suite, page: Page) -> None:
    base = _base(suite)
    answer = await page.goto(f"{base}/")
    assert answer is not None and answer.status == 200
    headers = answer.headers
    assert headers["content-security-policy"] == CSP
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert headers["cache-control"] == "no-store"
    await expect(page.locator("html")).to_have_attribute("lang", "nb")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Velkommen til Samhandling")
    await expect(page).to_have_title("Forside – Samhandling")
    # A login link for each console whose pages exist (the patient's first).
    logins = [await a.get_attribute("href") for a in await page.locator('a[href^="/logg-inn/"]').all()]
    assert logins[0] == "/logg-inn/pasient"
    await axe_check(page)
    await assert_reflows(page)
    await shot(page, "web-landing-nb")

    await tab_to(page, "link", "Change language to English")
    await page.keyboard.press("Enter")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to Samhandling")
    assert urlsplit(page.url).path == "/"
    cookie = next(c for c in await page.context.cookies() if c["name"] == "__Host-sprak")
    assert cookie["value"] == "en" and cookie["path"] == "/"
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"
    await axe_check(page)
    await assert_reflows(page)

    # The choice holds on the next page, here the 404 page, which is a page like any other.
    missing = await page.goto(f"{base}/finnes-ikke")
    assert missing is not None and missing.status == 404
    assert missing.headers["content-security-policy"] == CSP
    await expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    await expect(page.get_by_role("alert")).to_contain_text("This address does not exist")
    await axe_check(page)
    await assert_reflows(page)

    seen = requests_seen(page)
    assert f"{base}/static/site.css" in seen
    assert all(url.startswith(base + "/") for url in seen), seen


async def test_the_api_keeps_its_json_404_beside_the_pages(suite, page: Page) -> None:
    answer = await page.goto(f"{_base(suite)}/api/v1/finnes-ikke")
    assert answer is not None and answer.status == 404
    assert answer.headers["content-type"] == "application/json"
    assert (await answer.json())["error"]["reason"] == "ROUTE_NOT_FOUND"


BROKEN = """<!doctype html><html lang="en"><head><title>broken</title>
<link rel="stylesheet" href="/wide.css"></head><body><main>
<h1>Broken on purpose</h1><img src="/x.png"><div class="wide">wide</div>
<script>document.title = "inline ran"</script>
</main></body></html>"""


async def test_the_harness_catches_what_it_is_for(context) -> None:
    """Against a page served by the browser itself with our CSP: an inline script is reported
    as a CSP violation, an image without alt text fails axe, and a 600 px box fails reflow."""
    from tests.browser.conftest import watch

    async def serve(route) -> None:
        path = urlsplit(route.request.url).path
        if path == "/wide.css":
            await route.fulfill(
                body=".wide { width: 600px; }", content_type="text/css", headers={"content-security-policy": CSP}
            )
        elif path == "/x.png":
            await route.fulfill(status=404, body="")
        else:
            await route.fulfill(body=BROKEN, content_type="text/html", headers={"content-security-policy": CSP})

    page = await context.new_page()
    await page.route("http://shell.test/**", serve)
    seen = watch(page)
    await page.goto("http://shell.test/")
    await expect(page.locator("h1")).to_have_text("Broken on purpose")
    assert await page.title() == "broken"  # the inline script did not run
    assert any(p.startswith("CSP:") for p in seen.problems), seen.problems
    with pytest.raises(pytest.fail.Exception, match="image-alt"):
        await axe_check(page)
    with pytest.raises(AssertionError, match="wide"):
        await assert_reflows(page)
