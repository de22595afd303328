"""Helpers for unit tests of the web pages (gateway/web): a FakeCaller that answers RPCs from
a table and records them, a FakeSessions store in memory, and `web_client`, a Starlette
TestClient over the gateway's real HTTP app with the given web routes mounted (the real
wrapper: session load, console guard, CSRF, headers, error pages). Pure unit tests only:
browser and integration tests use the real suite (tests/support.py)."""

from __future__ import annotations

import dataclasses
import secrets
import warnings
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message
from opentelemetry.sdk.trace import TracerProvider

with warnings.catch_warnings():
    # Starlette 1.x would have httpx2 under its TestClient; httpx (the suite's client) still works.
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from starlette.testclient import TestClient

from gateway.http.app import create_app
from gateway.web.app import create_web_mount
from gateway.web.context import SESSION_COOKIE, UNCHANGED, Console, Lang, Web, WebRoute, WebSession
from gateway.web.csrf import CSRF_FIELD, new_token
from gateway.web.directory import Directory
from gateway.web.sessions import NewSession
from services.platform.errors import ServiceError
from services.platform.settings import REPO_ROOT
from tests.fixtures import people

# The origin the TestClient's requests have: https, so that `__Host-` cookies (Secure) are kept.
ORIGIN = "https://testserver"

Answer = Message | ServiceError | Callable[[Message], Message]


@dataclass
class FakeCaller:
    """`answers`: rpc -> a response, an error to raise, or a function of the request.
    `streams`: rpc -> the messages a stream yields. Every call is recorded in `calls`."""

    answers: dict[str, Answer] = field(default_factory=dict)
    streams: dict[str, list[Message]] = field(default_factory=dict)
    calls: list[tuple[WebSession, str, Message]] = field(default_factory=list)
    justifications: list[str] = field(default_factory=list)  # each call's (empty: no emergency opening)

    async def call(self, session: WebSession, rpc: str, request: Message, *, justification: str = "") -> Message:
        self.calls.append((session, rpc, request))
        self.justifications.append(justification)
        try:
            answer = self.answers[rpc]
        except KeyError:
            raise AssertionError(f"FakeCaller has no answer for {rpc}") from None
        if isinstance(answer, ServiceError):
            raise answer
        if isinstance(answer, Message):
            return answer
        return answer(request)

    async def stream(
        self, session: WebSession, rpc: str, request_after: Callable[[int], Message]
    ) -> AsyncIterator[Message]:
        self.calls.append((session, rpc, request_after(0)))
        for message in self.streams.get(rpc, []):
            yield message

    def rpcs(self) -> list[str]:
        return [rpc for _, rpc, _ in self.calls]


def make_session(console: Console = "patient", **overrides: Any) -> WebSession:
    values: dict[str, Any] = {
        "console": console,
        "subject": "subject-1",
        "person_pid": people.ESKIL,
        "person_name": "Eskil Eksempelsen",
        "scopes": frozenset({"openid", "profile", "samhandling:patient"}),
        "acting_for": None,
        "representation_id": None,
        "csrf_token": new_token(),
        "lang": "nb",
        "data": {},
    }
    return WebSession(**(values | overrides))


def new_session(**changes: Any) -> NewSession:
    """What a login hands the SQL session store: Eskil at the patient console, unless changed
    (the access token's expiry far ahead by default)."""
    values: dict[str, Any] = {
        "console": "patient",
        "client_id": "samhandling-portal",
        "subject": "sub-1",
        "person_pid": people.ESKIL,
        "person_name": "Eskil Eksempelsen",
        "scopes": frozenset({"samhandling:patient"}),
        "access_token": "at-1",
        "access_expires_at": 2_000_000_000,
        "refresh_token": "rt-1",
        "dpop_jkt": "jkt",
        "lang": "nb",
    }
    return NewSession(**(values | changes))


@dataclass
class FakeSessions:
    """Sessions in memory, by cookie value. `add` makes a cookie for a session; `end` ends one."""

    by_cookie: dict[str, WebSession] = field(default_factory=dict)
    marks: dict[tuple[str, str], str] = field(default_factory=dict)
    loads: int = 0

    def add(self, session: WebSession) -> str:
        cookie = secrets.token_urlsafe(32)
        self.by_cookie[cookie] = session
        return cookie

    def end(self, cookie: str) -> None:
        self.by_cookie.pop(cookie, None)

    async def load(self, cookie: str) -> WebSession | None:
        self.loads += 1
        return self.by_cookie.get(cookie)

    async def update(
        self,
        session: WebSession,
        *,
        acting_for: str | None = UNCHANGED,
        representation_id: str | None = UNCHANGED,
        data: Mapping[str, Any] = UNCHANGED,
        lang: Lang = UNCHANGED,
    ) -> WebSession:
        changes = {
            k: v
            for k, v in {
                "acting_for": acting_for,
                "representation_id": representation_id,
                "data": data,
                "lang": lang,
            }.items()
            if v is not UNCHANGED
        }
        updated = dataclasses.replace(session, **changes)
        for cookie, held in self.by_cookie.items():
            if held == session:
                self.by_cookie[cookie] = updated
        return updated

    async def peek(self, cookie: str) -> WebSession | None:
        return self.by_cookie.get(cookie)

    async def take(self, session: WebSession, key: str) -> Any | None:
        for cookie, held in self.by_cookie.items():
            if held.csrf_token == session.csrf_token:
                if key not in held.data:
                    return None
                value = held.data[key]
                self.by_cookie[cookie] = dataclasses.replace(
                    held, data={k: v for k, v in held.data.items() if k != key}
                )
                return value
        return None

    async def mark(self, session: WebSession, name: str) -> str | None:
        return self.marks.get((session.subject, name))

    async def set_mark(self, session: WebSession, name: str, value: str) -> None:
        self.marks[(session.subject, name)] = value


class _NoReceiptKeys:
    async def jwks(self) -> dict[str, Any]:
        return {"keys": []}


def seeded_directory() -> Directory:
    return Directory.from_seeds(REPO_ROOT / "seeds")


def web_client(
    routes: Sequence[WebRoute] = (),
    *,
    caller: FakeCaller | None = None,
    sessions: FakeSessions | None = None,
    directory: Directory | None = None,
    expected_origin: str | None = None,
    production: bool = False,
    audit_vkey: str | None = None,
) -> TestClient:
    """A TestClient (base URL ORIGIN) over the gateway's HTTP app with no API routes and the
    web `routes` (plus the shell's own) mounted. `client.app_state` is not used; reach the
    fakes through the objects passed in."""
    web = Web(
        caller=caller or FakeCaller(),
        sessions=sessions or FakeSessions(),
        directory=directory or seeded_directory(),
        receipt_keys=_NoReceiptKeys(),  # type: ignore[arg-type]
        audit_vkey=audit_vkey,
        expected_origin=expected_origin,
        production=production,
    )
    provider = TracerProvider()
    mount = create_web_mount(web, list(routes), provider)
    app = create_app(None, _NoReceiptKeys(), provider, routes=[], web=mount)  # type: ignore[arg-type]
    return TestClient(app, base_url=ORIGIN, follow_redirects=False)


def log_in(client: TestClient, sessions: FakeSessions, session: WebSession) -> str:
    """Gives the client a cookie for `session`; returns the cookie value."""
    cookie = sessions.add(session)
    client.cookies.set(SESSION_COOKIE, cookie)
    return cookie


def form_post(
    client: TestClient,
    path: str,
    fields: Mapping[str, str | list[str]],
    session: WebSession | None = None,
    **headers: str,
):
    """POSTs a form the way our own page would: same Origin, the session's csrf token."""
    data = dict(fields)
    if session is not None:
        data.setdefault(CSRF_FIELD, session.csrf_token)
    return client.post(path, data=data, headers={"origin": ORIGIN, **headers})
