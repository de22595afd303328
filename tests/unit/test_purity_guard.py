"""The guard that keeps tests/unit pure (tests/fixtures/purity.py) refuses what it says, and
nothing a pure test needs; a refusal that the code under test swallows is still seen."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import subprocess
import sys

import grpc
import psycopg
import pytest

from tests.fixtures.purity import ImpureUnitTest, watched


@pytest.mark.parametrize(
    "impure",
    [
        pytest.param(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM), id="internet-socket"),
        pytest.param(lambda: socket.getaddrinfo("localhost", 80), id="name-lookup"),
        pytest.param(lambda: subprocess.run([sys.executable, "-c", "pass"], check=False), id="process"),
        pytest.param(lambda: sqlite3.connect(":memory:"), id="sqlite-in-memory"),
        pytest.param(lambda: grpc.aio.server(), id="grpc-server"),
        pytest.param(lambda: grpc.insecure_channel("127.0.0.1:1"), id="grpc-channel"),
        pytest.param(lambda: psycopg.connect("postgresql://nobody@127.0.0.1:1/none"), id="postgresql"),
    ],
)
def test_each_way_out_of_the_process_is_refused(impure) -> None:
    with watched() as seen:
        with pytest.raises(ImpureUnitTest, match="move the test to tests/integration"):
            impure()
    assert len(seen) == 1


def test_a_swallowed_refusal_is_still_seen() -> None:
    with watched() as seen:
        try:
            sqlite3.connect(":memory:")
        except Exception:  # code under test that hides errors
            pass
    assert seen == ["cause the audit event 'sqlite3.connect'"]


def test_an_event_loop_and_files_are_pure() -> None:
    async def nothing() -> int:
        await asyncio.sleep(0)
        return 1

    with watched() as seen:
        assert asyncio.run(nothing()) == 1  # its self-pipe is a Unix socket pair
        left, right = socket.socketpair()
        left.close(), right.close()
    assert seen == []
