"""The web session store (gateway/web/sessions.py) on real SQLite and PostgreSQL databases
at the platform migrations' head: pending logins are single use, expire and are bounded; sessions keep only
their id's hash, end with their access token, and carry page state within its limit; marks;
sweeping removes what has ended."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import grpc
import pytest
import sqlalchemy as sa

from gateway.web import sessions as store
from gateway.web.sessions import NewSession, PendingLogin, SqlSessions
from services.platform.db import make_engine, migrate_platform
from services.platform.errors import ServiceError
from tests import support_web
from tests.fixtures import people

NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sessions(db_url: str, clock: Clock):
    """On SQLite and on PostgreSQL, at the platform migrations' head."""
    migrate_platform(db_url)
    made = SqlSessions(make_engine(db_url), idle_seconds=100, max_seconds=1000, clock=clock)
    yield made
    made.close()


def pending(**changes) -> PendingLogin:
    values = dict(
        client_id="samhandling-portal",
        console="patient",
        code_verifier="v" * 86,
        nonce="n" * 43,
        redirect_uri="http://127.0.0.1:8080/innlogging/ferdig",
        return_to="/pasient",
        lang="nb",
        state_hash=b"",
    )
    return PendingLogin(**(values | changes))  # type: ignore[arg-type]


def new_session(**changes: Any) -> NewSession:
    return support_web.new_session(**({"access_expires_at": int(NOW) + 600} | changes))


def count(sessions: SqlSessions, table: str) -> int:
    with sessions._engine.connect() as db:
        return db.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


async def test_a_pending_login_is_taken_once_with_its_state_hashed(sessions) -> None:
    await sessions.begin_login("login-1", "state-1", pending())

    taken = await sessions.take_login("login-1")
    again = await sessions.take_login("login-1")

    assert taken is not None and taken.state_hash == hashlib.sha256(b"state-1").digest()
    assert taken.code_verifier == "v" * 86 and taken.console == "patient"
    assert again is None and await sessions.take_login("never-made") is None


async def test_an_expired_pending_login_is_refused(sessions, clock) -> None:
    await sessions.begin_login("login-1", "state-1", pending())
    clock.now += store.LOGIN_SECONDS + 1

    assert await sessions.take_login("login-1") is None


async def test_pending_logins_are_bounded(sessions, monkeypatch) -> None:
    monkeypatch.setattr(store, "MAX_PENDING_LOGINS", 2)
    await sessions.begin_login("a", "s", pending())
    await sessions.begin_login("b", "s", pending())

    with pytest.raises(ServiceError) as refused:
        await sessions.begin_login("c", "s", pending())

    assert (refused.value.code, refused.value.reason) == (grpc.StatusCode.UNAVAILABLE, "WEB_LOGINS_FULL")
    assert count(sessions, "web_logins") == 2


async def test_a_session_keeps_only_its_ids_hash_and_ends_with_its_access_token(sessions, clock) -> None:
    cookie = await sessions.create(new_session(access_expires_at=int(NOW) + 90, refresh_token=None), replacing=None)

    with sessions._engine.connect() as db:
        [row] = db.execute(sa.text("SELECT * FROM web_sessions"))
    assert row.id_hash == hashlib.sha256(cookie.encode()).digest() and cookie not in {str(v) for v in row}
    loaded = await sessions.load(cookie)
    assert loaded is not None and loaded.person_pid == people.ESKIL and loaded.csrf_token
    credentials = await sessions.credentials(loaded)
    assert credentials is not None and (credentials.access_token, credentials.client_id) == (
        "at-1",
        "samhandling-portal",
    )

    clock.now += 90
    assert await sessions.load(cookie) is None
    assert await sessions.credentials(loaded) is None
    assert count(sessions, "web_sessions") == 0


async def test_page_state_is_kept_within_its_limit(sessions) -> None:
    cookie = await sessions.create(new_session(), replacing=None)
    session = await sessions.load(cookie)
    assert session is not None

    updated = await sessions.update(session, acting_for=people.FRIDA, data={"draft": "x"}, lang="en")
    with pytest.raises(ServiceError) as too_much:
        await sessions.update(updated, data={"draft": "x" * store.MAX_DATA_BYTES})

    reloaded = await sessions.load(cookie)
    assert reloaded == updated and reloaded.acting_for == people.FRIDA and reloaded.data == {"draft": "x"}
    assert too_much.value.reason == "INVALID_ARGUMENT"


async def test_marks_are_kept_per_person(sessions) -> None:
    cookie = await sessions.create(new_session(), replacing=None)
    session = await sessions.load(cookie)
    assert session is not None

    assert await sessions.mark(session, "varsler-lest") is None
    await sessions.set_mark(session, "varsler-lest", "1")
    await sessions.set_mark(session, "varsler-lest", "2")

    assert await sessions.mark(session, "varsler-lest") == "2"
    assert count(sessions, "web_marks") == 1


async def test_the_sweep_removes_expired_logins_and_ended_sessions(sessions, clock, monkeypatch) -> None:
    monkeypatch.setattr(store, "LOGIN_SECONDS", 50)
    await sessions.begin_login("old", "s", pending())
    idle = await sessions.create(new_session(), replacing=None)
    clock.now += 60
    await sessions.begin_login("new", "s", pending())
    active = await sessions.create(new_session(subject="sub-2"), replacing=None)
    clock.now = NOW + 101  # the first login has expired, the first session has been idle too long

    assert sessions.sweep() == 2

    assert await sessions.take_login("new") is not None
    assert await sessions.load(idle) is None and await sessions.load(active) is not None


async def test_one_request_at_a_time_holds_the_refresh_lease(sessions, clock) -> None:
    cookie = await sessions.create(new_session(), replacing=None)
    session = await sessions.load(cookie)
    assert session is not None

    first = await sessions.take_refresh_lease(session)
    second = await sessions.take_refresh_lease(session)
    clock.now += store.REFRESH_LEASE_SECONDS + 1
    after_the_lease = await sessions.take_refresh_lease(session)
    await sessions.store_refreshed(session, "at-2", int(clock.now) + 600, "rt-2")
    next_one = await sessions.take_refresh_lease(session)

    assert first is not None and (first.refresh_token, first.client_id) == ("rt-1", "samhandling-portal")
    assert second is None  # another request is refreshing
    assert after_the_lease is not None and after_the_lease.refresh_token == "rt-1"  # a holder that died
    assert next_one is not None and next_one.refresh_token == "rt-2"  # storing released the lease
    credentials = await sessions.credentials(session)
    assert credentials is not None and credentials.access_token == "at-2"


async def test_without_a_next_refresh_token_the_session_ends_with_its_access_token(sessions, clock) -> None:
    cookie = await sessions.create(new_session(), replacing=None)
    session = await sessions.load(cookie)
    assert session is not None

    await sessions.store_refreshed(session, "at-2", int(NOW) + 50, None)

    assert await sessions.take_refresh_lease(session) is None
    clock.now += 50
    assert await sessions.load(cookie) is None


async def test_peeking_at_a_session_is_not_activity(sessions, clock) -> None:
    cookie = await sessions.create(new_session(), replacing=None)
    clock.now += 70  # past ACTIVITY_WRITE_SECONDS: a load would move last_seen_at now
    assert await sessions.peek(cookie) is not None
    clock.now += 31  # 101 s since the last activity, over the idle limit of 100
    assert await sessions.peek(cookie) is None and await sessions.load(cookie) is None


async def test_a_value_is_taken_from_the_page_state_exactly_once(sessions) -> None:
    cookie = await sessions.create(new_session(), replacing=None)
    session = await sessions.load(cookie)
    session = await sessions.update(session, data={"rule_draft": {"kind": "sperre"}, "other": 1})

    taken = await asyncio.gather(*(sessions.take(session, "rule_draft") for _ in range(4)))

    assert sorted(taken, key=str) == [None, None, None, {"kind": "sperre"}]
    assert (await sessions.load(cookie)).data == {"other": 1}
    assert await sessions.take(session, "never-set") is None


async def test_a_staff_session_keeps_its_tokens_organisation(sessions) -> None:
    staff = await sessions.create(
        new_session(console="auditor", orgnr_parent="910000012", orgnr_child="910000020"), replacing=None
    )
    patient = await sessions.create(new_session(), replacing=None)

    loaded = await sessions.load(staff)
    assert loaded is not None and (loaded.orgnr_parent, loaded.orgnr_child) == ("910000012", "910000020")
    updated = await sessions.update(loaded, lang="en")
    assert (updated.orgnr_parent, updated.orgnr_child) == ("910000012", "910000020")
    plain = await sessions.load(patient)
    assert plain is not None and plain.orgnr_parent is None and plain.orgnr_child is None
