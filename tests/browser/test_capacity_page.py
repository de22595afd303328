"""The live capacity page in a real Chromium against the real suite: the region's table and
the open alerts appear, and a report and an alert made elsewhere show up without a reload."""
from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, async_playwright, expect

from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from tests.support import Suite, running_suite

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
INSTALL_HINT = "Chromium is not installed (Debian: apt-get install chromium)"
# Chromium on a closed network as root, the way this machine runs it (no sandbox, no background traffic).
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
HOSPITAL_UNIT = "nlsh-bodo-akuttmottak"  # reported by demo-hospital (seeds/units.json)


@pytest.fixture
async def suite(tmp_path) -> AsyncIterator[Suite]:
    async with running_suite(tmp_path) as running:
        yield running


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    if not os.path.exists(CHROMIUM):
        # CI sets this so a missing browser can never turn the page tests into skips.
        if os.environ.get("SAMHANDLING_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SAMHANDLING_REQUIRE_BROWSER=1 but {INSTALL_HINT}", pytrace=False)
        pytest.skip(INSTALL_HINT)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield await browser.new_page()
        finally:
            await browser.close()


async def test_the_page_shows_the_region_and_follows_reports_and_alerts_live(suite, page):
    token = await suite.token("demo-hospital")
    base = f"http://{suite.settings.addresses['gateway_http']}"
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{base}/pages/capacity?region=Nordland#access_token={token}")

    row = page.locator(f'tr[data-unit="{HOSPITAL_UNIT}"][data-resource="treatment_room"]')
    await expect(row).to_have_count(1)
    # Only the region's units: Bærum (Akershus) is not in the table.
    await expect(page.locator('tr[data-unit^="baerum"]')).to_have_count(0)
    assert "access_token" not in page.url  # the token left the address bar

    stub = capacity_pb2_grpc.CapacityServiceStub(suite.gateway)
    auth = await suite.auth("demo-hospital")
    await stub.ReportCapacity(capacity_pb2.ReportCapacityRequest(
        unit_id=HOSPITAL_UNIT, resource_type="treatment_room", total=12, available=1, occupied=11,
        status=capacity_pb2.CAPACITY_STATUS_STRAINED, note="Korridorpasienter",
    ), metadata=auth)
    await expect(row.locator("td.available")).to_have_text("1")
    await expect(row.locator("td.status")).to_have_text("STRAINED")

    raised = await stub.RaiseAlert(capacity_pb2.RaiseAlertRequest(
        severity=capacity_pb2.ALERT_SEVERITY_CRITICAL, message="Masseskadehendelse, E6 nord",
        area=capacity_pb2.AlertArea(region="Nordland"), request_id="page-test-1",
        expire_time=datetime.now(UTC) + timedelta(hours=2),
    ), metadata=auth)
    alert = page.locator(f'li[data-alert="{raised.alert.alert_id}"]')
    await expect(alert).to_contain_text("Masseskadehendelse, E6 nord")
    await expect(alert).to_contain_text("CRITICAL")

    # Switching regions closes the old watch each time: after more switches than a browser has
    # connections per host, the table still follows reports.
    for region in ["Akershus", "Nordland"] * 4:
        await page.select_option("#region", region)
        if region == "Akershus":
            await expect(page.locator('tr[data-unit^="baerum"]').first).to_be_visible()
    await expect(row).to_have_count(1)
    await stub.ReportCapacity(capacity_pb2.ReportCapacityRequest(
        unit_id=HOSPITAL_UNIT, resource_type="treatment_room", total=12, available=0, occupied=12,
        status=capacity_pb2.CAPACITY_STATUS_FULL,
    ), metadata=auth)
    await expect(row.locator("td.status")).to_have_text("FULL")
    assert not errors
