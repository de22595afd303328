"""Composition root of the gateway: everything is built here once and passed in."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import httpx
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import Engine

from services.platform import telemetry
from services.platform.assertion import AssertionSigner
from services.platform.db import check_platform_at_head, make_engine
from services.platform.dpop import DpopVerifier
from services.platform.interceptors import ServiceInterceptor
from services.platform.keys import load_jwk
from services.platform.production import check_production
from services.platform.readiness import ReadinessCheck, database_check
from services.platform.replay_store import ReplayStore
from services.platform.server import GrpcServer, ServerTransport
from services.platform.settings import BACKENDS, Settings, SettingsError
from services.platform.tls import TlsFiles

from . import cache_metrics
from .authentication import Authenticator
from .backend_channels import BackendChannels
from .decision_cache import DecisionCache, PolicyWatch
from .enforcement import Enforcer
from .grpc_handlers import SERVICES, generic_handlers
from .http.server import HttpServer, create_http_server
from .jwks import JwksCache
from .policy import POLICIES
from .tokens import TokenValidator
from .web.compose import WebParts, create_web
from .web.config import WebConfig

COMPONENT = "gateway"
# gRPC's default (8 KiB soft, 16 KiB hard) would drop an oversized token before the gateway
# sees it, with RESOURCE_EXHAUSTED; raised so the token check answers TOKEN_TOO_LARGE itself.
METADATA_LIMITS = (("grpc.max_metadata_size", 32 * 1024), ("grpc.absolute_max_metadata_size", 64 * 1024))


@dataclass
class Gateway:
    server: GrpcServer
    http_server: HttpServer
    backends: BackendChannels
    http: httpx.AsyncClient
    decisions: DecisionCache
    watch: PolicyWatch
    replay: ReplayStore
    web: WebParts
    probe: Engine  # readiness's own connection to the gateway's database
    enforcer: Enforcer  # every call's checks, shared by gRPC, the JSON API and the web pages

    async def start(self) -> int:
        port = await self.server.start()
        try:
            await self.http_server.start()
        except BaseException:
            await self.server.stop(0)
            raise
        self.watch.start()  # until it holds a lease, every decision is asked fresh
        return port

    async def stop(self, grace: float | None = None, *, drain: float = 0.0) -> None:
        """Drains both ports for `drain` seconds, then stops both: from the first moment the
        gRPC health is NOT_SERVING and the JSON API's readiness endpoint answers 503, while
        both still serve every call, so a balancer checking either moves away before the
        replica stops accepting (set `drain` above the balancer's detection time)."""
        self.http_server.drain()
        await self.server.drain(drain)
        await self.http_server.stop()
        await (self.server.stop() if grace is None else self.server.stop(grace))
        await self.watch.stop()
        await self.backends.close()
        await self.web.close()
        await self.http.aclose()
        self.replay.close()
        self.probe.dispose()


def create_gateway(
    settings: Settings, tracer_provider: TracerProvider, address: str | None = None, http_address: str | None = None
) -> Gateway:
    # Everything that can refuse the settings runs before anything holds a resource.
    check_production(settings)
    web_config = WebConfig.from_settings(settings)
    signer = AssertionSigner(load_jwk(settings.assertion_signing_key(), settings))
    bound_clients = dpop_bound_clients(settings)
    http = httpx.AsyncClient(timeout=5.0)
    jwks = JwksCache(settings.token_issuer, http)
    tokens = TokenValidator(
        jwks,
        settings.token_issuer,
        settings.token_audience,
        max_lifetime_seconds=settings.access_token_max_lifetime_seconds,
    )
    # DPoP proof ids are claimed in the gateway's database, shared by all its replicas; a
    # database not at the newest schema is refused now, not on the first DPoP call.
    url, tuning = settings.database_url(COMPONENT), settings.database.named("samhandling-gateway")
    check_platform_at_head(COMPONENT, url, tuning)
    replay = ReplayStore.open(url, "dpop", tracer_provider, tuning=tuning)
    authenticator = Authenticator(
        tokens,
        DpopVerifier(),
        replay=replay,
        public_url=settings.gateway_public_url,
        dpop_bound_clients=bound_clients,
        allow_synthetic=not settings.production,
    )
    tls = TlsFiles.from_settings(settings)  # the gateway as the backends' client
    tls.channel_credentials()  # refuses unreadable or half-configured TLS files now
    backends = BackendChannels({b: settings.addresses[b] for b in BACKENDS}, signer, tracer_provider, tls)
    decisions = DecisionCache(enabled=settings.decision_cache)
    cache_metrics.observe(decisions)
    watch = PolicyWatch(decisions, settings.addresses["consent"], signer, tls=tls)
    enforcer = Enforcer(authenticator, backends, allow_synthetic=not settings.production, decisions=decisions)
    probe = make_engine(url, tuning=replace(tuning.named("samhandling-gateway-readiness"), pool_size=1, max_overflow=0))
    server = GrpcServer(
        COMPONENT,
        address or settings.listen_address(COMPONENT),
        interceptors=[telemetry.server_interceptor(tracer_provider), ServiceInterceptor()],
        generic_handlers=generic_handlers(enforcer, POLICIES),
        service_names=[s.full_name for s in SERVICES],
        options=METADATA_LIMITS,
        transport=ServerTransport.from_settings(settings, tls=False),  # the public port: the ingress terminates TLS
        readiness=readiness_checks(probe, decisions, backends),
        readiness_interval=settings.readiness_interval_seconds,
        health_address=settings.health_listen,
    )
    # The web pages' login: sessions in the same database, calls through the same Enforcer.
    web = create_web(settings, web_config, enforcer, backends, jwks, tokens, tracer_provider)
    http_server = create_http_server(
        settings,
        enforcer,
        backends,
        tracer_provider,
        address=http_address,
        public_url=settings.gateway_http_public_url,
        web=(web.web, web.routes),
    )
    return Gateway(server, http_server, backends, http, decisions, watch, replay, web, probe, enforcer)


def readiness_checks(probe: Engine, decisions: DecisionCache, backends: BackendChannels) -> list[ReadinessCheck]:
    """What the gateway needs to answer calls (docs/observability.md): its database (DPoP proof
    ids, web sessions); consent, which decides every call: with the decision cache on, its
    lease is held (a consent replica renews it every RENEW_SECONDS, after a commit in the
    consent database, so holding it shows consent answers), with the cache off a serving
    consent replica is connected; and a serving audit replica is connected: no patient data is
    served without its audit event. Both connection checks read the health-checked channel's
    state, so they cost no call (services.platform.readiness.channel_ready)."""

    async def leased(timeout: float) -> bool:
        return decisions.holds_lease()

    async def consent(timeout: float) -> bool:
        return await backends.reachable("consent", timeout)

    async def audit(timeout: float) -> bool:
        return await backends.reachable("audit", timeout)

    return [
        database_check(probe),
        ReadinessCheck("consent_lease", leased) if decisions.enabled else ReadinessCheck("consent", consent),
        ReadinessCheck("audit", audit),
    ]


def dpop_bound_clients(settings: Settings) -> frozenset[str]:
    """Clients that must present DPoP: those configured, and in development also every seeded
    client registered with `"dpop_bound": true` (production has no seeded clients)."""
    if settings.production:
        return settings.dpop_bound_clients
    path = settings.seeds_dir / "clients.json"
    try:
        clients = json.loads(path.read_text())["clients"]
        seeded = {c["client_id"] for c in clients if c.get("dpop_bound") is True}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SettingsError(f"cannot read the seeded clients in {path}: {exc.__class__.__name__}") from None
    return settings.dpop_bound_clients | seeded
