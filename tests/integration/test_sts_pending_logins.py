"""Pending logins at the development STS (issue 12, points 12 and 8): bounded per client and in
all, expired by time, refused rather than evicting someone else's; and the login log's person
pseudonym is keyed."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from services.platform.ids import pseudonymise
from services.sts.config import StsConfig
from services.sts.login import MAX_PENDING_LOGINS_PER_CLIENT, PENDING_LOGIN_SECONDS
from services.sts.main import StsServer
from tests.fixtures.people import ESKIL, LARS
from tests.fixtures.sts import LEGEVAKT_CALLBACK, SEEDS, WEB_CALLBACK, Clock, Login, redirect_params, start

pytestmark = pytest.mark.asyncio(loop_scope="module")

LOG_KEY = "a-log-pseudonym-key-for-this-test-only-0123456789"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest_asyncio.fixture(loop_scope="module")
async def sts(clock: Clock) -> AsyncIterator[StsServer]:
    """A fresh STS per test: each one fills the pending logins."""
    server = StsServer(StsConfig(port=0, seeds_dir=SEEDS, log_pseudonym_key=LOG_KEY), clock=clock)
    serving = await start(server)
    yield server
    server.stop()
    await serving


async def test_a_flood_at_one_client_leaves_another_clients_login_alone(
    sts: StsServer, http: httpx.AsyncClient
) -> None:
    """1000 anonymous authorization requests used to push every earlier login out."""
    waiting = Login(sts, http, "demo-legevakt", LEGEVAKT_CALLBACK)
    page = await waiting.page()
    assert page.status_code == 200

    flood = Login(sts, http, "samhandling-web", WEB_CALLBACK)
    answers = [await flood.page() for _ in range(1000)]

    # The person at the other client still logs in.
    assert "code" in redirect_params(await waiting.choose(page, LARS), LEGEVAKT_CALLBACK)
    # The flooding client got its bound, then a clear refusal back at its redirect_uri.
    assert [a.status_code for a in answers[:MAX_PENDING_LOGINS_PER_CLIENT]] == [200] * MAX_PENDING_LOGINS_PER_CLIENT
    refused = redirect_params(answers[MAX_PENDING_LOGINS_PER_CLIENT], WEB_CALLBACK)
    assert refused["error"] == "temporarily_unavailable"
    assert refused["state"] == flood.state and "code" not in refused
    assert all(a.status_code == 302 for a in answers[MAX_PENDING_LOGINS_PER_CLIENT:])
    # The flooded client's own earlier logins were kept, not evicted.
    assert "code" in redirect_params(await flood.choose(answers[0], ESKIL), WEB_CALLBACK)


async def test_a_pending_login_expires_and_frees_its_place(
    sts: StsServer, http: httpx.AsyncClient, clock: Clock
) -> None:
    login = Login(sts, http, "samhandling-web", WEB_CALLBACK)
    pages = [await login.page() for _ in range(MAX_PENDING_LOGINS_PER_CLIENT)]
    assert redirect_params(await login.page(), WEB_CALLBACK)["error"] == "temporarily_unavailable"

    clock.advance(PENDING_LOGIN_SECONDS)

    expired = await login.choose(pages[-1], ESKIL)
    assert expired.status_code == 400 and "utløpt eller ukjent" in expired.text
    fresh = await login.page()
    assert fresh.status_code == 200
    assert "code" in redirect_params(await login.choose(fresh, ESKIL), WEB_CALLBACK)


async def test_the_login_log_names_the_person_by_a_keyed_pseudonym(
    sts: StsServer, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="services.sts")
    await Login(sts, http, "samhandling-web", WEB_CALLBACK).code(ESKIL)

    lines = [r.getMessage() for r in caplog.records if "logged in at client" in r.getMessage()]
    assert len(lines) == 1
    tag = re.search(r"p:[0-9a-f]+", lines[0])
    assert tag is not None and tag.group() == pseudonymise(ESKIL, LOG_KEY.encode())
    assert ESKIL not in lines[0]
