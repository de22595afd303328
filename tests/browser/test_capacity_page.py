"""The capacity page behind the personnel login, in a real Chromium against the real suite:
Marte (hospital, Bodø) logs in at /logg-inn/ansatt?til=kapasitet and sees her region's units
and the open alerts, server-rendered in her language (no enum names), with a meter per unit
and resource; a report and an alert made over gRPC elsewhere show up without a reload; a
dropped watch shows the "data may be stale" banner until the watch is back."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, Route, expect

from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from tests.browser.conftest import assert_reflows, axe_check, requests_seen, shot
from tests.fixtures import people
from tests.fixtures.browser_pages import base_of, login_as
from tests.support import Suite

pytestmark = pytest.mark.browser

HOSPITAL_UNIT = "nlsh-bodo-akuttmottak"  # reported by demo-hospital (seeds/units.json)
RAW_NAMES = re.compile(
    r"\b(NORMAL|STRAINED|FULL|CAPACITY_STATUS_\w+|ALERT_SEVERITY_\w+|UNIT_TYPE_\w+|CRITICAL)\b"
    r"|\b(isolation_bed|treatment_room|observation_bed)\b"
)


async def test_marte_follows_her_region_live_in_her_language(suite: Suite, page: Page) -> None:
    base = base_of(suite)
    await login_as(page, base, "capacity", people.MARTE)
    assert page.url == f"{base}/ansatt/kapasitet"
    logged_in = len(requests_seen(page))  # the login went to the STS; the page itself goes nowhere else

    await expect(page.get_by_role("heading", level=1)).to_have_text("Kapasitet")
    await expect(page.locator("#region")).to_have_value("Nordland")  # her workplace's region
    row = page.locator(f'tr[data-unit="{HOSPITAL_UNIT}"][data-resource="treatment_room"]')
    await expect(row).to_have_count(1)
    await expect(row.locator("td").first).to_have_text("Behandlingsrom")
    await expect(row.locator("meter")).to_have_count(1)
    await expect(page.locator('tr[data-unit^="baerum"]')).to_have_count(0)  # Akershus is not shown
    assert not RAW_NAMES.search(await page.locator("main").inner_text())

    stub = capacity_pb2_grpc.CapacityServiceStub(suite.gateway)
    auth = await suite.auth("demo-hospital")
    await stub.ReportCapacity(
        capacity_pb2.ReportCapacityRequest(
            unit_id=HOSPITAL_UNIT,
            resource_type="treatment_room",
            total=12,
            available=1,
            occupied=11,
            status=capacity_pb2.CAPACITY_STATUS_STRAINED,
            note="Korridorpasienter",
        ),
        metadata=auth,
    )
    await expect(row.locator("td.available")).to_have_text("1")
    await expect(row.locator(".status-badge")).to_have_text("Presset")
    await expect(row.locator(".status-badge")).to_have_class(re.compile(r"\bstatus-strained\b"))
    await expect(row.locator("meter")).to_have_attribute("aria-label", re.compile("11 av 12"))
    await expect(row.locator(".reported")).to_contain_text(re.compile(r"\d{1,2}\. \w+ \d{4} kl\. \d\d\.\d\d"))
    total = page.locator('#totals li[data-resource="treatment_room"]')
    await expect(total).to_contain_text("1 ledige av 12")

    raised = await stub.RaiseAlert(
        capacity_pb2.RaiseAlertRequest(
            severity=capacity_pb2.ALERT_SEVERITY_CRITICAL,
            message="Masseskadehendelse, E6 nord",
            area=capacity_pb2.AlertArea(region="Nordland"),
            request_id="page-test-1",
            expire_time=datetime.now(UTC) + timedelta(hours=2),
        ),
        metadata=auth,
    )
    alert = page.locator(f'li[data-alert="{raised.alert.alert_id}"]')
    await expect(alert).to_contain_text("Masseskadehendelse, E6 nord")
    await expect(alert).to_contain_text("Kritisk")
    assert not RAW_NAMES.search(await page.locator("main").inner_text())
    await axe_check(page)
    await assert_reflows(page)
    await shot(page, "web-capacity-nb")

    # The server renders what the script updated: the same after a reload, in English too.
    await page.get_by_role("link", name="Change language to English").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Capacity")
    await expect(row.locator(".status-badge")).to_have_text("Strained")
    await expect(alert).to_contain_text("Critical")
    assert not RAW_NAMES.search(await page.locator("main").inner_text())
    await axe_check(page)
    await assert_reflows(page)

    # Another region by the form (GET): Akershus's units, the watch follows that region.
    await page.select_option("#region", "Akershus")
    await page.wait_for_url(re.compile(r"region=Akershus"))
    await expect(page.locator('tr[data-unit^="baerum"]').first).to_be_visible()
    await expect(row).to_have_count(0)
    assert all(url.startswith(base + "/") for url in requests_seen(page)[logged_in:])


async def test_a_dropped_watch_shows_that_the_data_may_be_stale_until_it_is_back(suite: Suite, page: Page) -> None:
    base = base_of(suite)
    await login_as(page, base, "capacity", people.MARTE)
    refused: list[str] = []

    async def drop(route: Route) -> None:
        refused.append(route.request.url)
        await route.abort("connectionreset")

    await page.route(re.compile(r"/ansatt/kapasitet/strom"), drop)
    await page.reload()
    banner = page.locator("#live-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("Data kan være utdatert – sist oppdatert")
    assert refused and "resume_after=" in refused[0]
    await axe_check(page)
    await shot(page, "web-capacity-stale")

    await page.unroute(re.compile(r"/ansatt/kapasitet/strom"))
    stub = capacity_pb2_grpc.CapacityServiceStub(suite.gateway)
    await stub.ReportCapacity(
        capacity_pb2.ReportCapacityRequest(
            unit_id=HOSPITAL_UNIT,
            resource_type="treatment_room",
            total=12,
            available=0,
            occupied=12,
            status=capacity_pb2.CAPACITY_STATUS_FULL,
        ),
        metadata=await suite.auth("demo-hospital"),
    )
    row = page.locator(f'tr[data-unit="{HOSPITAL_UNIT}"][data-resource="treatment_room"]')
    # Resumed from the page's position: the report made while the watch was down arrives.
    await expect(row.locator(".status-badge")).to_have_text("Fullt")
    await expect(banner).to_be_hidden()


async def test_the_old_page_address_leads_to_the_login_and_the_new_page(suite: Suite, page: Page) -> None:
    base = base_of(suite)
    answer = await page.request.get(f"{base}/pages/capacity?region=Nordland", max_redirects=0)
    assert answer.status == 301 and answer.headers["location"] == "/ansatt/kapasitet?region=Nordland"
    gone = await page.request.get(f"{base}/pages/capacity.js", max_redirects=0)
    assert gone.status == 404
