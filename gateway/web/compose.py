"""Composition of the web pages with their login: the session store on the gateway's
database, the login (gateway/web/login.py), the Caller over the gateway's own Enforcer, and
the routes of every area. gateway/main.py passes the result to create_http_server."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from opentelemetry.sdk.trace import TracerProvider

from services.platform.db import make_engine
from services.platform.settings import Settings

from ..backend_channels import BackendChannels
from ..enforcement import Enforcer
from ..http.receipt_keys import ReceiptKeys
from ..jwks import JwksCache
from ..tokens import TokenValidator
from . import auditor, capacity, inbox, logcheck, login, patient
from .caller import EnforcerCaller
from .config import WebConfig
from .context import Web, WebRoute
from .csrf import origin_of
from .directory import Directory
from .sessions import SqlSessions
from .tokens import LoginTokens

COMPONENT = "gateway"
STS_TIMEOUT = httpx.Timeout(10.0)


@dataclass(frozen=True)
class WebParts:
    web: Web
    routes: list[WebRoute]
    sessions: SqlSessions
    close: Callable[[], Awaitable[None]]


def create_web(
    settings: Settings,
    config: WebConfig,
    enforcer: Enforcer,
    backends: BackendChannels,
    jwks: JwksCache,
    access_tokens: TokenValidator,
    tracer_provider: TracerProvider,
    *,
    clock: Callable[[], float] = time.time,
) -> WebParts:
    """`config`: WebConfig.from_settings, loaded before the gateway holds any resource."""
    engine = make_engine(
        settings.database_url(COMPONENT), tracer_provider, settings.database.named("samhandling-gateway-web")
    )
    sessions = SqlSessions(engine, idle_seconds=config.idle_seconds, max_seconds=config.max_seconds, clock=clock)
    http = httpx.AsyncClient(timeout=STS_TIMEOUT, follow_redirects=False)
    web_login = login.WebLogin(config, sessions, LoginTokens(jwks, access_tokens, config.issuer, clock), http)
    web = Web(
        caller=EnforcerCaller(
            enforcer,
            sessions,
            web_login.refresh,
            config.dpop_key,
            settings.gateway_public_url,
            emergency=web_login.emergency,
        ),
        sessions=sessions,
        directory=Directory.for_settings(settings),
        receipt_keys=ReceiptKeys(backends),
        audit_vkey=logcheck.pinned_vkey(settings),
        expected_origin=origin_of(settings.gateway_http_public_url),
        production=settings.production,
    )
    pages = [*patient.routes(), *auditor.routes(), *capacity.routes(), *inbox.routes()]
    routes = [*login.routes(web_login, {route.path for route in pages}), *pages]

    async def close() -> None:
        await http.aclose()
        sessions.close()

    return WebParts(web, routes, sessions, close)
