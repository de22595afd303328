"""The one way a process opens a gRPC channel to another component: balanced over every
replica the target names, health-checked, kept alive, quick to reconnect, TLS when configured.
The gateway opens one per backend replica and picks among them call by call
(services.platform.replica_set, least request); the consent change feed's stream uses one
channel over all replicas.

Targets (`SAMHANDLING_<COMPONENT>_ADDR`) may be `host:port` (resolved by DNS),
`dns:///name:port` (a Kubernetes headless Service: one address per ready pod) or
`ipv4:127.0.0.1:5001,127.0.0.1:5002` (fixed replicas, as the local cluster runs them).

Why each part:

- `round_robin` (the service config): gRPC's default, `pick_first`, sends every call down one
  connection, so extra replicas would sit idle. round_robin keeps a connection to every
  address and picks them in turn, skipping any that is not READY.
- `healthCheckConfig`: each connection also runs `grpc.health.v1.Health/Watch` for the
  overall service (""); a replica that announces NOT_SERVING (it is draining, see
  services.platform.server) stops getting picks at once, before it stops accepting. A server
  without the health service counts as healthy (gRPC's rule), so this never refuses more than
  plain round_robin would.
- Keepalive: a ping every KEEPALIVE_TIME_MS, even without calls, finds a dead peer (a pod that
  vanished without closing its connections) within KEEPALIVE_TIME_MS + KEEPALIVE_TIMEOUT_MS
  rather than at the next call's deadline. Servers (services.platform.server) permit pings this
  often: their minimum interval is half of ours, so jitter never counts as a strike and no
  server answers GOAWAY "too_many_pings".
- Reconnect backoff: gRPC's default grows to 120 s, so a backend back after a 45 s outage may
  wait ~30 s for its next attempt. Capped at MAX_RECONNECT_BACKOFF_MS, a restarted replica is
  connected within about a second of listening again. Calls meanwhile fail at once with
  UNAVAILABLE (no wait_for_ready): the callers fail closed.
- Re-resolution: servers end each connection after a maximum age (GOAWAY), which makes the
  client resolve the name again, so replicas added behind a DNS name get traffic; DNS is asked
  at most every DNS_MIN_RESOLUTION_INTERVAL_MS. A service config published in DNS is ignored:
  ours is the only one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import grpc

from .tls import TlsFiles

KEEPALIVE_TIME_MS = 20_000
KEEPALIVE_TIMEOUT_MS = 10_000
INITIAL_RECONNECT_BACKOFF_MS = 200
MIN_RECONNECT_BACKOFF_MS = 200  # also the minimum time a connection attempt is given
MAX_RECONNECT_BACKOFF_MS = 1_000
DNS_MIN_RESOLUTION_INTERVAL_MS = 5_000


def service_config(*, health_checked: bool = True) -> str:
    """The channel's service config (JSON): round_robin, and health checking of ""."""
    config: dict[str, Any] = {"loadBalancingConfig": [{"round_robin": {}}]}
    if health_checked:
        config["healthCheckConfig"] = {"serviceName": ""}
    return json.dumps(config)


def channel_options(*, health_checked: bool = True) -> list[tuple[str, Any]]:
    return [
        ("grpc.service_config", service_config(health_checked=health_checked)),
        ("grpc.service_config_disable_resolution", 1),
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),  # keep pinging an idle connection
        ("grpc.initial_reconnect_backoff_ms", INITIAL_RECONNECT_BACKOFF_MS),
        ("grpc.min_reconnect_backoff_ms", MIN_RECONNECT_BACKOFF_MS),
        ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
        ("grpc.dns_min_time_between_resolutions_ms", DNS_MIN_RESOLUTION_INTERVAL_MS),
    ]


def open_channel(
    target: str,
    *,
    tls: TlsFiles | None = None,
    interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
    options: Sequence[tuple[str, Any]] = (),
    health_checked: bool = True,
) -> grpc.aio.Channel:
    """An aio channel to `target`; TLS when `tls` names a CA (else plaintext). Opening
    connects nothing yet: the first call (or `channel_ready`) does."""
    # `options` override ours by name (gRPC does not say which of two equal names wins).
    every_option = list({**dict(channel_options(health_checked=health_checked)), **dict(options)}.items())
    credentials = tls.channel_credentials() if tls is not None else None
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=every_option, interceptors=list(interceptors))
    return grpc.aio.secure_channel(target, credentials, options=every_option, interceptors=list(interceptors))
