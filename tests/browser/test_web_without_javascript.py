"""The quality bar's "works with JavaScript off for reading and for every form", in Chromium with
JavaScript disabled: the login, a patient's block from search to the verified receipt, its
revocation, the log's filter, notifications marked read, the language switch and logout; a
guardian's switch to a child; an auditor's search, event page, export download and log health;
the capacity page's region form; the escalation inbox (the deadline in words, an emergency
opening of a restricted patient's escalation, its acknowledgement). Every page is server-rendered HTML and every form a plain
GET or POST, so nothing here needs a script."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from samhandling.audit.v1 import audit_pb2
from samhandling.common.v1 import common_pb2
from tests.browser.conftest import VIEWPORT
from tests.fixtures import people
from tests.fixtures.browser_pages import (
    base_of,
    choose_to_block_sigrid,
    login_as,
    patient_log,
    record_worsening,
    reload_until_shown,
)
from tests.fixtures.health_person import RESTRICTED_PATIENT, HealthPerson
from tests.support import Suite

pytestmark = pytest.mark.browser

ESKIL = "22750884907"
MIKKEL = "45869005006"
PETRA = "11747910016"
MARTE = "19919110034"


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A page in a context with JavaScript disabled."""
    context = await browser.new_context(viewport=VIEWPORT, java_script_enabled=False, accept_downloads=True)
    try:
        made = await context.new_page()
        await made.goto("data:text/html,<p id=p>off</p><script>document.getElementById('p').textContent='on'</script>")
        assert await made.locator("#p").inner_text() == "off"  # scripts really do not run
        yield made
    finally:
        await context.close()


async def test_a_patient_uses_every_form_without_javascript(suite: Suite, page: Page) -> None:
    base = base_of(suite)
    await login_as(page, base, "patient", ESKIL)
    await expect(page.get_by_role("heading", level=1, name="Oversikt")).to_be_visible()

    await choose_to_block_sigrid(page)
    await expect(page.get_by_role("heading", level=1, name="Se over og bekreft")).to_be_visible()
    await page.get_by_role("button", name="Bekreft og lagre").click()
    await expect(page.get_by_role("status")).to_have_text("Regelen er lagret.")
    await expect(page.get_by_text("Kvittering: signatur kontrollert")).to_be_visible()
    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="Last ned kvittering for versjon 1").click()
    assert (await waiting.value).suggested_filename.endswith("-v1.jws")

    await page.get_by_role("link", name="Trekk tilbake").click()
    await page.get_by_role("button", name="Trekk tilbake").click()
    await expect(page.get_by_text("Status: trukket tilbake")).to_be_visible()

    await page.get_by_role("link", name="Logg over bruk").first.click()
    await page.get_by_label("Bare nødåpninger").check()
    await page.get_by_role("button", name="Vis").click()
    await page.wait_for_url(re.compile(r".*/pasient/logg\?.*nod=1"))

    await page.get_by_role("link", name="Varsler", exact=True).click()
    await expect(page.locator(".tag--unread").first).to_be_visible()
    await page.get_by_role("button", name="Marker alle som lest").click()
    await expect(page.locator(".tag--unread")).to_have_count(0)
    await expect(page.get_by_role("button", name="Marker alle som lest")).to_have_count(0)

    await page.locator("a.lang-switch").click()
    await expect(page.get_by_role("heading", level=1, name="Notifications")).to_be_visible()
    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_url(re.compile(re.escape(base) + r"/\?utlogget=1$"))


async def test_a_guardian_switches_to_a_child_without_javascript(suite: Suite, page: Page) -> None:
    base = base_of(suite)
    await login_as(page, base, "patient", MIKKEL)
    await page.get_by_role("link", name="Representasjon").click()
    await page.get_by_role("button", name="Handle for Frida Fantasisen").click()
    await page.wait_for_url(base + "/pasient")
    await expect(page.get_by_text("Du handler nå på vegne av Frida Fantasisen")).to_be_visible()


async def test_an_auditor_searches_reads_an_event_and_exports_without_javascript(suite: Suite, page: Page) -> None:
    doctor = await HealthPerson.signed_in(suite, "ETREAT")
    await doctor.summary(RESTRICTED_PATIENT, ("x-samhandling-justification", "Bevisstl%C3%B8s"))
    base = base_of(suite)
    await login_as(page, base, "auditor", PETRA)

    await page.get_by_role("link", name="Søk i hendelser").first.click()
    await page.get_by_label("Bare nødtilganger og samtykke i øyeblikket").check()
    await page.get_by_role("button", name="Søk").click()
    await page.wait_for_url(re.compile(r".*/revisor/hendelser\?sok=.+"))
    await page.locator("tr.flagged a").first.click()
    await page.wait_for_url(re.compile(r".*/revisor/hendelser/\d+$"))
    await reload_until_shown(page, page.get_by_text("Bevis kontrollert"))

    await page.goto(base + "/revisor/eksport")
    await page.get_by_label("CSV (regneark)").check()
    async with page.expect_download() as export:
        await page.get_by_role("button", name="Last ned").click()
    assert (await export.value).suggested_filename.endswith(".csv")

    await page.goto(base + "/revisor/logghelse")
    await expect(page.get_by_text("Siste kontrollpunkt er kontrollert")).to_be_visible()
    await page.goto(base + "/revisor/signaler")
    await expect(page.locator("svg.chart")).to_have_count(1)  # server-rendered SVG, no script


async def test_the_capacity_page_reads_and_changes_region_without_javascript(suite: Suite, page: Page) -> None:
    base = base_of(suite)
    await login_as(page, base, "capacity", MARTE)
    await expect(page.locator("meter").first).to_be_visible()
    await page.get_by_role("button", name="Oppdater").click()
    await page.wait_for_url(re.compile(re.escape(f"{base}/ansatt/kapasitet?region=") + ".+"))
    await expect(page.locator("meter").first).to_be_visible()


async def test_the_inbox_opens_a_restricted_patients_escalation_in_an_emergency_without_javascript(
    suite: Suite, page: Page
) -> None:
    """Gunnar has restricted his vital signs: the escalation reaches the legevakt's inbox (no
    patient data), opening it gives the emergency dialog, and the justified opening shows the
    ISBAR view; the acknowledgement after it is an emergency access too. Both are flagged in
    his log, as Lars's."""
    escalation_id = (await record_worsening(suite, RESTRICTED_PATIENT, "no-js-1")).escalation_id
    base = base_of(suite)
    await login_as(page, base, "inbox", people.LARS)
    card = page.locator(f'li[data-escalation="{escalation_id}"]')
    await expect(card.locator(".deadline")).to_contain_text(re.compile(r"Kvitter innen kl\. \d\d\.\d\d"))
    await expect(card.locator(".countdown")).to_have_text("")  # no script: the words alone
    await card.get_by_role("link").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Pasienten har begrenset tilgangen")

    why = "Bevisstløs pasient, trenger siste målinger"
    await page.get_by_label("Begrunnelse (påkrevd, høyst 500 tegn)").fill(why)
    await page.get_by_role("button", name="Åpne i nødsituasjon").click()
    await expect(page.locator(".emergency-banner")).to_contain_text("Nødåpning")
    await expect(page.locator(".isbar")).to_contain_text("Gunnar Gjetningsen")
    await page.get_by_role("button", name="Kvitter – vi tar den").click()
    await expect(page.get_by_role("status").last).to_have_text("Eskaleringen er kvittert.")
    await expect(page.locator(".facts .state")).to_have_text("Kvittert")
    # The session's own token still reads for treatment only: the list works, the escalation
    # needs the emergency opening again.
    await page.goto(f"{base}/ansatt/eskaleringer")
    await expect(card.locator(".state")).to_have_text("Kvittert")
    await page.goto(f"{base}/ansatt/eskaleringer/{escalation_id}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Pasienten har begrenset tilgangen")

    log = await patient_log(suite, RESTRICTED_PATIENT)
    lars = {(e.action, e.decision, e.flagged) for e in log if e.actor.hpr_number == people.LARS_HPR}
    permit, deny = common_pb2.DECISION_PERMIT, common_pb2.DECISION_DENY
    read, update = audit_pb2.ACTION_READ, audit_pb2.ACTION_UPDATE
    # Refused first, then opened and acknowledged in an emergency: both flagged.
    assert {(read, deny, False), (read, permit, True), (update, permit, True)} <= lars

    # Gunnar's own "Varsler om forverring": who was told, and who took charge (Lars, the legevakt).
    await login_as(page, base, "patient", RESTRICTED_PATIENT)
    await page.get_by_role("link", name="Varsler om forverring").click()
    card = page.locator("li.card")
    await expect(card).to_have_count(1)
    await expect(card.locator("h2")).to_have_text("Akutt (med en gang)")
    await expect(card).to_contain_text("Noen har tatt ansvar")
    await expect(card).to_contain_text("Bodø interkommunale legevakt (legevakten, skal ta ansvar): fikk beskjed")
    await expect(card).to_contain_text("Lars Legevaktsen, Bodø interkommunale legevakt")
