"""The transport's pure parts: the channel's service config and options, the servers'
keepalive enforcement against the clients' pings, the settings that configure them, and
production's refusal of plaintext between the gateway and the backends."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from services.platform import channels
from services.platform.production import check_backend_production, production_problems
from services.platform.server import MIN_RECV_PING_INTERVAL_MS, ServerTransport
from services.platform.settings import Settings, SettingsError


def test_the_service_config_balances_round_robin_and_health_checks_the_whole_server() -> None:
    config = json.loads(channels.service_config())
    assert config == {"loadBalancingConfig": [{"round_robin": {}}], "healthCheckConfig": {"serviceName": ""}}
    assert "healthCheckConfig" not in json.loads(channels.service_config(health_checked=False))


def test_servers_accept_the_clients_keepalive_pings() -> None:
    client = dict(channels.channel_options())
    server = dict(ServerTransport().options())
    assert client["grpc.keepalive_permit_without_calls"] == server["grpc.keepalive_permit_without_calls"] == 1
    # A server counts a strike for a ping sooner than its minimum interval; the clients' period
    # must stay above it even with gRPC's keepalive jitter.
    assert client["grpc.keepalive_time_ms"] >= 2 * server["grpc.http2.min_ping_interval_without_data_ms"]
    assert server["grpc.http2.min_ping_interval_without_data_ms"] == MIN_RECV_PING_INTERVAL_MS


def test_reconnects_are_attempted_at_least_every_second() -> None:
    client = dict(channels.channel_options())
    assert client["grpc.max_reconnect_backoff_ms"] <= 1_000
    assert client["grpc.initial_reconnect_backoff_ms"] <= client["grpc.max_reconnect_backoff_ms"]


def test_connection_age_settings() -> None:
    defaults = dict(ServerTransport.from_settings(Settings()).options())
    assert defaults["grpc.max_connection_age_ms"] == 300_000
    assert "grpc.max_connection_age_grace_ms" not in defaults  # calls on an aged connection run to their end
    settings = Settings.from_env(
        {
            "SAMHANDLING_GRPC_MAX_CONNECTION_AGE_SECONDS": "none",
            "SAMHANDLING_GRPC_MAX_CONNECTION_AGE_GRACE_SECONDS": "30",
            "SAMHANDLING_DRAIN_SECONDS": "0.5",
        }
    )
    options = dict(ServerTransport.from_settings(settings).options())
    assert "grpc.max_connection_age_ms" not in options
    assert options["grpc.max_connection_age_grace_ms"] == 30_000
    assert settings.drain_seconds == 0.5
    assert Settings.from_env({}).drain_seconds == 0.0  # development: one replica, nothing to drain
    assert Settings.from_env({"SAMHANDLING_ENV": "production"}).drain_seconds == 5.0


@pytest.mark.parametrize("value", ["-1", "soon", "inf", "nan"])
def test_a_malformed_duration_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="SAMHANDLING_DRAIN_SECONDS"):
        Settings.from_env({"SAMHANDLING_DRAIN_SECONDS": value})


def test_tls_settings() -> None:
    settings = Settings.from_env(
        {
            "SAMHANDLING_TLS_CA_FILE": "/run/ca.pem",
            "SAMHANDLING_TLS_CERT_FILE": "/run/tls.crt",
            "SAMHANDLING_TLS_KEY_FILE": "/run/tls.key",
            "SAMHANDLING_TLS_CLIENT_AUTH": "require",
        }
    )
    assert (settings.tls_ca_file, settings.tls_cert_file, settings.tls_key_file) == (
        Path("/run/ca.pem"),
        Path("/run/tls.crt"),
        Path("/run/tls.key"),
    )
    assert settings.tls_client_auth and not settings.tls_by_mesh
    assert ServerTransport.from_settings(settings, tls=False).tls is None
    with pytest.raises(SettingsError, match="SAMHANDLING_TLS_CLIENT_AUTH"):
        Settings.from_env({"SAMHANDLING_TLS_CLIENT_AUTH": "optional"})


def test_production_refuses_plaintext_between_gateway_and_backends_unless_a_mesh_encrypts_it() -> None:
    production = Settings(env="production")
    assert any("SAMHANDLING_TLS_CA_FILE" in p for p in production_problems(production))
    assert not any("SAMHANDLING_TLS" in p for p in production_problems(replace(production, tls_by_mesh=True)))
    assert not any(
        "SAMHANDLING_TLS" in p for p in production_problems(replace(production, tls_ca_file=Path("/run/ca.pem")))
    )
    with pytest.raises(SettingsError, match="SAMHANDLING_TLS_CERT_FILE"):
        check_backend_production(production)
    with pytest.raises(SettingsError) as by_mesh:
        check_backend_production(replace(production, tls_by_mesh=True))
    assert "SAMHANDLING_TLS" not in str(by_mesh.value)  # only the other problems remain
