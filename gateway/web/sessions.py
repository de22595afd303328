"""The web pages' server-side sessions and pending logins, in the gateway's database (platform
migration 0002), shared by every gateway replica.

- A session's cookie value is 32 random bytes (43 characters); the row keeps only its
  SHA-256, so reading the table gives nobody a cookie. Its access token is stored as is: it
  is bound (DPoP `cnf.jkt`) to the deployment's web key, which lives in a file, not here.
- Limits: a session ends `idle_seconds` after its last request (`last_seen_at` is written at
  most every ACTIVITY_WRITE_SECONDS, so the idle limit is kept within that much) and
  `max_seconds` after its login at the latest; without a refresh token, when its access token
  expires. An ended session is deleted when it is next presented.
- Refresh: the caller refreshes a token near its end (gateway/web/login.py). The refresh token
  rotates (each works once; a second use makes the issuer revoke the whole family), so only
  the holder of a REFRESH_LEASE_SECONDS lease on the row spends it: one conditional UPDATE,
  exact on PostgreSQL and SQLite alike, whichever replica asks.
- A pending login lives LOGIN_SECONDS and is taken once; at most MAX_PENDING_LOGINS exist at a
  time (a login beyond answers 503 WEB_LOGINS_FULL).
- Expired rows of both tables are swept by one indexed DELETE each, at most every
  SWEEP_SECONDS per process.
- `peek` reads a session without counting as activity (an open stream's re-check); `take`
  removes one key of the page state by a compare-and-set on the stored text, so of two
  simultaneous requests exactly one gets it.
- A staff session keeps the organisation its token acts for (`orgnr_parent`, `orgnr_child`).
- The session's synchronizer token (`csrf_token`, random and unique) names its row to the
  page helpers (update, credentials), since a page holds the WebSession, not the cookie.

Database work runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa

from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError, invalid_argument
from services.platform.sweep_schedule import SweepSchedule

from .context import CONSOLES, UNCHANGED, Console, Lang, WebSession
from .csrf import new_token

LOGIN_SECONDS = 600
MAX_PENDING_LOGINS = 10_000
ACTIVITY_WRITE_SECONDS = 60
SWEEP_SECONDS = 60.0
MAX_DATA_BYTES = 16 * 1024  # a session's post-redirect-get state, as JSON
MAX_MARK_NAME = 64
MAX_MARK_BYTES = 4 * 1024
COOKIE_BYTES = 32
TAKE_ATTEMPTS = 5  # compare-and-set rounds of `take` before it gives up
REFRESH_LEASE_SECONDS = 10  # one replica at a time spends a session's (rotating) refresh token

_metadata = sa.MetaData()
WEB_LOGINS = sa.Table(
    "web_logins",
    _metadata,
    sa.Column("id_hash", sa.LargeBinary(32), primary_key=True),
    sa.Column("state_hash", sa.LargeBinary(32)),
    sa.Column("client_id", sa.String(100)),
    sa.Column("console", sa.String(10)),
    sa.Column("code_verifier", sa.String(128)),
    sa.Column("nonce", sa.String(64)),
    sa.Column("redirect_uri", sa.Text),
    sa.Column("return_to", sa.String(200)),
    sa.Column("lang", sa.String(2)),
    sa.Column("expires_at", sa.BigInteger),
)
WEB_SESSIONS = sa.Table(
    "web_sessions",
    _metadata,
    sa.Column("id_hash", sa.LargeBinary(32), primary_key=True),
    sa.Column("console", sa.String(10)),
    sa.Column("client_id", sa.String(100)),
    sa.Column("subject", sa.String(100)),
    sa.Column("person_pid", sa.String(11)),
    sa.Column("person_name", sa.String(200)),
    sa.Column("scopes", sa.Text),
    sa.Column("acting_for", sa.String(11)),
    sa.Column("representation_id", sa.String(64)),
    sa.Column("access_token", sa.Text),
    sa.Column("access_expires_at", sa.BigInteger),
    sa.Column("refresh_token", sa.Text),
    sa.Column("dpop_jkt", sa.String(64)),
    sa.Column("refreshing_until", sa.BigInteger),
    sa.Column("csrf_token", sa.String(64)),
    sa.Column("lang", sa.String(2)),
    sa.Column("created_at", sa.BigInteger),
    sa.Column("last_seen_at", sa.BigInteger),
    sa.Column("expires_at", sa.BigInteger),
    sa.Column("data", sa.Text),
    sa.Column("orgnr_parent", sa.String(9)),
    sa.Column("orgnr_child", sa.String(9)),
)
WEB_MARKS = sa.Table(
    "web_marks",
    _metadata,
    sa.Column("subject_hash", sa.LargeBinary(32), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text),
    sa.Column("updated_at", sa.BigInteger),
)


def session_ended() -> ServiceError:
    return Reason.WEB_SESSION_ENDED.error("the session has ended; log in again")


def digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


@dataclass(frozen=True)
class PendingLogin:
    client_id: str
    console: Console
    code_verifier: str
    nonce: str
    redirect_uri: str
    return_to: str
    lang: Lang
    state_hash: bytes


@dataclass(frozen=True)
class NewSession:
    """What a completed login knows: the person and the tokens."""

    console: Console
    client_id: str
    subject: str
    person_pid: str
    person_name: str
    scopes: frozenset[str]
    access_token: str
    access_expires_at: int
    refresh_token: str | None
    dpop_jkt: str
    lang: Lang
    orgnr_parent: str | None = None  # the token's organisation (staff)
    orgnr_child: str | None = None


@dataclass(frozen=True)
class Credentials:
    access_token: str
    access_expires_at: int
    dpop_jkt: str
    client_id: str


@dataclass(frozen=True)
class Lease:
    """The right to spend the session's refresh token, for REFRESH_LEASE_SECONDS."""

    refresh_token: str
    client_id: str


class SqlSessions:
    """The Sessions protocol (gateway/web/context.py) and the login's own rows."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        idle_seconds: float,
        max_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._idle = int(idle_seconds)
        self._max = int(max_seconds)
        self.clock = clock
        self._sweeps = SweepSchedule(SWEEP_SECONDS)

    def close(self) -> None:
        self._engine.dispose()

    def _now(self) -> int:
        return int(self.clock())

    # --- pending logins -------------------------------------------------------------------

    async def begin_login(self, login_id: str, state: str, pending: PendingLogin) -> None:
        await asyncio.to_thread(self._begin_login, login_id, state, pending)

    def _begin_login(self, login_id: str, state: str, pending: PendingLogin) -> None:
        now = self._now()
        self._sweep_if_due()
        with self._engine.begin() as db:
            waiting = db.execute(
                sa.select(sa.func.count()).select_from(WEB_LOGINS).where(WEB_LOGINS.c.expires_at >= now)
            ).scalar_one()
            if waiting >= MAX_PENDING_LOGINS:
                raise Reason.WEB_LOGINS_FULL.error("too many logins are under way; try again in a few minutes")
            db.execute(
                sa.insert(WEB_LOGINS).values(
                    id_hash=digest(login_id),
                    state_hash=digest(state),
                    client_id=pending.client_id,
                    console=pending.console,
                    code_verifier=pending.code_verifier,
                    nonce=pending.nonce,
                    redirect_uri=pending.redirect_uri,
                    return_to=pending.return_to,
                    lang=pending.lang,
                    expires_at=now + LOGIN_SECONDS,
                )
            )

    async def take_login(self, login_id: str) -> PendingLogin | None:
        """The pending login of this id, deleted as it is read (single use); None when there
        is none or it has expired."""
        return await asyncio.to_thread(self._take_login, login_id)

    def _take_login(self, login_id: str) -> PendingLogin | None:
        with self._engine.begin() as db:
            row = db.execute(sa.select(WEB_LOGINS).where(WEB_LOGINS.c.id_hash == digest(login_id))).first()
            if row is None:
                return None
            if db.execute(sa.delete(WEB_LOGINS).where(WEB_LOGINS.c.id_hash == row.id_hash)).rowcount != 1:
                return None  # another request took it first
        if row.expires_at < self._now() or row.console not in CONSOLES:
            return None
        return PendingLogin(
            client_id=row.client_id,
            console=cast(Console, row.console),
            code_verifier=row.code_verifier,
            nonce=row.nonce,
            redirect_uri=row.redirect_uri,
            return_to=row.return_to,
            lang="en" if row.lang == "en" else "nb",
            state_hash=row.state_hash,
        )

    # --- sessions -------------------------------------------------------------------------

    async def create(self, new: NewSession, *, replacing: str | None) -> str:
        """Stores a new session and returns its cookie value (made here, and only here: no id
        a browser brought is ever kept). The session named by `replacing` (the cookie the
        browser presented, if any) is deleted."""
        cookie = secrets.token_urlsafe(COOKIE_BYTES)
        await asyncio.to_thread(self._create, cookie, new, replacing)
        return cookie

    def _create(self, cookie: str, new: NewSession, replacing: str | None) -> None:
        now = self._now()
        # Without a refresh token the session cannot outlive its access token.
        expires_at = now + self._max if new.refresh_token else min(now + self._max, new.access_expires_at)
        with self._engine.begin() as db:
            if replacing:
                db.execute(sa.delete(WEB_SESSIONS).where(WEB_SESSIONS.c.id_hash == digest(replacing)))
            db.execute(
                sa.insert(WEB_SESSIONS).values(
                    id_hash=digest(cookie),
                    console=new.console,
                    client_id=new.client_id,
                    subject=new.subject,
                    person_pid=new.person_pid,
                    person_name=new.person_name,
                    scopes=" ".join(sorted(new.scopes)),
                    acting_for=None,
                    representation_id=None,
                    access_token=new.access_token,
                    access_expires_at=new.access_expires_at,
                    refresh_token=new.refresh_token,
                    dpop_jkt=new.dpop_jkt,
                    refreshing_until=None,
                    csrf_token=new_token(),
                    lang=new.lang,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires_at,
                    data="{}",
                    orgnr_parent=new.orgnr_parent,
                    orgnr_child=new.orgnr_child,
                )
            )

    async def load(self, cookie: str) -> WebSession | None:
        """The session of this cookie; counts as activity (moves `last_seen_at`)."""
        return await asyncio.to_thread(self._load, cookie, True)

    async def peek(self, cookie: str) -> WebSession | None:
        """The session of this cookie without counting as activity: an open stream's re-check
        must not keep an idle session alive."""
        return await asyncio.to_thread(self._load, cookie, False)

    def _load(self, cookie: str, activity: bool) -> WebSession | None:
        now = self._now()
        self._sweep_if_due()
        key = digest(cookie)
        with self._engine.begin() as db:
            row = db.execute(sa.select(WEB_SESSIONS).where(WEB_SESSIONS.c.id_hash == key)).first()
            if row is None:
                return None
            if self._ended(row, now):
                db.execute(sa.delete(WEB_SESSIONS).where(WEB_SESSIONS.c.id_hash == key))
                return None
            if activity and now - row.last_seen_at >= ACTIVITY_WRITE_SECONDS:
                db.execute(sa.update(WEB_SESSIONS).where(WEB_SESSIONS.c.id_hash == key).values(last_seen_at=now))
        return _session(row)

    def _ended(self, row: Any, now: int) -> bool:
        return (
            now >= row.expires_at
            or now - row.last_seen_at > self._idle
            or now - row.created_at >= self._max
            or (row.refresh_token is None and now >= row.access_expires_at)
        )

    async def destroy(self, cookie: str) -> None:
        await asyncio.to_thread(self._delete, WEB_SESSIONS.c.id_hash == digest(cookie))

    async def end(self, session: WebSession) -> None:
        """Ends the session a page holds (its token expired or was refused)."""
        await asyncio.to_thread(self._delete, WEB_SESSIONS.c.csrf_token == session.csrf_token)

    def _delete(self, where: Any) -> None:
        with self._engine.begin() as db:
            db.execute(sa.delete(WEB_SESSIONS).where(where))

    async def credentials(self, session: WebSession) -> Credentials | None:
        """The session's access token and its binding; None when the session has ended."""
        return await asyncio.to_thread(self._credentials, session)

    def _credentials(self, session: WebSession) -> Credentials | None:
        with self._engine.begin() as db:
            row = db.execute(sa.select(WEB_SESSIONS).where(WEB_SESSIONS.c.csrf_token == session.csrf_token)).first()
        if row is None or self._ended(row, self._now()):
            return None
        return Credentials(row.access_token, row.access_expires_at, row.dpop_jkt, row.client_id)

    async def take_refresh_lease(self, session: WebSession) -> Lease | None:
        """The session's refresh token, if this caller now holds the lease (no other request of
        any replica holds an unexpired one); None otherwise."""
        return await asyncio.to_thread(self._take_refresh_lease, session.csrf_token)

    def _take_refresh_lease(self, csrf_token: str) -> Lease | None:
        now = self._now()
        mine = WEB_SESSIONS.c.csrf_token == csrf_token
        with self._engine.begin() as db:
            taken = db.execute(
                sa.update(WEB_SESSIONS)
                .where(
                    mine,
                    WEB_SESSIONS.c.refresh_token.is_not(None),
                    sa.or_(WEB_SESSIONS.c.refreshing_until.is_(None), WEB_SESSIONS.c.refreshing_until < now),
                )
                .values(refreshing_until=now + REFRESH_LEASE_SECONDS)
            )
            if taken.rowcount != 1:
                return None
            row = db.execute(sa.select(WEB_SESSIONS.c.refresh_token, WEB_SESSIONS.c.client_id).where(mine)).one()
        return Lease(row.refresh_token, row.client_id)

    async def store_refreshed(
        self, session: WebSession, access_token: str, access_expires_at: int, refresh_token: str | None
    ) -> None:
        """The refreshed tokens, and the lease released."""
        values = {
            "access_token": access_token,
            "access_expires_at": access_expires_at,
            "refresh_token": refresh_token,
            "refreshing_until": None,
        }
        if refresh_token is None:
            # No next refresh token: the session ends with this access token.
            values["expires_at"] = sa.case(
                (WEB_SESSIONS.c.expires_at < access_expires_at, WEB_SESSIONS.c.expires_at), else_=access_expires_at
            )
        await asyncio.to_thread(self._update, session.csrf_token, values)

    async def release_lease(self, session: WebSession) -> None:
        await asyncio.to_thread(self._update, session.csrf_token, {"refreshing_until": None})

    async def update(
        self,
        session: WebSession,
        *,
        acting_for: str | None = UNCHANGED,
        representation_id: str | None = UNCHANGED,
        data: Mapping[str, Any] = UNCHANGED,
        lang: Lang = UNCHANGED,
    ) -> WebSession:
        changes: dict[str, Any] = {}
        if acting_for is not UNCHANGED:
            changes["acting_for"] = acting_for
        if representation_id is not UNCHANGED:
            changes["representation_id"] = representation_id
        if lang is not UNCHANGED:
            if lang not in ("nb", "en"):
                raise invalid_argument({"lang": "nb or en"})
            changes["lang"] = lang
        stored = dict(changes)
        if data is not UNCHANGED:
            encoded = json.dumps(dict(data), ensure_ascii=False, separators=(",", ":"))
            if len(encoded.encode()) > MAX_DATA_BYTES:
                raise invalid_argument({"data": f"at most {MAX_DATA_BYTES} bytes of session state"})
            changes["data"] = dict(data)
            stored["data"] = encoded
        if stored:
            await asyncio.to_thread(self._update, session.csrf_token, stored)
        return dataclasses.replace(session, **changes)

    async def take(self, session: WebSession, key: str) -> Any | None:
        """Removes `key` from the session's stored page state and returns its value, or None
        when it is not there (any more). A compare-and-set on the stored text, so of two
        requests taking the same key at once exactly one gets it, on any replica."""
        return await asyncio.to_thread(self._take, session.csrf_token, key)

    def _take(self, csrf_token: str, key: str) -> Any | None:
        mine = WEB_SESSIONS.c.csrf_token == csrf_token
        for _ in range(TAKE_ATTEMPTS):
            with self._engine.begin() as db:
                stored = db.execute(sa.select(WEB_SESSIONS.c.data).where(mine)).scalar_one_or_none()
                data = _decoded(stored)
                if key not in data:
                    return None
                value = data.pop(key)
                swapped = db.execute(
                    sa.update(WEB_SESSIONS)
                    .where(mine, WEB_SESSIONS.c.data == stored)
                    .values(data=json.dumps(data, ensure_ascii=False, separators=(",", ":")))
                )
                if swapped.rowcount == 1:
                    return value
            # The state changed between the read and the write: read it again.
        raise Reason.WEB_SESSION_BUSY.error("the session is being changed by another request; try again")

    def _update(self, csrf_token: str, values: Mapping[str, Any]) -> None:
        with self._engine.begin() as db:
            db.execute(sa.update(WEB_SESSIONS).where(WEB_SESSIONS.c.csrf_token == csrf_token).values(**values))

    # --- marks ----------------------------------------------------------------------------

    async def mark(self, session: WebSession, name: str) -> str | None:
        return await asyncio.to_thread(self._mark, digest(session.subject), _mark_name(name))

    def _mark(self, subject_hash: bytes, name: str) -> str | None:
        with self._engine.begin() as db:
            return db.execute(
                sa.select(WEB_MARKS.c.value).where(WEB_MARKS.c.subject_hash == subject_hash, WEB_MARKS.c.name == name)
            ).scalar_one_or_none()

    async def set_mark(self, session: WebSession, name: str, value: str) -> None:
        if len(value.encode()) > MAX_MARK_BYTES:
            raise invalid_argument({"value": f"at most {MAX_MARK_BYTES} bytes"})
        await asyncio.to_thread(self._set_mark, digest(session.subject), _mark_name(name), value)

    def _set_mark(self, subject_hash: bytes, name: str, value: str) -> None:
        where = (WEB_MARKS.c.subject_hash == subject_hash, WEB_MARKS.c.name == name)
        with self._engine.begin() as db:
            changed = db.execute(sa.update(WEB_MARKS).where(*where).values(value=value, updated_at=self._now()))
            if changed.rowcount == 0:
                db.execute(
                    sa.insert(WEB_MARKS).values(
                        subject_hash=subject_hash, name=name, value=value, updated_at=self._now()
                    )
                )

    # --- sweeping -------------------------------------------------------------------------

    def _sweep_if_due(self) -> None:
        self._sweeps.run_if_due(self.sweep)

    def sweep(self) -> int:
        """Deletes the expired pending logins and the ended sessions; returns how many."""
        now = self._now()
        with self._engine.begin() as db:
            logins = db.execute(sa.delete(WEB_LOGINS).where(WEB_LOGINS.c.expires_at < now)).rowcount
            sessions = db.execute(
                sa.delete(WEB_SESSIONS).where(
                    sa.or_(WEB_SESSIONS.c.expires_at <= now, WEB_SESSIONS.c.last_seen_at < now - self._idle)
                )
            ).rowcount
        return logins + sessions


def _mark_name(name: str) -> str:
    if not 0 < len(name) <= MAX_MARK_NAME:
        raise invalid_argument({"name": f"1 to {MAX_MARK_NAME} characters"})
    return name


def _decoded(stored: str | None) -> dict[str, Any]:
    try:
        data = json.loads(stored or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _session(row: Any) -> WebSession:
    data = _decoded(row.data)
    return WebSession(
        console=cast(Console, row.console),
        subject=row.subject,
        person_pid=row.person_pid,
        person_name=row.person_name,
        scopes=frozenset(row.scopes.split()),
        acting_for=row.acting_for,
        representation_id=row.representation_id,
        csrf_token=row.csrf_token,
        lang="en" if row.lang == "en" else "nb",
        data=data,
        orgnr_parent=row.orgnr_parent or None,
        orgnr_child=row.orgnr_child or None,
    )
