"""Shared fixtures: a real PostgreSQL server per session and a database URL per test; under
pytest-xdist, each worker's own slice of the ports `free_port` hands out."""

from __future__ import annotations

import os

# As in services/cli/main.py: tests start children with a pre-exec step while gRPC threads run,
# and gRPC's at-fork handlers could abort such a child before its exec. Before gRPC is imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.cli.dev_postgres import FREE_PORTS_ENV, free_port_range
from tests.fixtures import hypothesis_profiles
from tests.fixtures.postgres import INSTALL_HINT, PostgresServer, find_bin_dir, running_server

# Before any test module is imported, so `@settings` and `examples()` see the profile's counts.
HYPOTHESIS_PROFILE = hypothesis_profiles.load()


def pytest_report_header() -> str:
    return f"hypothesis profile: {HYPOTHESIS_PROFILE} (tests/fixtures/hypothesis_profiles.py)"


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, each worker (and every process it starts, through the environment)
    hands out ports from a slice of its own: a port one worker picked and a child of it binds a
    moment later is never picked by the other worker meanwhile. Port-0 binds never collide with
    them either: free_port's range lies below the kernel's ephemeral range."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    span = free_port_range()
    if not (worker and count and span):
        return
    index, workers = int(worker.removeprefix("gw")), int(count)
    size = (span[1] - span[0] + 1) // workers
    low = span[0] + index * size
    os.environ[FREE_PORTS_ENV] = f"{low}-{low + size - 1}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the whole session; skipped (or failed in CI) if not installed."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        # CI sets this so a missing server can never turn the PostgreSQL half of the suite into skips.
        if os.environ.get("SAMHANDLING_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"SAMHANDLING_REQUIRE_POSTGRES=1 but {INSTALL_HINT}", pytrace=False)
        pytest.skip(INSTALL_HINT)
    with running_server(bin_dir) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, empty database, dropped after the test."""
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on each backend the stores support; every store test uses this."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    # Looked up lazily so SQLite-only runs never start a PostgreSQL server.
    return str(request.getfixturevalue("postgres_url"))
