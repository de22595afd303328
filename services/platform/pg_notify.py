"""PostgreSQL `LISTEN/NOTIFY` for replicas that follow a table: writers `notify` inside the
transaction that changes it, followers `listen` to be woken at once.

Why a notification is only ever a hint. PostgreSQL delivers a NOTIFY when (and only if) its
transaction commits, to every session that was LISTENing at that moment; nothing is queued
for a session that was not. So a follower must never rely on one: it re-reads the table when
woken, and also on a poll of its own (the only mechanism on SQLite, which has no
notifications). What `listen` adds is that whenever it could have missed a notification, it
says so: after every (re)connection, once `LISTEN` is in place, it calls `on_connect`, and the
follower re-reads. A commit before that point is seen by that read; one after it is notified.
So with a working connection a follower is woken within the time a notification takes to
arrive, and without one it still sees everything at polling speed.

The listening connection sits idle outside any transaction, so no server timeout ends it;
TCP keepalives (db_tuning.KEEPALIVES) notice a vanished server within a minute, and it
reconnects. It cannot go through a transaction pooler, which does not keep LISTEN: give it a
direct URL (`SAMHANDLING_<BACKEND>_SESSION_DATABASE_URL`, settings.py).

Bounds: one connection per `listen` call (run one per process and channel set, not one per
follower); reconnects back off from MIN_BACKOFF_SECONDS, doubling to MAX_BACKOFF_SECONDS.
Logs carry the error's class only: a connection error may quote the URL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from .db import database_password
from .db_tuning import KEEPALIVES

log = logging.getLogger(__name__)

MIN_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 5  # a database that does not answer is retried, not waited on


def listen_url(url: URL | str) -> str | None:
    """The libpq URL of a SQLAlchemy PostgreSQL URL (any driver), for a connection of its own
    outside SQLAlchemy's pool; None for any other database (no notifications)."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() != "postgresql":
        return None
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def notify(session: Session, channel: str, payload: str = "") -> None:
    """Sends NOTIFY on `channel` within the session's transaction: delivered at its commit,
    never if it rolls back. Does nothing on databases other than PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload})


@dataclass
class Backoff:
    """Reconnection delays: MIN_BACKOFF_SECONDS, doubling up to MAX_BACKOFF_SECONDS; `reset`
    after a connection succeeded."""

    low: float = MIN_BACKOFF_SECONDS
    high: float = MAX_BACKOFF_SECONDS
    _next: float = 0.0

    def delay(self) -> float:
        current = self._next or self.low
        self._next = min(current * 2, self.high)
        return current

    def reset(self) -> None:
        self._next = 0.0


async def notifications(
    url: str,
    channels: Sequence[str],
    application_name: str,
    password_file: Path | None = None,
) -> AsyncIterator[str | None]:
    """Opens one autocommit connection, LISTENs on `channels`, yields None once listening and
    then each notification's payload, until the connection fails (raising) or the caller stops.
    `password_file`: SAMHANDLING_DATABASE_PASSWORD_FILE, read on each (re)connection."""
    import psycopg
    from psycopg import sql

    connection_args: dict[str, Any] = {
        "application_name": application_name,
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        **KEEPALIVES,
    }
    if password_file is not None:
        connection_args["password"] = database_password(password_file)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True, **connection_args) as connection:
        for channel in channels:
            await connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        yield None
        async for notification in connection.notifies():
            yield notification.payload


async def listen(
    url: str,
    channels: Sequence[str],
    on_notify: Callable[[str], None],
    on_connect: Callable[[], None],
    *,
    name: str,
    backoff: Backoff | None = None,
    password_file: Path | None = None,
) -> None:
    """Calls `on_notify(payload)` for each notification on `channels`, and `on_connect()` each
    time it starts listening (notifications may have been missed before); reconnects after a
    lost connection, backing off. Runs until cancelled. `name` says who listens, in logs and
    as the connection's application_name (`samhandling-<name>`)."""
    backoff = backoff or Backoff()
    while True:
        try:
            async for payload in notifications(url, channels, f"samhandling-{name}", password_file):
                if payload is None:
                    backoff.reset()
                    log.info("listening for notifications", extra={"listener": name})
                    on_connect()
                else:
                    on_notify(payload)
            raise ConnectionError("notifications ended")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the connection failed or dropped: the followers poll meanwhile
            log.warning(
                "not listening for notifications, polling", extra={"listener": name, "error": exc.__class__.__name__}
            )
        await asyncio.sleep(backoff.delay())  # a reconnection delay, not synchronisation
