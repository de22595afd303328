"""The web pages as routes of the gateway's HTTP app. Every handler of every area runs
inside the same wrapper, which in this order: loads the session from its cookie through
`Sessions.load`; applies the route's console guard (no session: 303 to the login, with
`tilbake` = the path asked for and `utlopt=1` when a cookie came but its session has ended;
the wrong console: a 403 page); for a POST checks the Origin, parses the urlencoded form and
checks its `csrf` field against the session's token (403 `WEB_CSRF_REFUSED`, logged once to
`gateway.security`); runs the handler in a server span named by the route's path template;
turns any error into a page in the page's language (the reason in small print, never a stack
trace); and sets the security headers and the CSP on every answer.

Each path is one ASGI app that dispatches on the method itself, so HEAD is never added to a
GET (Starlette would: a HEAD would run the audited reads of a page and throw the answer away),
and a method the path does not take is an HTML 405 naming the ones it does."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from google.protobuf.message import Message
from opentelemetry import propagate
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer, format_trace_id, get_current_span
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, compile_path

from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError, invalid_argument
from services.platform.settings import Settings

from ..http.bodies import read_body
from ..http.errors import http_status, internal, method_not_allowed, route_not_found
from ..http.path_methods import Endpoint, PathMethods
from ..http.receipt_keys import ReceiptKeys
from . import auditor, capacity, inbox, login, patient
from .context import LANG_COOKIE, LANGS, SESSION_COOKIE, Console, Handler, Lang, Page, Web, WebRoute, WebSession
from .csrf import CSRF_FIELD, origin_of, same_origin, token_matches
from .directory import Directory
from .forms import MAX_FORM_BYTES, FormData, parse_form
from .i18n_loader import texts
from .render import LANG_SWITCH_PATH, MAX_BACK_CHARS, render

log = logging.getLogger(__name__)
security_log = logging.getLogger("gateway.security")

STATIC_PREFIX = "/static"
STATIC_DIR = Path(__file__).with_name("static")
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
# Only this origin's scripts, styles, images and connections; no inline code, no framing,
# forms post only here, no <base>.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "content-security-policy": CSP,
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cross-origin-opener-policy": "same-origin",
}
PAGE_CACHE = "no-store"  # pages may hold health data: neither the browser nor a proxy keeps them
STATIC_CACHE = "no-cache"  # revalidated on each use, so a deploy is seen at once
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
LOGIN_PATHS: Mapping[Console, str] = {
    "patient": "/logg-inn/pasient",
    "auditor": "/logg-inn/ansatt?til=revisor",
    "capacity": "/logg-inn/ansatt?til=kapasitet",
    "inbox": "/logg-inn/ansatt?til=innboks",
}
STAFF_CONSOLES: tuple[Console, ...] = (
    "auditor",
    "capacity",
    "inbox",
)  # the personnel login's, in the landing page's order
RESERVED_PREFIXES = ("/api/", STATIC_PREFIX + "/")
PAGE_METHODS = frozenset({"GET", "POST"})  # never HEAD (see above); PUT and DELETE are not in HTML forms


def area_routes() -> list[WebRoute]:
    """The routes every area module exports (login, patient, auditor, capacity, inbox)."""
    return [*login.routes(), *patient.routes(), *auditor.routes(), *capacity.routes(), *inbox.routes()]


@dataclass(frozen=True)
class WebMount:
    """What the gateway's HTTP app mounts: one Starlette route per web path (and per static
    file), and the HTML 404 for unknown paths outside /api/."""

    routes: list[Route]
    not_found: Endpoint


def create_web_mount(web: Web, routes: Sequence[WebRoute], tracer_provider: TracerProvider) -> WebMount:
    """The pages of `routes` plus the shell's own (the landing page `/` and the language
    switch `/sprak`) and the static files. Refuses a path taken twice or a reserved prefix."""
    tracer = tracer_provider.get_tracer(__name__)
    for lang in LANGS:
        texts(lang)  # a catalog that does not load stops the gateway now, not on a first page
    every = [*routes]
    every += _shell_routes(web, every)
    seen: set[str] = set()
    for route in every:
        if route.path in seen or route.path.startswith(RESERVED_PREFIXES) or route.path == "/api":
            raise ValueError(f"web route {route.path!r} is taken twice or reserved")
        if not route.methods or not set(route.methods) <= PAGE_METHODS:
            raise ValueError(f"web route {route.path!r}: pages take GET and POST only, not {sorted(route.methods)}")
        seen.add(route.path)
    mounted = [
        Route(
            route.path,
            PathMethods({m: _wrap(web, tracer, route, m, h) for m, h in route.methods.items()}, _method_not_allowed),
        )
        for route in every
    ]
    for file in sorted(STATIC_DIR.iterdir()):
        if file.suffix in _STATIC_TYPES:
            path = f"{STATIC_PREFIX}/{file.name}"
            mounted.append(
                Route(
                    path,
                    PathMethods({"GET": _static(file.read_bytes(), _STATIC_TYPES[file.suffix])}, _method_not_allowed),
                )
            )

    async def not_found(request: Request) -> Response:
        return _error_page(request, None, route_not_found())

    return WebMount(mounted, not_found)


def _method_not_allowed(request: Request, allow: str) -> Response:
    response = _error_page(request, None, method_not_allowed())
    response.headers["allow"] = allow
    return response


def _wrap(web: Web, tracer: Tracer, route: WebRoute, method: str, handler: Handler) -> Endpoint:
    name = f"{method} {route.path}"

    async def endpoint(request: Request) -> Response:
        attributes = {"http.request.method": method, "http.route": route.path}
        with tracer.start_as_current_span(
            name, context=propagate.extract(request.headers), kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            session: WebSession | None = None
            try:
                cookie = request.cookies.get(SESSION_COOKIE)
                session = await web.sessions.load(cookie) if cookie else None
                if route.console is not None and session is None:
                    response = _to_login(route.console, request, ended=bool(cookie))
                else:
                    if route.console is not None and session is not None and session.console != route.console:
                        raise Reason.WEB_WRONG_CONSOLE.error("this session is for another part of the site")
                    form = await _checked_form(web, request, route, session) if method == "POST" else None
                    response = await handler(Page(request, session, form, web))
            except ServiceError as err:
                response = _error_page(request, session, err)
            except Exception:
                log.exception("unhandled error in %s", name)
                response = _error_page(request, session, internal())
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(Status(StatusCode.ERROR))
            return _secured(response)

    return endpoint


async def _checked_form(web: Web, request: Request, route: WebRoute, session: WebSession | None) -> FormData:
    """The form of a POST, after the Origin check and before the synchronizer token check;
    a POST without a session has no token to match and is refused as well."""
    if not same_origin(request, web.expected_origin):
        raise _csrf_refused(request, route, "origin")
    form = parse_form(await read_body(request, MAX_FORM_BYTES, "form"), request.headers.get("content-type", ""))
    if session is None or not token_matches(session.csrf_token, form.get(CSRF_FIELD)):
        raise _csrf_refused(request, route, "token")
    return form


def _csrf_refused(request: Request, route: WebRoute, check: str) -> ServiceError:
    security_log.warning(
        "web request refused",
        extra={"reason": Reason.WEB_CSRF_REFUSED.value, "check": check, "route": route.path, "peer": _peer(request)},
    )
    return Reason.WEB_CSRF_REFUSED.error("a form post that did not come from this site's own page")


def _to_login(console: Console, request: Request, *, ended: bool) -> Response:
    target = LOGIN_PATHS[console]
    extra: dict[str, str] = {}
    if request.method == "GET":
        extra["tilbake"] = request.url.path
    if ended:
        extra["utlopt"] = "1"
    if extra:
        target += ("&" if "?" in target else "?") + urlencode(extra)
    return Response(status_code=303, headers={"location": target})


def request_lang(request: Request, session: WebSession | None) -> Lang:
    if session is not None:
        return session.lang
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "nb"


def _error_page(request: Request, session: WebSession | None, err: ServiceError) -> Response:
    """The error as a person reads it: a heading by HTTP status, the reason's text (else the
    status code's), the reason in small print, and for server faults the trace id to quote."""
    status = http_status(err)
    lang = request_lang(request, session)
    catalog = texts(lang)
    heading_key = f"error.status.{status}"
    heading = catalog.t(heading_key if catalog.has(heading_key) else f"error.status.{500 if status >= 500 else 400}")
    reason_key = f"error.reason_text.{err.reason}"
    message = catalog.t(reason_key) if catalog.has(reason_key) else catalog.t(f"error.code.{err.code.name}")
    trace_id = ""
    context = get_current_span().get_span_context()
    if status >= 500 and context.is_valid:
        trace_id = format_trace_id(context.trace_id)
    html = render(
        "error.html",
        lang,
        request.url.path,
        session,
        page_title=heading,
        heading=heading,
        message=message,
        reason=err.reason,
        trace_id=trace_id,
    )
    return _secured(Response(html, status_code=status, media_type="text/html; charset=utf-8"))


def _secured(response: Response, cache: str = PAGE_CACHE) -> Response:
    for header, value in SECURITY_HEADERS.items():
        response.headers[header] = value
    response.headers.setdefault("cache-control", cache)
    return response


def _static(content: bytes, media_type: str) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        return _secured(Response(content, media_type=media_type), STATIC_CACHE)

    return endpoint


def _shell_routes(web: Web, routes: Sequence[WebRoute]) -> list[WebRoute]:
    """The landing page and the language switch. The landing page links to the logins that
    the route table has (none until the login module exports them)."""
    paths = {r.path for r in routes}
    logins: list[tuple[Console, str]] = []
    if "/logg-inn/pasient" in paths:
        logins.append(("patient", LOGIN_PATHS["patient"]))
    if "/logg-inn/ansatt" in paths:
        logins += [(console, LOGIN_PATHS[console]) for console in STAFF_CONSOLES]
    shown = [compile_path(r.path)[0] for r in routes if "GET" in r.methods] + [re.compile(r"^/$")]

    async def landing(page: Page) -> Response:
        return page.render(
            "landing.html",
            page_title=texts(page.lang).t("common.landing.page"),
            logins=logins,
            logged_out=page.request.query_params.get("utlogget") == "1",
            expired_minutes=0,
        )

    async def switch_language(page: Page) -> Response:
        chosen = page.request.query_params.get("til", "")
        if chosen not in LANGS:
            raise invalid_argument({"til": "nb or en"})
        back = _back_to(page.request.query_params.get("tilbake", "/"), shown)
        if page.session is not None and page.session.lang != chosen:
            await web.sessions.update(page.session, lang=chosen)
        response = page.redirect(back)
        response.set_cookie(
            LANG_COOKIE, chosen, max_age=LANG_COOKIE_MAX_AGE, path="/", secure=True, httponly=True, samesite="lax"
        )
        return response

    return [WebRoute("/", {"GET": landing}, None), WebRoute(LANG_SWITCH_PATH, {"GET": switch_language}, None)]


def _back_to(asked: str, pages: Sequence[re.Pattern[str]]) -> str:
    """Where the language switch returns: a page of the route table, with its query carried
    (re-encoded, so nothing but name=value pairs comes along); anything else is `/`."""
    path, _, query = asked.partition("?")
    if len(asked) > MAX_BACK_CHARS or not any(pattern.match(path) for pattern in pages):
        return "/"
    pairs = parse_qsl(query, keep_blank_values=True)
    return f"{path}?{urlencode(pairs)}" if pairs else path


class _NoSessions:
    """The shell's store before the login exists: nobody has a session."""

    async def load(self, cookie: str) -> WebSession | None:
        return None

    async def update(self, session: WebSession, **changes: object) -> WebSession:
        raise RuntimeError("the web shell has no sessions")

    async def peek(self, cookie: str) -> WebSession | None:
        return None

    async def take(self, session: WebSession, key: str) -> object | None:
        raise RuntimeError("the web shell has no sessions")

    async def mark(self, session: WebSession, name: str) -> str | None:
        raise RuntimeError("the web shell has no sessions")

    async def set_mark(self, session: WebSession, name: str, value: str) -> None:
        raise RuntimeError("the web shell has no sessions")


class _NoCaller:
    """The shell's caller: no page of the shell calls a service."""

    async def call(self, session: WebSession, rpc: str, request: Message, *, justification: str = "") -> Message:
        raise RuntimeError("the web shell calls no service")

    def stream(self, session: WebSession, rpc: str, request_after: Callable[[int], Message]) -> AsyncIterator[Message]:
        raise RuntimeError("the web shell calls no service")


def shell_web(settings: Settings, receipt_keys: ReceiptKeys) -> Web:
    """The Web of the public shell (landing page, language switch, static files), served
    until the login's composition (gateway/web/compose.py) provides sessions and a caller."""
    return Web(
        caller=_NoCaller(),
        sessions=_NoSessions(),
        directory=Directory.for_settings(settings),
        receipt_keys=receipt_keys,
        audit_vkey=None,
        expected_origin=origin_of(settings.gateway_http_public_url),
        production=settings.production,
    )


def _peer(request: Request) -> str:
    if request.client is None:
        return ""
    host, port = request.client
    return f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{host}:{port}"
