"""The web routes of the BFF login (issue 13, part 2): the authorization-code flow with PKCE
S256, state and nonce, run by the gateway for the browser.

- `GET /logg-inn/pasient` and `GET /logg-inn/ansatt?til=revisor|kapasitet` store a pending
  login (gateway/web/sessions.py; its id in the `__Host-samhandling-login` cookie, 10 minutes)
  and send the browser to the issuer's authorize endpoint. No `login_hint`: it would put a
  person number in a URL.
- `GET /innlogging/ferdig?code&state` takes the pending login (once), checks the state,
  redeems the code with private_key_jwt and a DPoP proof by the deployment's web key
  (answering the issuer's DPoP nonce challenge), checks the ID token and the access token
  (gateway/web/tokens.py), and only then makes a session with a new id: any session the
  browser presented is deleted (no fixation). The tokens stay in the database; the browser
  gets only the `__Host-samhandling` cookie (Secure, HttpOnly, SameSite=Lax, Path=/).
- `POST /logg-ut` (CSRF-checked by the app) deletes the session and clears the cookie.

Any failure of the login is a page with 401 WEB_LOGIN_FAILED ("start again")."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from starlette.responses import Response

from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError
from services.sts.token_client import StsEndpoints, StsTokenError, TokenResponse, discover, request_token

from .config import WebClient, WebConfig
from .context import SESSION_COOKIE, Console, Page, WebRoute, WebSession
from .csrf import request_origin
from .i18n_loader import texts
from .sessions import LOGIN_SECONDS, Credentials, Lease, NewSession, PendingLogin, SqlSessions, session_ended
from .tokens import LoginTokens, login_failed

LOGIN_COOKIE = "__Host-samhandling-login"
CALLBACK_PATH = "/innlogging/ferdig"
SCOPES: dict[Console, str] = {
    "patient": "openid profile samhandling:patient",
    "auditor": "openid profile nhn:samhandling/audit.read",
    "capacity": "openid profile nhn:samhandling/capacity.read",
    # The inbox carries no patient data (escalation.inbox); opening and acting on an
    # escalation is a read of the patient's vital signs (summary.read), decided by consent.
    "inbox": "openid profile nhn:samhandling/escalation.inbox nhn:samhandling/summary.read",
}
HOMES: dict[Console, str] = {
    "patient": "/pasient",
    "auditor": "/revisor",
    "capacity": "/ansatt/kapasitet",
    "inbox": "/ansatt/eskaleringer",
}
PERSONNEL_CONSOLES: dict[str, Console] = {"revisor": "auditor", "kapasitet": "capacity", "innboks": "inbox"}
# The purpose of use a console's tokens attest (the trust framework's care relationship), at the
# code's redemption and at every refresh. Consent refuses a patient's data without one, so the
# inbox reads for treatment; an emergency opening gets a one-off token for EMERGENCY_PURPOSE.
PURPOSES: dict[Console, str] = {"inbox": "TREAT"}
EMERGENCY_PURPOSE = "ETREAT"
DISCOVERY_SECONDS = 300.0
security_log = logging.getLogger("gateway.security")
REFRESH_POLL_SECONDS = 0.1
REFRESH_WAIT_SECONDS = 5.0
MAX_RETURN_PATH = 200
_RETURN_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9/._~%-]*")


class _IssuerOutOfReach(Exception):
    """The issuer did not answer a refresh (or answered what the checks refuse)."""


@dataclass
class WebLogin:
    config: WebConfig
    sessions: SqlSessions
    tokens: LoginTokens
    http: httpx.AsyncClient
    _endpoints: StsEndpoints | None = None
    _discovered_at: float = 0.0

    async def _token_request(self, client: WebClient, grant: dict[str, str], purpose: str | None) -> TokenResponse:
        """One grant at the issuer's token endpoint: the web client authenticated by
        `private_key_jwt`, the tokens bound to the server-held DPoP key, `purpose` attested."""
        return await request_token(
            self.http,
            await self.endpoints(),
            client.client_id,
            client.private_jwk,
            grant,
            dpop_key=self.config.dpop_key,
            purpose=purpose,
        )

    async def endpoints(self) -> StsEndpoints:
        """The issuer's endpoints, by discovery, kept DISCOVERY_SECONDS."""
        now = time.monotonic()
        if self._endpoints is None or now - self._discovered_at > DISCOVERY_SECONDS:
            try:
                endpoints = await discover(self.http, self.config.issuer)
            except StsTokenError:
                raise Reason.WEB_LOGIN_UNAVAILABLE.error("the login service cannot be reached") from None
            if endpoints.authorization_endpoint is None:
                raise Reason.WEB_LOGIN_UNAVAILABLE.error("the issuer has no authorization endpoint")
            self._endpoints, self._discovered_at = endpoints, now
        return self._endpoints

    def client(self, console: Console) -> WebClient:
        return self.config.patient if console == "patient" else self.config.personnel

    async def start(self, page: Page, console: Console) -> Response:
        if page.request.query_params.get("utlopt") == "1":
            return self.expired(page, console)
        endpoints = await self.endpoints()
        client = self.client(console)
        login_id, state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        base = self.config.public_url.rstrip("/") if self.config.public_url else request_origin(page.request)
        redirect_uri = base + CALLBACK_PATH
        pending = PendingLogin(
            client_id=client.client_id,
            console=console,
            code_verifier=verifier,
            nonce=nonce,
            redirect_uri=redirect_uri,
            return_to=return_path(console, page.request.query_params.get("tilbake")),
            lang=page.lang,
            state_hash=b"",
        )
        await self.sessions.begin_login(login_id, state, pending)
        query = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES[console],
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
            "ui_locales": page.lang,
        }
        assert endpoints.authorization_endpoint is not None
        response = Response(
            status_code=303, headers={"location": endpoints.authorization_endpoint + "?" + urlencode(query)}
        )
        response.set_cookie(
            LOGIN_COOKIE, login_id, max_age=LOGIN_SECONDS, path="/", secure=True, httponly=True, samesite="lax"
        )
        return response

    def expired(self, page: Page, console: Console) -> Response:
        """After an idle or absolute expiry the browser is sent here with `utlopt=1`: the
        landing page says why, with one link on to the same login (its `tilbake` kept)."""
        kept = [(name, value) for name, value in page.request.query_params.multi_items() if name != "utlopt"]
        again = page.request.url.path + ("?" + urlencode(kept) if kept else "")
        return page.render(
            "landing.html",
            page_title=texts(page.lang).t("common.landing.page"),
            logins=[(console, again)],
            logged_out=False,
            expired_minutes=max(1, round(self.config.idle_seconds / 60)),
            expired_hours=max(1, round(self.config.max_seconds / 3600)),
        )

    async def finish(self, page: Page) -> Response:
        request = page.request
        login_id = request.cookies.get(LOGIN_COOKIE)
        pending = await self.sessions.take_login(login_id) if login_id else None
        if pending is None:
            raise login_failed("no login is under way in this browser, or it took too long")
        state = request.query_params.get("state", "")
        if not hmac.compare_digest(hashlib.sha256(state.encode()).digest(), pending.state_hash):
            raise login_failed("the answer's state is not this login's")
        code = request.query_params.get("code")
        if not code or "error" in request.query_params:
            raise login_failed("the login was cancelled or refused")
        client = self.client(pending.console)
        grant = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.code_verifier,
        }
        try:
            tokens = await self._token_request(client, grant, PURPOSES.get(pending.console))
        except StsTokenError as exc:
            raise login_failed(f"the issuer refused the code ({exc.error or exc.status})") from None
        person = await self.tokens.check(
            id_token=tokens.id_token,
            access_token=tokens.access_token,
            client_id=client.client_id,
            nonce=pending.nonce,
            dpop_jkt=self.config.dpop_jkt,
        )
        wanted = set(SCOPES[pending.console].split()) - {"openid", "profile"}
        if not wanted <= person.scopes:
            raise login_failed("the issuer granted other scopes than this page needs")
        cookie = await self.sessions.create(
            NewSession(
                console=pending.console,
                client_id=client.client_id,
                subject=person.subject,
                person_pid=person.person_pid,
                person_name=person.person_name,
                scopes=person.scopes,
                access_token=tokens.access_token,
                access_expires_at=person.access_expires_at,
                refresh_token=tokens.refresh_token,
                dpop_jkt=self.config.dpop_jkt,
                lang=pending.lang,
                orgnr_parent=person.orgnr_parent if pending.console != "patient" else None,
                orgnr_child=person.orgnr_child if pending.console != "patient" else None,
            ),
            replacing=request.cookies.get(SESSION_COOKIE),
        )
        response = page.redirect(pending.return_to)
        response.set_cookie(SESSION_COOKIE, cookie, path="/", secure=True, httponly=True, samesite="lax")
        response.delete_cookie(LOGIN_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
        return response

    async def refresh(self, session: WebSession, held: Credentials) -> Credentials:
        """Fresh credentials for a session whose access token is at (or near) its end. The
        holder of the row's lease spends the refresh token; every other request (of any
        replica) waits for its result. A refused refresh token ends the session."""
        lease = await self.sessions.take_refresh_lease(session)
        if lease is None:
            return await self._refreshed_elsewhere(session, held)
        try:
            tokens, credentials = await self._spend(session, lease, PURPOSES.get(session.console))
        except _IssuerOutOfReach:
            if held.access_expires_at > self.sessions.clock():
                return held  # the issuer is out of reach: the token still held serves while it lasts
            raise Reason.WEB_LOGIN_UNAVAILABLE.error("the login service cannot be reached") from None
        await self.sessions.store_refreshed(
            session, credentials.access_token, credentials.access_expires_at, tokens.refresh_token
        )
        return credentials

    async def emergency(self, session: WebSession) -> Credentials:
        """A one-off access token attesting EMERGENCY_PURPOSE, for one emergency opening: the
        session's refresh token is spent for it (under the lease, as a refresh) with that
        purpose, and only the rotated refresh token is stored. The session keeps its own
        access token, and its next refresh attests its console's purpose again, so nothing
        but the call it is made for runs as an emergency."""
        lease = await self._lease(session)
        try:
            tokens, credentials = await self._spend(session, lease, EMERGENCY_PURPOSE)
        except _IssuerOutOfReach:
            raise Reason.WEB_LOGIN_UNAVAILABLE.error("the login service cannot be reached") from None
        kept = await self.sessions.credentials(session)  # read under the lease: nobody refreshed since
        if kept is None:
            raise session_ended()
        await self.sessions.store_refreshed(session, kept.access_token, kept.access_expires_at, tokens.refresh_token)
        return credentials

    async def _lease(self, session: WebSession) -> Lease:
        """The lease, waiting up to REFRESH_WAIT_SECONDS while another request holds it."""
        deadline = time.monotonic() + REFRESH_WAIT_SECONDS
        while (lease := await self.sessions.take_refresh_lease(session)) is None:
            if await self.sessions.credentials(session) is None:
                raise session_ended()
            if time.monotonic() >= deadline:
                raise Reason.WEB_LOGIN_UNAVAILABLE.error("the session's token is being renewed; try again")
            await asyncio.sleep(REFRESH_POLL_SECONDS)
        return lease

    async def _spend(self, session: WebSession, lease: Lease, purpose: str | None) -> tuple[TokenResponse, Credentials]:
        """The lease's refresh token spent for new tokens attesting `purpose`. A refused refresh
        token (or a client no longer used) ends the session; an issuer out of reach releases
        the lease and raises _IssuerOutOfReach."""
        clients = {c.client_id: c for c in (self.config.patient, self.config.personnel)}
        client = clients.get(lease.client_id)
        if client is None:  # a client this deployment no longer uses: its refresh token is of no use
            await self.sessions.end(session)
            raise session_ended()
        grant = {"grant_type": "refresh_token", "refresh_token": lease.refresh_token}
        try:
            tokens = await self._token_request(client, grant, purpose)
            claims = await self.tokens.access(tokens.access_token, self.config.dpop_jkt)
        except (StsTokenError, ServiceError) as exc:
            if isinstance(exc, StsTokenError) and exc.error == "invalid_grant":
                await self.sessions.end(session)
                raise session_ended() from None
            await self.sessions.release_lease(session)
            raise _IssuerOutOfReach() from None
        return tokens, Credentials(tokens.access_token, int(claims["exp"]), self.config.dpop_jkt, client.client_id)

    async def _refreshed_elsewhere(self, session: WebSession, held: Credentials) -> Credentials:
        deadline = time.monotonic() + REFRESH_WAIT_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(REFRESH_POLL_SECONDS)
            current = await self.sessions.credentials(session)
            if current is None:
                raise session_ended()
            if current.access_token != held.access_token:
                return current
        if held.access_expires_at > self.sessions.clock():
            return held
        raise Reason.WEB_LOGIN_UNAVAILABLE.error("the session's token is being renewed; try again")

    async def logout(self, page: Page) -> Response:
        cookie = page.request.cookies.get(SESSION_COOKIE)
        if cookie:
            await self.sessions.destroy(cookie)
        response = page.redirect("/?utlogget=1")
        response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
        return response


def return_path(console: Console, asked: str | None) -> str:
    """Where to land after the login: the page asked for, if it is a local path of this
    console's part of the site; else the console's home."""
    home = HOMES[console]
    if (
        asked
        and len(asked) <= MAX_RETURN_PATH
        and _RETURN_PATH.fullmatch(asked)
        and (asked == home or asked.startswith(home + "/"))
    ):
        return asked
    return home


def routes(login: WebLogin | None = None, served: Collection[str] = ()) -> list[WebRoute]:
    """The login's routes; none without a login (the public shell alone). `served`: the paths
    of the pages; a console is logged in to only once its home page is among them, so no
    login ends on a page that does not exist yet."""
    if login is None:
        return []
    consoles = {console for console, home in HOMES.items() if home in served}
    staff = {til: console for til, console in PERSONNEL_CONSOLES.items() if console in consoles}

    async def patient(page: Page) -> Response:
        return await login.start(page, "patient")

    async def personnel(page: Page) -> Response:
        til = page.request.query_params.get("til", "")
        if til not in staff:
            raise login_failed(f"til must be one of: {', '.join(sorted(staff))}")
        return await login.start(page, staff[til])

    async def finish(page: Page) -> Response:
        try:
            return await login.finish(page)
        except ServiceError as err:
            # Which check refused, for the operators; the message names no token or person.
            security_log.warning("web login refused", extra={"reason": err.reason, "detail": err.message})
            raise

    async def logout(page: Page) -> Response:
        return await login.logout(page)

    starts = [WebRoute("/logg-inn/pasient", {"GET": patient}, None)] if "patient" in consoles else []
    if staff:
        starts.append(WebRoute("/logg-inn/ansatt", {"GET": personnel}, None))
    return [*starts, WebRoute(CALLBACK_PATH, {"GET": finish}, None), WebRoute("/logg-ut", {"POST": logout}, None)]
