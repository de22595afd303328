"""What `samhandling cluster` runs, where, and with which environment: pure, no I/O.

The wiring contract every replica is started with (other components build against it):

- each replica binds its own loopback port with `SAMHANDLING_LISTEN` (a gateway also its own
  JSON API port with `SAMHANDLING_GATEWAY_HTTP_ADDR`);
- peers reach a backend through a gRPC target listing every replica of it,
  `SAMHANDLING_CONSENT_ADDR=ipv4:127.0.0.1:50151,127.0.0.1:50251`;
- `SAMHANDLING_GATEWAY_ADDR`, `SAMHANDLING_GATEWAY_PUBLIC_URL` and
  `SAMHANDLING_GATEWAY_HTTP_PUBLIC_URL` name the load balancer (what clients call, so what
  DPoP proofs name in `htu`); the one development STS keeps its usual address;
- `SAMHANDLING_<BACKEND>_DATABASE_URL` and `SAMHANDLING_GATEWAY_DATABASE_URL` name each
  component's own database on the one PostgreSQL server.

Default ports put replica i (from 0) of a component at its usual port + 100 * (i + 1):
consent 50151, 50251; gateway 50150, 50250 (JSON API 8180, 8280). With `free_ports` every
replica, PostgreSQL and the balancer's statistics page take ports the kernel has free instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from services.platform.settings import BACKENDS, DEFAULT_PORTS

HOST = "127.0.0.1"
MAX_REPLICAS = 9  # ports stay below the next component's block; more than enough on one machine
DEFAULT_POSTGRES_PORT = 55432  # not 5432: a developer's own PostgreSQL may hold it
DEFAULT_STATS_PORT = 8404  # HAProxy's customary statistics port
REPLICATED = (*BACKENDS, "gateway")  # start order: backends, then gateways
DATABASES = (*BACKENDS, "gateway")  # one database each on the cluster's server
# The balancer's check of each gateway (haproxy_config.py renders it): every CHECK_INTER_SECONDS,
# every CHECK_FASTINTER_SECONDS once a check failed, taken out after CHECK_FALL failures.
CHECK_INTER_SECONDS = 1.0
CHECK_FASTINTER_SECONDS = 0.5
CHECK_FALL = 2
# A draining gateway answers its readiness check with 503 at once, so the balancer has taken it
# out within inter + fastinter x (fall - 1) = 1.5 s; every replica keeps serving, reporting
# NOT_SERVING, for DRAIN_SECONDS (above inter + fastinter x fall, plus a margin) before it stops
# accepting, so no request is sent to a gateway that has stopped.
DRAIN_SECONDS = CHECK_INTER_SECONDS + CHECK_FASTINTER_SECONDS * CHECK_FALL + 1.0


@dataclass(frozen=True)
class Replica:
    component: str
    index: int
    address: str  # gRPC, host:port
    http_address: str | None = None  # the gateway's JSON API

    @property
    def name(self) -> str:
        return f"{self.component}-{self.index}"


@dataclass(frozen=True)
class ClusterPlan:
    grpc_address: str  # the load balancer's public gRPC (h2c) address
    http_address: str  # the load balancer's public JSON API address
    stats_address: str  # the load balancer's statistics page
    sts_address: str  # the one development STS
    postgres_port: int
    replicas: Mapping[str, tuple[Replica, ...]]

    def all_replicas(self) -> list[Replica]:
        return [r for c in REPLICATED for r in self.replicas[c]]

    def replica(self, component: str, index: int) -> Replica:
        try:
            return self.replicas[component][index]
        except (KeyError, IndexError):
            raise KeyError(f"no replica {component}-{index} in this cluster") from None

    def target(self, component: str, *, http: bool = False) -> str:
        """The gRPC target naming every replica of `component` (`ipv4:` list)."""
        addresses = [r.http_address if http else r.address for r in self.replicas[component]]
        return "ipv4:" + ",".join(a for a in addresses if a)

    def shared_env(self, database_urls: Mapping[str, str]) -> dict[str, str]:
        """Environment every process of the cluster gets (replicas add their own ports)."""
        env = {
            "SAMHANDLING_STS_ADDR": self.sts_address,
            "SAMHANDLING_GATEWAY_ADDR": self.grpc_address,
            "SAMHANDLING_GATEWAY_HTTP_ADDR": self.http_address,
            "SAMHANDLING_GATEWAY_PUBLIC_URL": f"http://{self.grpc_address}",
            "SAMHANDLING_GATEWAY_HTTP_PUBLIC_URL": f"http://{self.http_address}",
            "SAMHANDLING_TOKEN_ISSUER": f"http://{self.sts_address}",
            "SAMHANDLING_DRAIN_SECONDS": f"{DRAIN_SECONDS:g}",
        }
        env |= {f"SAMHANDLING_{b.upper()}_ADDR": self.target(b) for b in BACKENDS}
        env |= {f"SAMHANDLING_{c.upper()}_DATABASE_URL": database_urls[c] for c in DATABASES if c in database_urls}
        return env

    def replica_env(self, replica: Replica) -> dict[str, str]:
        env = {"SAMHANDLING_LISTEN": replica.address}
        if replica.http_address:
            env["SAMHANDLING_GATEWAY_HTTP_ADDR"] = replica.http_address
        return env

    def ports(self) -> list[int]:
        """Every port the cluster binds: replicas, STS, PostgreSQL and the load balancer."""
        addresses = [self.grpc_address, self.http_address, self.stats_address, self.sts_address]
        for r in self.all_replicas():
            addresses += [r.address] + ([r.http_address] if r.http_address else [])
        return [port_of(a) for a in addresses] + [self.postgres_port]


_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})")


def port_of(address: str) -> int:
    """The port of one `host:port` (a list or a scheme is refused)."""
    match = _HOST_PORT.fullmatch(address)
    if match is None:
        raise ValueError(f"expected host:port, not {address!r}")
    return int(match.group(2))


def make_plan(
    public: Mapping[str, str],
    replicas: int = 2,
    *,
    free_port: Callable[[], int] | None = None,
    stats_port: int | None = None,
) -> ClusterPlan:
    """`public`: the `gateway`, `gateway_http` and `sts` addresses (host:port) of the settings.
    `free_port`: where every other port comes from (default: the fixed blocks described above)."""
    if not 1 <= replicas <= MAX_REPLICAS:
        raise ValueError(f"replicas must be 1 to {MAX_REPLICAS}, not {replicas}")
    for name in ("gateway", "gateway_http", "sts"):
        port_of(public[name])  # a public address is one host:port, not a list of replicas

    def port(component: str, index: int) -> int:
        return free_port() if free_port else DEFAULT_PORTS[component] + 100 * (index + 1)

    planned = {
        c: tuple(
            Replica(c, i, f"{HOST}:{port(c, i)}", f"{HOST}:{port('gateway_http', i)}" if c == "gateway" else None)
            for i in range(replicas)
        )
        for c in REPLICATED
    }
    stats = stats_port if stats_port is not None else (free_port() if free_port else DEFAULT_STATS_PORT)
    return ClusterPlan(
        grpc_address=public["gateway"],
        http_address=public["gateway_http"],
        stats_address=f"{HOST}:{stats}",
        sts_address=public["sts"],
        postgres_port=free_port() if free_port else DEFAULT_POSTGRES_PORT,
        replicas=planned,
    )
