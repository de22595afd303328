"""The interfaces every part of the web pages shares (frozen in the design of issue 13):
the session a page sees, the Caller that runs an RPC through the Enforcer on the session's
behalf, the Sessions store, the Web a handler reaches everything through, the Page a handler
gets, and the WebRoute an area module exports."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from google.protobuf.message import Message
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..http.receipt_keys import ReceiptKeys
from .directory import Directory
from .forms import FormData

Console = Literal["patient", "auditor", "capacity", "inbox"]
Lang = Literal["nb", "en"]
LANGS: tuple[Lang, ...] = ("nb", "en")
CONSOLES: tuple[Console, ...] = ("patient", "auditor", "capacity", "inbox")

# The session cookie: its value is a random id, the database keeps only its SHA-256.
SESSION_COOKIE = "__Host-samhandling"
# The language chosen on the landing page (or any page), before and after login.
LANG_COOKIE = "__Host-sprak"


@dataclass(frozen=True)
class WebSession:
    console: Console
    subject: str
    person_pid: str
    person_name: str
    scopes: frozenset[str]
    acting_for: str | None
    representation_id: str | None
    csrf_token: str
    lang: Lang
    data: Mapping[str, Any]
    # The organisation a staff session's token acts for (legal entity, point of care); None
    # for a patient, or where the token named none.
    orgnr_parent: str | None = None
    orgnr_child: str | None = None


class Caller(Protocol):
    """Runs one RPC (its full name in the policy table) through the Enforcer with the
    session's tokens; part 2 implements it, tests use tests/support_web.FakeCaller."""

    async def call(self, session: WebSession, rpc: str, request: Message, *, justification: str = "") -> Message:
        """`justification`: an emergency opening (purpose ETREAT) of this one call, in the person's words."""
        ...

    def stream(
        self, session: WebSession, rpc: str, request_after: Callable[[int], Message]
    ) -> AsyncIterator[Message]: ...


class _Unchanged:
    """The default of Sessions.update's keywords: leave this field as it is."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()


class Sessions(Protocol):
    """The server-side session store (part 2). `load` is the app's way in: the value of the
    session cookie -> the session, or None when there is none or it has ended (idle or
    absolute limit); loading counts as activity."""

    async def load(self, cookie: str) -> WebSession | None: ...

    async def update(
        self,
        session: WebSession,
        *,
        acting_for: str | None = UNCHANGED,
        representation_id: str | None = UNCHANGED,
        data: Mapping[str, Any] = UNCHANGED,
        lang: Lang = UNCHANGED,
    ) -> WebSession: ...

    async def take(self, session: WebSession, key: str) -> Any | None:
        """Removes `key` from the stored `data` and returns its value (None: not there), as
        one compare-and-set, so two simultaneous requests never both take it."""
        ...

    async def peek(self, cookie: str) -> WebSession | None:
        """As `load`, but not counting as activity (an open stream's re-check)."""
        ...

    async def mark(self, session: WebSession, name: str) -> str | None: ...

    async def set_mark(self, session: WebSession, name: str, value: str) -> None: ...


@dataclass(frozen=True)
class Web:
    caller: Caller
    sessions: Sessions
    directory: Directory
    receipt_keys: ReceiptKeys
    audit_vkey: str | None
    expected_origin: str | None  # scheme://host[:port] of the public URL; None: the request's own
    production: bool


# A local path: one slash, then no second slash or backslash (no scheme, no host, no `//evil`).
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\\\s]*")
_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass
class Page:
    """What a handler gets; app.py builds it after the session, console, form and CSRF checks."""

    request: Request
    session: WebSession | None
    form: FormData | None
    web: Web

    @property
    def lang(self) -> Lang:
        """The session's language; before login the language cookie's; else bokmål."""
        if self.session is not None:
            return self.session.lang
        chosen = self.request.cookies.get(LANG_COOKIE)
        return "en" if chosen == "en" else "nb"

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        from .render import render_page  # render.py imports this module

        return render_page(self, template, status, context)

    def redirect(self, path: str) -> Response:
        """303 See Other to a local path (with its query), never to another host."""
        if not _LOCAL_PATH.fullmatch(path):
            raise ValueError("redirects go to local paths only")
        return Response(status_code=303, headers={"location": path})

    def download(self, body: bytes, media_type: str, filename: str) -> Response:
        if not _FILENAME.fullmatch(filename):
            raise ValueError("a download's file name is letters, digits, '.', '_' and '-'")
        return Response(
            body, media_type=media_type, headers={"content-disposition": f'attachment; filename="{filename}"'}
        )


Handler = Callable[[Page], Awaitable[Response]]


@dataclass(frozen=True)
class WebRoute:
    path: str
    methods: Mapping[str, Handler]
    console: Console | None  # None: public
    # Every POST is state-changing: app.py checks Origin and the csrf field before the handler runs.
