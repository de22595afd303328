"""The patient pages in a real Chromium against the whole suite (real STS login, Enforcer,
consent and audit). Flow 1 of issue 13: Eskil blocks a named nurse found in the register,
confirms after reading what the block does, sees the block's receipt verified, downloads it
and verifies it himself; the nurse's gRPC read is then refused, and Eskil sees the refusal
in Logg over bruk by her name and profession. Flow 2 also opens the emergency entry's proof page
(verified with the pinned key, the doctor's person number and the justification only sealed),
downloads the file and has `samhandling audit check-proof` verify it. `SWEEP` lists the patient
pages for the accessibility sweep (axe in both languages, 320 px), which this module also runs."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import grpc
import httpx
import pytest
import sqlalchemy as sa
from playwright.async_api import Page, expect

from gateway.web import logcheck
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.cli.token import Identity, obtain_token
from services.platform.dpop import grpc_target, make_proof
from services.platform.errors import error_info
from tests.browser.conftest import assert_reflows, axe_check, requests_seen, shot, tab_to
from tests.fixtures import people
from tests.fixtures.browser_pages import SWEEP, base_of, choose_to_block_sigrid, download, login_as, reload_until_shown
from tests.support import Suite

pytestmark = pytest.mark.browser

GET_SUMMARY = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"
LIST_VITAL_SIGNS = "/samhandling.summary.v1.PatientSummaryService/ListVitalSigns"
JUSTIFICATION = "Bevisstløs pasient innbrakt, trenger siste målinger"


async def sigrid_reads_eskil(suite: Suite) -> grpc.aio.AioRpcError | None:
    """Sigrid's own gRPC read of Eskil's summary, with her DPoP-bound token: the error, or None."""
    token = await obtain_token(
        suite.settings, Identity("demo-legevakt", user=people.SIGRID, purpose="TREAT"), dpop=True
    )
    proof = make_proof(
        token.dpop_key,
        "POST",
        grpc_target(suite.settings.gateway_public_url, GET_SUMMARY),
        access_token=token.access_token,
    )
    stub = summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway)
    try:
        await stub.GetPatientSummary(
            summary_pb2.GetPatientSummaryRequest(patient_id=people.ESKIL),
            metadata=(("authorization", f"DPoP {token.access_token}"), ("dpop", proof)),
        )
    except grpc.aio.AioRpcError as exc:
        return exc
    return None


async def test_block_nurse(suite: Suite, page: Page, tmp_path: Path) -> None:
    base = base_of(suite)
    await login_as(page, base, "patient", people.ESKIL)
    await expect(page.get_by_role("heading", level=1, name="Oversikt")).to_be_visible()
    await shot(page, "patient-oversikt")

    await choose_to_block_sigrid(page)

    await expect(page.get_by_role("heading", level=1, name="Se over og bekreft")).to_be_visible()
    await expect(page.get_by_text("Sigrid Sykepleiersen (sykepleier, Bodø")).to_be_visible()
    await axe_check(page)
    await shot(page, "patient-delingsregler-bekreft")
    await page.get_by_role("button", name="Bekreft og lagre").click()

    await expect(page.get_by_role("status")).to_have_text("Regelen er lagret.")
    await expect(page.get_by_text("Kvittering: signatur kontrollert")).to_be_visible()
    receipt = await download(page, "Last ned kvittering for versjon 1", tmp_path)
    keys = tmp_path / "receipt-keys.json"
    async with httpx.AsyncClient() as http:
        keys.write_bytes((await http.get(base + "/api/v1/consent-receipt-keys")).content)
    checked = subprocess.run(  # the README's check, offline: `samhandling consent check-receipt`
        [sys.executable, "-m", "services.cli.main", "consent", "check-receipt", str(receipt), "--keys", str(keys)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert re.fullmatch(r"kvittering-[A-Za-z0-9_-]+-v1\.jws", receipt.name)
    summary, signed = checked.stdout.splitlines()
    assert summary.startswith("the receipt verifies: rule ") and "version 1 (BLOCK_PERSON, ACTIVE)" in summary
    content = json.loads(signed)
    assert content["rule_type"] == "BLOCK_PERSON" and content["actor"] == {"hpr_number": people.SIGRID_HPR}

    refused = await sigrid_reads_eskil(suite)
    assert refused is not None and refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_info(refused)[0] == "CONSENT_DENIED"

    await page.get_by_role("link", name="Logg over bruk").click()
    row = page.locator("tbody tr", has_text="Sigrid Sykepleiersen")
    await expect(row.first).to_contain_text("sykepleier")
    await expect(row.first).to_contain_text("Avvist")
    await expect(row.first).to_contain_text("Din sperre")
    await axe_check(page)
    await shot(page, "patient-logg")
    assert not any(people.ESKIL in url for url in requests_seen(page))


async def test_patient_pages_pass_axe_and_reflow_in_both_languages(suite: Suite, page: Page) -> None:
    base = base_of(suite)
    await login_as(page, base, "patient", people.ESKIL)
    for lang in ("nb", "en"):
        for _, _, path in [s for s in SWEEP if s[1] == people.ESKIL]:
            await page.goto(base + path)
            assert await page.evaluate("document.documentElement.lang") == lang
            await axe_check(page)
            await assert_reflows(page)
        await page.goto(base + "/pasient")
        await page.locator("a.lang-switch").click()
        await page.wait_for_url(base + "/pasient")
    await expect(page.get_by_role("heading", level=1, name="Oversikt")).to_be_visible()  # back in bokmål


def audited_reads_of(suite: Suite, patient_id: str) -> list[tuple[str, str, str]]:
    """(actor pid, patient, basis) of each event about the patient, from the audit database."""
    engine = sa.create_engine(suite.settings.database_url("audit"))
    try:
        with engine.connect() as db:
            return [
                tuple(row)
                for row in db.execute(
                    sa.text("SELECT actor_pid, patient_id, access_basis FROM audit_events WHERE patient_id = :p"),
                    {"p": patient_id},
                )
            ]
    finally:
        engine.dispose()


async def test_guardian(suite: Suite, page: Page) -> None:
    base = base_of(suite)
    await login_as(page, base, "patient", people.MIKKEL)
    await page.get_by_role("link", name="Representasjon").click()
    await expect(page.get_by_role("button", name="Handle for Frida Fantasisen")).to_be_visible()
    await expect(page.get_by_text("fra barnet fyller 12 år").first).to_be_visible()
    assert await page.get_by_role("button", name=re.compile("Handle for Jonas")).count() == 0
    await axe_check(page)
    await assert_reflows(page)
    await shot(page, "patient-representasjon")

    await page.get_by_role("button", name="Handle for Frida Fantasisen").click()
    await page.wait_for_url(base + "/pasient")
    await expect(page.get_by_text("Du handler nå på vegne av Frida Fantasisen")).to_be_visible()
    assert (people.MIKKEL, people.FRIDA, "REPRESENTATIVE") in audited_reads_of(suite, people.FRIDA)
    # Her log names his reads by their basis; a guardian's reading has no purpose to call unknown.
    await page.goto(base + "/pasient/logg?meg=1")
    own = page.locator("tbody tr", has_text="Verge eller fullmakt")
    await expect(own.first).to_contain_text("Verge")
    assert await page.locator("tbody", has_text="Ukjent formål").count() == 0

    # A forged POST for Jonas (12), with the page's own csrf token: consent refuses, nothing changes.
    await page.goto(base + "/pasient/representasjon")
    csrf = await page.locator('input[name="csrf"]').first.get_attribute("value")
    refused = await page.request.post(
        base + "/pasient/representasjon",
        form={"csrf": csrf or "", "representasjon": "rep-seed-0003"},
        headers={"origin": base},
    )
    assert refused.status == 403 and "fra barnet fyller 12 år" in await refused.text()
    await page.goto(base + "/pasient")
    await expect(page.get_by_text("Du handler nå på vegne av Frida Fantasisen")).to_be_visible()


async def lars_opens_vital_signs_in_an_emergency(suite: Suite) -> None:
    token = await obtain_token(suite.settings, Identity("demo-legevakt", user=people.LARS, purpose="ETREAT"), dpop=True)
    proof = make_proof(
        token.dpop_key,
        "POST",
        grpc_target(suite.settings.gateway_public_url, LIST_VITAL_SIGNS),
        access_token=token.access_token,
    )
    request = summary_pb2.ListVitalSignsRequest(patient_id=people.ESKIL)
    request.from_time.FromDatetime(datetime(2025, 10, 1, tzinfo=UTC))  # the seeded measurements: November 2025
    request.to_time.FromDatetime(datetime(2026, 9, 30, tzinfo=UTC))
    answer = await summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway).ListVitalSigns(
        request,
        metadata=(
            ("authorization", f"DPoP {token.access_token}"),
            ("dpop", proof),
            ("x-samhandling-justification", quote(JUSTIFICATION)),
        ),
    )
    assert answer.measurements  # opened: the emergency lets him through the restriction


async def test_emergency_opening(suite: Suite, page: Page, tmp_path: Path) -> None:
    base = base_of(suite)
    await login_as(page, base, "patient", people.ESKIL)
    await page.get_by_role("link", name="Delingsregler").first.click()
    await page.get_by_role("link", name="Begrensning").click()
    await page.get_by_label("Vitale målinger").check()
    await page.get_by_role("button", name="Gå videre").click()
    await expect(page.get_by_text("Helsepersonell ser ikke vitale målinger")).to_be_visible()
    await page.get_by_role("button", name="Bekreft og lagre").click()
    await expect(page.get_by_text("Kvittering: signatur kontrollert")).to_be_visible()
    await page.get_by_role("link", name="Varsler", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("1 uleste")  # the rule change itself
    await expect(page.locator("li.card--unread")).to_contain_text("Du endret en delingsregel.")
    await page.get_by_role("button", name="Marker alle som lest").click()
    await expect(page.get_by_role("status")).to_have_text("0 uleste")

    await lars_opens_vital_signs_in_an_emergency(suite)

    await page.get_by_role("link", name="Oversikt").click()
    await expect(page.get_by_text("Du har 1 uleste varsler.")).to_be_visible()
    await page.get_by_role("link", name="Varsler", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("1 uleste")
    card = page.locator("li.card--unread")
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text("Nødåpning")
    await expect(card).to_contain_text("Lars Legevaktsen")
    await axe_check(page)
    await shot(page, "patient-varsler")

    await page.get_by_role("link", name="Logg over bruk").click()
    emergency = page.locator("tbody tr.emergency", has_text="Lars Legevaktsen")
    await expect(emergency.first).to_contain_text("Nødåpning")
    await expect(emergency.first).to_contain_text("Akuttbehandling")
    await expect(emergency.first).to_contain_text("Tillatt")
    assert JUSTIFICATION not in await page.content()
    await page.get_by_label("Bare nødåpninger").check()
    await page.get_by_role("button", name="Vis").click()
    await expect(page.locator("tbody tr")).to_have_count(await page.locator("tbody tr.emergency").count())
    await axe_check(page)
    await shot(page, "patient-logg-nodapning")

    # The entry's proof: verified with the log's pinned key, Lars's person number and the
    # justification only sealed (commitments); downloaded, and checked offline by check-proof.
    await (
        page.locator("tbody tr.emergency", has_text="Lars Legevaktsen")
        .first.get_by_role("link", name=re.compile("Se bevis"))
        .click()
    )
    await page.wait_for_url(re.compile(r".*/pasient/logg/\d+$"))
    sequence = page.url.rsplit("/", 1)[1]
    await reload_until_shown(page, page.get_by_text("Kontrollert: oppføringen står i loggen"))
    await expect(page.locator("dl.event-detail")).to_contain_text("Lars Legevaktsen")
    await expect(page.locator("p.flag-banner")).to_contain_text("Nødåpning")
    await expect(page.get_by_text("bare som forseglede koder")).to_be_visible()
    assert JUSTIFICATION not in await page.content() and people.LARS not in await page.content()
    await axe_check(page)
    await assert_reflows(page)
    await shot(page, "patient-logg-bevis")
    proof = await download(page, "Last ned beviset (fil)", tmp_path)
    assert proof.name == f"hendelse-{sequence}.proof"
    extra = base64.b64decode(proof.read_text().split("\n")[1].removeprefix("extra "))
    assert people.LARS.encode() not in extra and JUSTIFICATION.encode() not in extra and extra[0] == 2
    checked_offline = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli.main",
            "audit",
            "check-proof",
            str(proof),
            "--vkey",
            logcheck.pinned_vkey(suite.settings),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked_offline.returncode == 0, checked_offline.stdout + checked_offline.stderr
    assert "actor_pid: committed, not shown" in checked_offline.stdout
    assert "justification: committed, not shown" in checked_offline.stdout and people.LARS not in checked_offline.stdout
    assert not any(people.ESKIL in url or people.LARS in url for url in requests_seen(page))


async def test_reservation_warns_and_a_rule_is_revoked_after_confirmation(suite: Suite, page: Page) -> None:
    base = base_of(suite)
    await login_as(page, base, "patient", people.ESKIL)
    await page.goto(base + "/pasient/regler/ny?type=reservasjon")
    await page.get_by_role("button", name="Gå videre").click()
    await expect(page.get_by_role("heading", name="Viktig: reservasjon gjelder også i nødsituasjoner")).to_be_visible()
    await axe_check(page)
    await assert_reflows(page)
    await shot(page, "patient-reservasjon-advarsel")
    await page.get_by_label("Jeg forstår at ingen kan se opplysningene mine, heller ikke i en nødsituasjon").check()
    await page.get_by_role("button", name="Bekreft og lagre").click()
    await expect(page.get_by_text("Kvittering: signatur kontrollert")).to_be_visible()

    await page.get_by_role("link", name="Trekk tilbake").click()
    await expect(page.get_by_role("heading", level=1, name="Trekk tilbake regelen")).to_be_visible()
    await axe_check(page)
    await page.get_by_label("Begrunnelse (valgfritt)").fill("Angret")
    await page.get_by_role("button", name="Trekk tilbake").click()
    await expect(page.get_by_text("Status: trukket tilbake")).to_be_visible()
    await expect(page.get_by_text("Kvittering: signatur kontrollert")).to_have_count(2)  # both versions' receipts
    await page.goto(base + "/pasient/regler")
    await expect(page.get_by_text("Du har ingen delingsregler.")).to_be_visible()
    await page.get_by_role("link", name="Historikk over alle endringer").click()
    await expect(page.locator("tbody tr")).to_have_count(2)
    await axe_check(page)


async def test_block_nurse_with_the_keyboard_alone(suite: Suite, page: Page) -> None:
    base = base_of(suite)
    await login_as(page, base, "patient", people.ESKIL)
    await tab_to(page, "link", "Delingsregler")
    await page.keyboard.press("Enter")
    await page.wait_for_url(base + "/pasient/regler")
    await tab_to(page, "link", "Sperre")
    await page.keyboard.press("Enter")
    await tab_to(page, "searchbox", "Finn helsepersonen")
    await page.keyboard.type("Sigrid")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r".*sok=Sigrid"))
    await tab_to(page, "radio", "Sigrid Sykepleiersen (sykepleier, Bodø kommune – hjemmesykepleie)")
    await page.keyboard.press("Space")
    await tab_to(page, "button", "Gå videre")
    await page.keyboard.press("Enter")
    await page.wait_for_url(base + "/pasient/regler/bekreft")
    await tab_to(page, "button", "Bekreft og lagre")
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("Kvittering: signatur kontrollert")).to_be_visible()
