"""The escalation inbox in a real Chromium against the real suite (issue 17): Bodø home nursing's
EHR records a NEWS2 of at least 7 for Tor through the gateway; Lars at Bodø interkommunale legevakt logs
in at /logg-inn/ansatt?til=innboks and finds it first in his inbox as "Akutt" (word and colour),
with its deadline in words and a countdown from the server's time, and no patient data on the
list; he opens it (the ISBAR view, audited) and acknowledges it with the keyboard alone; the
card then says "Kvittert". Each page is axe-clean and reflows at 320 px. Home nursing (Sigrid)
sees what it sent under "Sendt fra oss", and opens a restricted patient's escalation in an
emergency with the keyboard alone; a form problem after it is answered without opening it again,
and "Åpne igjen" opens it again. After an emergency opening neither a form problem nor a refused
change adds an access to the patient's log (beyond the refused change's own); "Åpne igjen" adds
exactly one."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from playwright.async_api import Page, expect

from samhandling.audit.v1 import audit_pb2
from samhandling.common.v1 import common_pb2
from tests.browser.conftest import assert_reflows, axe_check, shot, tab_to
from tests.fixtures import people
from tests.fixtures.browser_pages import accesses_to_data, base_of, login_as, patient_log, record_worsening
from tests.support import Suite

pytestmark = pytest.mark.browser


async def test_the_legevakt_opens_and_acknowledges_an_emergency_from_home_nursing(suite: Suite, page: Page) -> None:
    base = base_of(suite)
    recorded = await record_worsening(suite, people.TOR, "inbox-browser-1")
    escalation_id = recorded.escalation_id

    await login_as(page, base, "inbox", people.LARS)
    assert page.url == f"{base}/ansatt/eskaleringer"
    await expect(page.get_by_role("heading", level=1)).to_have_text("Eskaleringer til oss")
    card = page.locator(f'li[data-escalation="{escalation_id}"]')
    await expect(card.locator(".level-badge")).to_have_text("Akutt")
    await expect(card.locator(".level-badge")).to_have_class(re.compile(r"\blevel-emergency\b"))
    await expect(card.locator(".state")).to_have_text("Venter på kvittering")
    await expect(card.locator(".role")).to_have_text("Dere er ansvarlige")
    await expect(card.locator(".deadline")).to_contain_text(re.compile(r"Kvitter innen kl\. \d\d\.\d\d"))
    await expect(card.locator(".countdown")).to_have_text(re.compile(r"^\d+ min \d+ s igjen$"))  # inbox.js
    main = await page.locator("main").inner_text()
    assert people.TOR not in main and "Tor Tenktsen" not in main  # no patient data on the list
    await axe_check(page)
    await assert_reflows(page)
    await shot(page, "web-inbox-nb")

    # Opened: the ISBAR view; then acknowledged with the keyboard alone.
    await card.get_by_role("link").click()
    await page.wait_for_url(f"{base}/ansatt/eskaleringer/{escalation_id}")
    await expect(page.get_by_role("heading", name="ISBAR")).to_be_visible()
    await expect(page.locator(".isbar")).to_contain_text("Identifikasjon")
    await expect(page.locator(".isbar")).to_contain_text("Tor Tenktsen")
    await axe_check(page)
    await assert_reflows(page)
    await shot(page, "web-inbox-escalation")
    await tab_to(page, "button", "Kvitter – vi tar den")
    await page.keyboard.press("Enter")
    await expect(page.locator("main")).not_to_contain_text("Feilkode")  # a refusal names its reason and fields
    await expect(page.get_by_role("status")).to_have_text("Eskaleringen er kvittert.")
    assert page.url == f"{base}/ansatt/eskaleringer/{escalation_id}?utfort=acknowledged"
    await expect(page.locator(".facts .state")).to_have_text("Kvittert")
    await expect(page.get_by_role("button", name="Kvitter – vi tar den")).to_have_count(0)
    await axe_check(page)

    await page.get_by_role("link", name="Tilbake til eskaleringene").click()
    await expect(card.locator(".state")).to_have_text("Kvittert")

    # The opening and the acknowledgement are in Tor's log as Lars's read and update.
    lars = {e.action for e in await patient_log(suite, people.TOR) if e.actor.hpr_number == people.LARS_HPR}
    assert {audit_pb2.ACTION_READ, audit_pb2.ACTION_UPDATE} <= lars  # opened (READ), acknowledged (UPDATE)


async def test_home_nursing_sees_what_it_sent_and_opens_a_restricted_one_in_an_emergency_by_keyboard(
    suite: Suite, page: Page
) -> None:
    """Sigrid (Bodø home nursing, the source) finds Gunnar's escalation under "Sendt fra oss";
    he has restricted his vital signs, so opening it gives the emergency dialog (axe-clean, 320
    px), which she fills in and sends with the keyboard alone."""
    base = base_of(suite)
    recorded = await record_worsening(suite, people.GUNNAR, "inbox-browser-2")
    await login_as(page, base, "inbox", people.SIGRID)
    await page.get_by_role("link", name="Sendt fra oss").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sendt fra oss")
    card = page.locator(f'li[data-escalation="{recorded.escalation_id}"]')
    await expect(card.locator(".role")).to_have_text("Sendt fra oss")
    await expect(card.locator(".level-badge")).to_have_text("Akutt")
    await axe_check(page)

    await card.get_by_role("link").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Pasienten har begrenset tilgangen")
    await axe_check(page)
    await assert_reflows(page)
    await shot(page, "web-inbox-emergency-dialog")
    await tab_to(page, "textbox", "Begrunnelse (påkrevd, høyst 500 tegn)")
    await page.keyboard.type("Ringt av pårørende, pasienten er tungpustet")
    await tab_to(page, "button", "Åpne i nødsituasjon")
    await page.keyboard.press("Enter")
    await expect(page.locator(".emergency-banner")).to_contain_text("Nødåpning")
    await expect(page.locator(".isbar")).to_contain_text("Gunnar Gjetningsen")
    await axe_check(page)
    # Resolving without an outcome: the problem and the forms, without his data (no second
    # emergency access); "Åpne igjen" is the explicit way back to it.
    await tab_to(page, "button", "Avslutt eskaleringen")
    await page.keyboard.press("Enter")
    await expect(page.locator(".error-summary")).to_contain_text("Velg et utfall.")
    await expect(page.locator("main")).not_to_contain_text("Gunnar Gjetningsen")
    await expect(page.get_by_role("button", name="Avslutt eskaleringen")).to_be_visible()
    await axe_check(page)
    await assert_reflows(page)
    await tab_to(page, "button", "Åpne igjen (ny nødåpning logges)")
    await page.keyboard.press("Enter")
    await expect(page.locator(".isbar")).to_contain_text("Gunnar Gjetningsen")
    # The language switch reloads the page: in English, and the emergency opening is asked again.
    await page.get_by_role("link", name="Change language to English").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("The patient has restricted access")
    await axe_check(page)


async def open_in_an_emergency(page: Page, base: str, escalation_id: str, why: str) -> None:
    """Opens a restricted patient's escalation through the emergency dialog."""
    await page.goto(f"{base}/ansatt/eskaleringer/{escalation_id}")
    await page.get_by_label("Begrunnelse (påkrevd, høyst 500 tegn)").fill(why)
    await page.get_by_role("button", name="Åpne i nødsituasjon").click()
    await expect(page.locator(".isbar")).to_contain_text("Gunnar Gjetningsen")


async def test_after_an_emergency_opening_a_problem_or_a_refusal_opens_nothing_again(suite: Suite, page: Page) -> None:
    """Lars opens Gunnar's restricted escalation in an emergency in two tabs. In the first he
    passes it on with only spaces as the reason (a problem in the field), then, after the second
    tab acknowledged it, with a reason (refused: already acknowledged). Each answer shows the
    problem, the forms (the reason he typed kept) and "Åpne igjen", and none reads Gunnar's data
    again: his log gains no access but the refused change's own. "Åpne igjen" reads it, once,
    flagged as an emergency."""
    base = base_of(suite)
    escalation_id = (await record_worsening(suite, people.GUNNAR, "inbox-reopen-1")).escalation_id
    await login_as(page, base, "inbox", people.LARS)
    why = "Ringt av pårørende, pasienten er tungpustet"
    await open_in_an_emergency(page, base, escalation_id, why)
    other = await page.context.new_page()
    await open_in_an_emergency(other, base, escalation_id, why)
    reason = page.get_by_label("Send videre: hvorfor kan dere ikke ta den?")
    permit, read, update = common_pb2.DECISION_PERMIT, audit_pb2.ACTION_READ, audit_pb2.ACTION_UPDATE

    before = accesses_to_data(await patient_log(suite, people.GUNNAR))
    assert before[(read, permit, True)] == 2  # the two emergency openings
    await reason.fill("   ")  # the browser's `required` lets spaces through; the page does not
    await page.get_by_role("button", name="Send videre").click()
    await expect(page.locator(".error-summary")).to_contain_text("Skriv hvorfor dere sender den videre")
    await expect(page.locator("main")).not_to_contain_text("Gunnar Gjetningsen")
    await expect(page.locator(".facts .state")).to_have_text("Venter på kvittering")
    await expect(page.get_by_role("button", name="Kvitter – vi tar den")).to_be_visible()
    assert accesses_to_data(await patient_log(suite, people.GUNNAR)) == before  # nothing read, nothing sent

    await other.get_by_role("button", name="Kvitter – vi tar den").click()
    await expect(other.get_by_role("status").last).to_have_text("Eskaleringen er kvittert.")
    before = accesses_to_data(await patient_log(suite, people.GUNNAR))
    await reason.fill("Ingen lege ledig før kl. 15")
    await page.get_by_role("button", name="Send videre").click()
    await expect(page.locator(".error-message")).to_contain_text("Eskaleringen er allerede kvittert.")
    await expect(page.locator("main")).not_to_contain_text("Gunnar Gjetningsen")
    await expect(reason).to_have_value("Ingen lege ledig før kl. 15")
    after = accesses_to_data(await patient_log(suite, people.GUNNAR))
    assert after - before == Counter({(update, permit, True): 1})  # the refused change's own alone

    await page.get_by_role("button", name="Åpne igjen (ny nødåpning logges)").click()
    await expect(page.locator(".isbar")).to_contain_text("Gunnar Gjetningsen")
    await expect(page.locator(".emergency-banner")).to_contain_text("Nødåpning")
    await expect(page.locator(".facts .state")).to_have_text("Kvittert")
    reopened = accesses_to_data(await patient_log(suite, people.GUNNAR))
    assert reopened - after == Counter({(read, permit, True): 1})
