"""Flow 4 of issue 13 in Chromium: after Lars's emergency opening of a restricted patient's
vital signs, Petra (Bodø's privacy officer) searches flagged events, opens the event (with its
justification, shown as proven), downloads its proof, and `samhandling audit check-proof`
verifies the file offline with the vkey shown on Logghelse. Signaler shows the chart and an
escalation acknowledged late after its chain was exhausted, and a CSV export holds the event.
Every page passes axe and reflows at 320 px."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from urllib.parse import quote

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import assert_reflows, axe_check, requests_seen, shot
from tests.fixtures import people
from tests.fixtures.browser_pages import base_of, download, login_as, reload_until_shown
from tests.fixtures.escalation_signals import late_and_exhausted
from tests.fixtures.health_person import RESTRICTED_PATIENT, HealthPerson
from tests.support import Suite

pytestmark = pytest.mark.browser

JUSTIFICATION = "Bevisstløs pasient innbrakt"


async def checked(page: Page) -> None:
    await axe_check(page)
    await assert_reflows(page)


async def test_find_emergency_and_prove(suite: Suite, page: Page, tmp_path) -> None:
    doctor = await HealthPerson.signed_in(suite, "ETREAT")
    await doctor.summary(RESTRICTED_PATIENT, ("x-samhandling-justification", quote(JUSTIFICATION)))
    base = base_of(suite)

    await login_as(page, base, "auditor", people.PETRA)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Revisor")
    await checked(page)

    await page.get_by_role("link", name="Søk i hendelser").first.click()
    # The points of care of Bodø kommune (her token's legal entity), from the directory.
    await expect(page.get_by_label("Behandlingssted").locator("option")).to_have_text(
        ["Alle", "Bodø interkommunale legevakt (910000039)", "Bodø kommune – hjemmesykepleie (910000020)"]
    )
    await page.get_by_label("Bare nødtilganger og samtykke i øyeblikket").check()
    await page.get_by_role("button", name="Søk").click()
    await page.wait_for_url(re.compile(r".*/revisor/hendelser\?sok=.+"))
    await expect(page.locator("tr.flagged").first).to_be_visible()
    await checked(page)
    await shot(page, "auditor-search")
    # The language switch comes back to the same search (its key is in the query), and back again.
    searched = page.url
    await page.locator("a.lang-switch").click()
    await page.wait_for_url(searched)
    await expect(page.locator("tr.flagged").first).to_be_visible()
    await page.locator("a.lang-switch").click()
    await page.wait_for_url(searched)

    await page.locator("tr.flagged a").first.click()
    await page.wait_for_url(re.compile(r".*/revisor/hendelser/\d+$"))
    sequence = page.url.rsplit("/", 1)[1]
    await reload_until_shown(page, page.get_by_text("Bevis kontrollert"))
    await expect(page.get_by_text(JUSTIFICATION)).to_be_visible()
    # The decision's obligations, recorded in the event's (version-2) leaf.
    await expect(page.get_by_text("Merkes for revisjon; Pasienten varsles")).to_be_visible()
    await checked(page)
    await shot(page, "auditor-event-proof")
    proof = await download(page, "Last ned beviset (.proof)", tmp_path)
    assert proof.name == f"hendelse-{sequence}.proof"

    await page.goto(base + "/revisor/logghelse")
    await expect(page.get_by_text("Siste kontrollpunkt er kontrollert")).to_be_visible()
    vkey = (await page.locator("#vkey").inner_text()).strip()
    await checked(page)
    checked_offline = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "audit", "check-proof", str(proof), "--vkey", vkey],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked_offline.returncode == 0, checked_offline.stdout + checked_offline.stderr
    await page.reload()  # a second visit: the chain from the first checkpoint is verified
    await expect(page.locator("ol.chain li").first).to_contain_text("uendret del av loggen")

    # An escalation acknowledged late after its chain was exhausted: both escalation signals, listed
    # beside the audit's (docs/escalation.md "Auditors' signals").
    escalation_id = late_and_exhausted(suite.settings)
    await page.goto(base + "/revisor/signaler")
    await expect(page.locator("svg.chart title#chart-title")).to_have_count(1)
    escalation_rows = page.locator("table.escalation-signals tbody tr")
    await expect(escalation_rows).to_have_count(2)
    await expect(escalation_rows.first).to_contain_text("Kvittert etter fristen")
    await expect(escalation_rows.first).to_contain_text(f"Lars Legevaktsen (HPR {people.LARS_HPR})")
    await expect(escalation_rows.last).to_contain_text("Kjeden oppbrukt")
    await expect(escalation_rows.last).to_contain_text(escalation_id)
    await checked(page)
    await shot(page, "auditor-signals")

    await page.goto(base + "/revisor/eksport")
    await page.get_by_label("Bare nødtilganger og samtykke i øyeblikket").check()
    await page.get_by_label("CSV (regneark)").check()
    await checked(page)
    async with page.expect_download() as export_info:
        await page.get_by_role("button", name="Last ned").click()
    export = tmp_path / "export.csv"
    await (await export_info.value).save_as(export)
    rows = list(csv.DictReader(io.StringIO(export.read_text(encoding="utf-8"))))
    assert sequence in {row["sequence"] for row in rows}
    assert rows and all(row["flagged"] == "true" for row in rows)  # the export's filter: flagged only
    assert not any(people.PETRA in url or RESTRICTED_PATIENT in url for url in requests_seen(page))


async def test_the_console_speaks_english(suite: Suite, page: Page) -> None:
    base = base_of(suite)
    await login_as(page, base, "auditor", people.PETRA)
    await page.goto(base + "/sprak?til=en&tilbake=/revisor/logghelse")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Log health")
    for path in ("/revisor", "/revisor/hendelser", "/revisor/signaler", "/revisor/eksport"):
        await page.goto(base + path)
        await checked(page)
