"""The capacity page's alert relay against the real web session store (SQLite): a page left
open does not keep its session alive."""

from __future__ import annotations

import asyncio
import json

from gateway.web import capacity
from gateway.web.context import SESSION_COOKIE
from samhandling.capacity.v1 import capacity_pb2
from tests.fixtures import people
from tests.support_web import FakeCaller, new_session, web_client


class _ClockStepCaller(FakeCaller):
    """Yields its stream's messages `step` seconds of the sessions' clock apart."""

    def __init__(self, clock: list[float], step: float, messages: list) -> None:
        super().__init__(streams={capacity.WATCH_ALERTS: messages})
        self.clock, self.step = clock, step

    async def stream(self, session, rpc, request_after):  # type: ignore[no-untyped-def, override]
        for n, message in enumerate(self.streams[rpc]):
            if n:
                self.clock[0] += self.step
            yield message


def test_an_open_stream_rechecking_its_session_is_not_activity(tmp_path, monkeypatch) -> None:
    """The idle limit holds with a page left open: the relay's re-checks do not move the
    session's last activity, so a session idle for longer than the limit ends mid-stream."""
    from gateway.web.sessions import SqlSessions
    from services.platform.db import make_engine, migrate_platform

    monkeypatch.setattr(capacity, "RECHECK_SECONDS", 0.0)
    url = f"sqlite:///{tmp_path / 'web.db'}"
    migrate_platform(url)
    now = [1_800_000_000.0]
    sessions = SqlSessions(make_engine(url), idle_seconds=100, max_seconds=10_000, clock=lambda: now[0])
    try:
        caller = _ClockStepCaller(now, 70, [capacity_pb2.WatchAlertsResponse(position=n) for n in (1, 2, 3)])
        client = web_client(capacity.routes(), caller=caller, sessions=sessions)  # type: ignore[arg-type]
        cookie = asyncio.run(
            sessions.create(
                new_session(
                    console="capacity",
                    client_id="samhandling-personnel",
                    person_pid=people.MARTE,
                    person_name="Marte Mottaksen",
                    scopes=frozenset({"samhandling:capacity"}),
                    access_expires_at=int(now[0]) + 10_000,
                ),
                replacing=None,
            )
        )
        client.cookies.set(SESSION_COOKIE, cookie)

        lines = [json.loads(line) for line in client.get("/ansatt/varsler/strom").text.splitlines()]

        # Re-checked after each message, at 0 s, 70 s (no activity written) and 140 s: idle
        # for 140 s > 100 s. (A re-check that counted as activity would keep it open.)
        assert lines[:3] == [{"position": "1"}, {"position": "2"}, {"position": "3"}]
        assert lines[3]["error"]["reason"] == "WEB_SESSION_ENDED" and len(lines) == 4
    finally:
        sessions.close()
