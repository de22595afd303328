"""Accessibility sweep of issue 13 (test 6): axe (WCAG 2.0/2.1 A and AA, nothing serious or
critical) and reflow at 320 px (nothing wider than the screen, and axe again there), in
bokmål and in English, over every page known: the public ones (landing page, 404 page, the
STS's login page) and every (console, person, path) of the consoles' sweep lists
(tests/fixtures/browser_pages.py: patient, auditor, capacity, the escalation inbox); and the
pages a guardian sees while acting for a child (ACTING_SWEEP, after the switch). The keyboard
reaches the capacity page's controls with a visible focus."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import NARROW, VIEWPORT, axe_check, tab_to
from tests.fixtures import people
from tests.fixtures.browser_pages import (
    ACTING_SWEEP,
    AUDITOR_SWEEP,
    CAPACITY_SWEEP,
    INBOX_SWEEP,
    SWEEP,
    act_for_frida,
    base_of,
    login_as,
    record_worsening,
)
from tests.fixtures.people import ESKIL
from tests.support import Suite

pytestmark = pytest.mark.browser

PUBLIC = ["/", "/finnes-ikke"]
LANGS = ("nb", "en")


def known_pages() -> dict[tuple[str, str], list[str]]:
    """(console, person) -> paths, over every console's sweep list, in order, without repeats."""
    by_person: dict[tuple[str, str], list[str]] = {("patient", ESKIL): ["/pasient"]}
    for console, pid, path in (*CAPACITY_SWEEP, *SWEEP, *AUDITOR_SWEEP, *INBOX_SWEEP):
        paths = by_person.setdefault((console, pid), [])
        if path not in paths:
            paths.append(path)
    return by_person


KNOWN = known_pages()


async def choose_language(page: Page, base: str, lang: str) -> None:
    await page.goto(f"{base}/sprak?{urlencode({'til': lang, 'tilbake': '/'})}")
    await expect(page.locator("html")).to_have_attribute("lang", lang)


async def check_both_widths(page: Page) -> None:
    await page.set_viewport_size(VIEWPORT)
    await axe_check(page)
    await page.set_viewport_size(NARROW)
    try:
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= NARROW["width"], f"{page.url} is {width} px wide at {NARROW['width']} px"
        await axe_check(page)
    finally:
        await page.set_viewport_size(VIEWPORT)


@pytest.mark.parametrize("lang", LANGS)
async def test_the_public_pages_and_the_login_page(suite: Suite, page: Page, lang: str) -> None:
    base = base_of(suite)
    await choose_language(page, base, lang)
    for path in PUBLIC:
        await page.goto(base + path)
        await expect(page.locator("html")).to_have_attribute("lang", lang)
        await check_both_widths(page)
    # The STS's login pages (the development stand-in for HelseID and ID-porten).
    for login in ("/logg-inn/ansatt?til=kapasitet", "/logg-inn/pasient"):
        await page.goto(base + login)
        await expect(page.locator('input[name="person"]').first).to_be_attached()
        await check_both_widths(page)


@pytest.mark.parametrize(("console", "pid"), sorted(KNOWN), ids=[console for console, _ in sorted(KNOWN)])
async def test_every_page_of_a_console_in_both_languages(suite: Suite, page: Page, console: str, pid: str) -> None:
    base = base_of(suite)
    if (console, pid) == ("patient", ESKIL):  # his "Varsler om forverring" with an escalation on it
        await record_worsening(suite, ESKIL, "sweep-1")
    await login_as(page, base, console, pid)
    for lang in LANGS:
        await choose_language(page, base, lang)
        for path in KNOWN[(console, pid)]:
            await page.goto(base + path)
            await expect(page.locator("html")).to_have_attribute("lang", lang)
            await expect(page.locator("h1")).to_have_count(1)
            await check_both_widths(page)


async def test_every_page_a_guardian_sees_acting_for_a_child_in_both_languages(suite: Suite, page: Page) -> None:
    """Mikkel acting for Frida: each page shows her (the bar names her), at 1280 and 320 px; and
    the proof page of an entry of her log (his own read of her as her guardian)."""
    base = base_of(suite)
    await act_for_frida(page, base)
    await page.goto(base + "/pasient/logg?meg=1")
    entry = await page.locator('a[href^="/pasient/logg/"]').first.get_attribute("href")
    assert entry and re.fullmatch(r"/pasient/logg/\d+", entry), entry
    for lang in LANGS:
        await choose_language(page, base, lang)
        for path in [*ACTING_SWEEP, entry]:
            await page.goto(base + path)
            await expect(page.locator("html")).to_have_attribute("lang", lang)
            await expect(page.locator("h1")).to_have_count(1)
            await expect(page.locator(".patient-bar")).to_contain_text("Frida Fantasisen")
            await check_both_widths(page)


async def test_the_capacity_page_by_keyboard(suite: Suite, page: Page) -> None:
    base = base_of(suite)
    await login_as(page, base, "capacity", people.MARTE)
    await tab_to(page, "link", "Hopp til hovedinnholdet")
    await tab_to(page, "combobox", "Region")
    await tab_to(page, "button", "Oppdater")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(re.escape(f"{base}/ansatt/kapasitet?region=") + "Nordland$"))
    await tab_to(page, "region", "Enheter")


async def test_a_log_entrys_verified_proof_in_both_languages(suite: Suite, page: Page) -> None:
    """The proof page of a patient's log entry as it is verified (the SWEEP has its 'not yet'
    state): Eskil's own first read is in his log once signed."""
    base = base_of(suite)
    await login_as(page, base, "patient", ESKIL)
    await page.goto(base + "/pasient/logg?meg=1")
    await page.get_by_role("link", name=re.compile("Se bevis")).first.click()
    await page.wait_for_url(re.compile(r".*/pasient/logg/\d+$"))
    entry = page.url
    for _ in range(50):  # until a checkpoint covers the entry (about a second)
        if await page.locator("p.status--ok").count():
            break
        await page.reload()
    for lang in LANGS:
        await choose_language(page, base, lang)
        await page.goto(entry)
        await expect(page.locator("p.status--ok")).to_be_visible()
        await expect(page.locator("h1")).to_have_count(1)
        await check_both_widths(page)
