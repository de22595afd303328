"""The authorization endpoint with its development login pages (HelseID- and ID-porten-like).

GET validates the authorization request with Authlib (client, exact redirect_uri,
response_type=code, PKCE S256, state, scope, authorization_details) and shows the login
form of the client's kind; POST takes the chosen person and redirects back with a code.
The validated request waits server-side under an unguessable, single-use request id, for at
most PENDING_LOGIN_SECONDS. Anyone may open the authorization endpoint, so the waiting requests
are bounded per client (MAX_PENDING_LOGINS_PER_CLIENT) and in all (MAX_PENDING_LOGINS): when a
bound is full a new request is refused (`temporarily_unavailable`, back to the client), never
made room for by dropping someone else's login.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import OAuth2Error
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from services.platform.ids import pseudonymise

from .authorization_server import HttpRequest, StsAuthorizationServer
from .client_registry import RegisteredClient
from .errors import TemporarilyUnavailableError
from .forms import parse_params, read_form
from .grants import AuthorizationCodeGrant
from .login_pages import error_page, login_page
from .people import People, Person

log = logging.getLogger(__name__)

PENDING_LOGIN_SECONDS = 600
MAX_PENDING_LOGINS_PER_CLIENT = 200
MAX_PENDING_LOGINS = 2000
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class _PendingLogin:
    grant: AuthorizationCodeGrant
    candidates: dict[str, Person]
    expires_at: float

    @property
    def client(self) -> RegisteredClient:
        return self.grant.request.client


class LoginEndpoint:
    def __init__(
        self,
        server: StsAuthorizationServer,
        people: People,
        action_url: str,
        log_pseudonym_key: bytes,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._server = server
        self._log_pseudonym_key = log_pseudonym_key
        self._people = people
        self._action = action_url
        self._clock = clock
        self._pending: dict[str, _PendingLogin] = {}

    async def authorize(self, request: Request) -> Response:
        """GET: validate the authorization request, then show the login form."""
        try:
            params = parse_params(request.url.query)
            grant = self._server.get_consent_grant(HttpRequest("GET", str(request.url), request.headers, params))
        except OAuth2Error as error:
            if error.redirect_uri:
                return self._server.handle_error_response(None, error)
            # Never redirect to a URI not validated against the client's registration.
            return _page(error_page(f"Ugyldig innloggingsforespørsel: {error.error}: {error.description}"), 400)
        client: RegisteredClient = grant.request.client
        assert client.login is not None  # the registry gives every authorization_code client one
        # grant.request.scope is what would be granted (all the client's scopes if none was asked).
        candidates = self._people.who_may_log_in(client, grant.request.scope)
        request_id = secrets.token_urlsafe(24)
        pending = _PendingLogin(grant, {p.pid: p for p in candidates}, self._clock() + PENDING_LOGIN_SECONDS)
        try:
            self._remember(request_id, pending)
        except TemporarilyUnavailableError as error:
            error.redirect_uri = grant.redirect_uri
            error.state = grant.request.payload.state
            return self._server.handle_error_response(None, error)
        return _page(self._form(request_id, pending, selected=params.get("login_hint")))

    async def login(self, request: Request) -> Response:
        """POST: the person chosen (or the login cancelled); redirect back to the client."""
        try:
            form = await read_form(request)
        except OAuth2Error as error:
            return _page(error_page(f"Ugyldig skjema: {error.description}"), 400)
        request_id = form.get("request_id", "")
        pending = self._pending.get(request_id)
        if pending is None or pending.expires_at <= self._clock():
            self._pending.pop(request_id, None)
            return _page(error_page("Innloggingen er utløpt eller ukjent. Start på nytt fra klienten."), 400)
        grant = pending.grant
        if form.get("action") == "cancel":
            del self._pending[request_id]
            return self._server.create_authorization_response(grant.request, grant_user=None, grant=grant)
        person = pending.candidates.get(form.get("person", ""))
        if person is None:
            return _page(self._form(request_id, pending, selected=None, error="Velg en av personene i listen."), 400)
        del self._pending[request_id]
        log.info(
            "%s %s logged in at client %s",
            person.kind,
            pseudonymise(person.pid, self._log_pseudonym_key),
            pending.client.client_id,
        )
        return self._server.create_authorization_response(grant.request, grant_user=person, grant=grant)

    def _form(self, request_id: str, pending: _PendingLogin, *, selected: str | None, error: str | None = None) -> str:
        client = pending.client
        assert client.login is not None
        return login_page(
            kind=client.login,
            action=self._action,
            request_id=request_id,
            client_name=client.client_name,
            people=list(pending.candidates.values()),
            selected=selected,
            error=error,
        )

    def _remember(self, request_id: str, pending: _PendingLogin) -> None:
        """Keeps `pending` unless a bound is full; expired logins go first, nobody else's."""
        now = self._clock()
        self._pending = {k: p for k, p in self._pending.items() if p.expires_at > now}
        client_id = pending.client.client_id
        if len(self._pending) >= MAX_PENDING_LOGINS or (
            sum(p.client.client_id == client_id for p in self._pending.values()) >= MAX_PENDING_LOGINS_PER_CLIENT
        ):
            log.warning("refused a login request at client %s: too many logins pending", client_id)
            raise TemporarilyUnavailableError(
                description=f"Too many logins are pending at this client; try again within {PENDING_LOGIN_SECONDS} s."
            )
        self._pending[request_id] = pending


def _page(html: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers=_PAGE_HEADERS)
