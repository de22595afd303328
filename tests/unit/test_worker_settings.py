"""SAMHANDLING_WORKERS (services/platform/settings.py, docs/workers.md): one worker unless asked,
bounded, and what makes the workers share their ports."""

from __future__ import annotations

import pytest

from services.cli.worker_supervisor import WORKER_INDEX, worker_index
from services.platform.server import ServerTransport
from services.platform.settings import MAX_WORKERS, Settings, SettingsError


def test_one_worker_unless_asked() -> None:
    assert Settings.from_env({}).workers == 1
    assert Settings.from_env({"SAMHANDLING_WORKERS": "4"}).workers == 4
    assert Settings.from_env({"SAMHANDLING_WORKERS": str(MAX_WORKERS)}).workers == MAX_WORKERS


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", str(MAX_WORKERS + 1)])
def test_a_worker_count_out_of_bounds_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="SAMHANDLING_WORKERS must be a whole number from 1 to 64"):
        Settings.from_env({"SAMHANDLING_WORKERS": value})


def test_servers_bind_with_so_reuseport() -> None:
    assert dict(ServerTransport().options())["grpc.so_reuseport"] == 1


def test_a_worker_knows_its_index_and_a_plain_serve_is_no_worker() -> None:
    assert worker_index({WORKER_INDEX: "1"}) == 1
    assert worker_index({}) is None
