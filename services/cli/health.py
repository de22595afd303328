"""Health of every replica of every component, as `samhandling status`, `up` and `cluster` see it.

A component's address is a gRPC target naming one or more replicas: `host:port` is one replica,
`ipv4:a:p,b:p` (and `ipv6:[a]:p,...`) lists them, and `dns:///name:port` names every address the
name resolves to (a Kubernetes headless Service). Each replica is asked on its own address, so a
replica that is down shows up even while its peers answer for it. A replica found through DNS is
dialled by IP, but over TLS its certificate is checked against the DNS name
(`grpc.ssl_target_name_override`), since certificates name services, not pod IPs.
"""

from __future__ import annotations

import socket

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.platform.channels import open_channel
from services.platform.replica_set import MAX_REPLICAS_PER_TARGET, parse_target, resolved_addresses
from services.platform.settings import Settings
from services.platform.tls import TlsFiles

TIMEOUT_SECONDS = 2.0
# One load-balancer check through HTTP: a static, precomputed document of the gateway.
HTTP_PROBE_PATH = "/api/v1/openapi.json"


def tls_name(target: str) -> str | None:
    """The name a replica of `target` must prove over TLS when it is dialled by IP: the DNS
    name of a `dns:` target; None for literal addresses (their own host is checked)."""
    return parse_target(target).dns_name


def replica_addresses(target: str) -> list[str]:
    """Every replica address a target names, DNS names resolved (in getaddrinfo's order, once each)."""
    parsed = parse_target(target)
    if parsed.dns_name is None:
        return list(parsed.addresses)
    try:
        found = socket.getaddrinfo(parsed.dns_name, parsed.dns_port, type=socket.SOCK_STREAM)
        return resolved_addresses(found)[:MAX_REPLICAS_PER_TARGET]
    except socket.gaierror:
        return []


async def grpc_status(address: str, tls: TlsFiles | None = None, server_name: str | None = None) -> str:
    """SERVING, NOT_SERVING, UNKNOWN or UNREACHABLE, from grpc.health.v1 at `address` (over TLS
    when `tls` names a CA, the certificate checked against `server_name` if given); the
    channel is not health-checked, so a draining server answers."""
    tls_on = tls is not None and tls.client_enabled
    options = [("grpc.ssl_target_name_override", server_name)] if tls_on and server_name else []
    async with open_channel(address, tls=tls, health_checked=False, options=options) as channel:
        try:
            answer = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=TIMEOUT_SECONDS
            )
        except grpc.aio.AioRpcError:
            return "UNREACHABLE"
    return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)


async def http_status(url: str) -> str:
    """SERVING if `url` answers 200, NOT_SERVING on another status, else UNREACHABLE."""
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as http:
            answer = await http.get(url)
        return "SERVING" if answer.status_code == 200 else "NOT_SERVING"
    except httpx.HTTPError:
        return "UNREACHABLE"


async def replica_status(
    component: str, address: str, settings: Settings | None = None, server_name: str | None = None
) -> str:
    """The status of the replica at `address`; `server_name`: the DNS name it was found by."""
    if component == "sts":
        return await http_status(f"http://{address}/.well-known/openid-configuration")
    # A backend serves TLS when the settings name certificates; the gateway's port never does.
    tls = None if component == "gateway" or settings is None else TlsFiles.from_settings(settings)
    return await grpc_status(address, tls, server_name)


async def component_status(component: str, settings: Settings) -> str:
    """The status of a component's first replica (what `up` waits for: it starts one of each)."""
    target = settings.addresses[component]
    addresses = replica_addresses(target)
    return await replica_status(component, addresses[0], settings, tls_name(target)) if addresses else "UNREACHABLE"
