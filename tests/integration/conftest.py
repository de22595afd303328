"""Fixtures integration test modules share: the development STS on a free port, once per module,
a plain HTTP client that follows no redirects (the tests read each one), PgBouncer in front of
the session's PostgreSQL (`pgbouncer`, tests/fixtures/pgbouncer_pool.py), and an engine on a freshly
migrated audit database (`audit_engine`, tests/fixtures/audit_events.py), and the whole suite on
SQLite for one test (`suite`; a module that needs it otherwise defines its own)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from services.sts.config import StsConfig
from services.sts.main import StsServer
from tests.fixtures.audit_events import audit_engine  # noqa: F401 (a fixture for the modules here)
from tests.fixtures.pgbouncer_pool import pgbouncer  # noqa: F401 (a fixture for the modules here)
from tests.fixtures.sts import SEEDS, start
from tests.support import Suite, running_suite


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sts() -> AsyncIterator[StsServer]:
    server = StsServer(StsConfig(port=0, seeds_dir=SEEDS))
    serving = await start(server)
    yield server
    server.stop()
    await serving


@pytest_asyncio.fixture(loop_scope="module")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False) as client:
        yield client


@pytest.fixture
async def suite(tmp_path: Path) -> AsyncIterator[Suite]:
    async with running_suite(tmp_path) as running:
        yield running
