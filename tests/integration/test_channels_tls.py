"""TLS and mTLS between the gateway and a backend (services/platform/tls.py), with a
throwaway CA (tests/fixtures/tls.py): the right CA reaches a TLS backend, a wrong CA does not, an mTLS
backend refuses a client without a certificate (or with one from another CA), and the
health service answers on the same TLS port."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.sdk.trace import TracerProvider

from gateway.audit_client import GATEWAY_ACTOR
from gateway.main import create_gateway
from services.backend_lookup import backend
from services.cli.database_setup import migrate_all
from services.platform.assertion import Assertion
from services.platform.channels import open_channel
from services.platform.settings import SettingsError
from services.platform.tls import TlsFiles
from tests.fixtures.backend_tls import backend_tls
from tests.fixtures.replicas import replica, who
from tests.fixtures.tls import Authority
from tests.support import settings_for


@pytest.fixture
def ca(tmp_path: Path) -> Authority:
    return Authority("samhandling", tmp_path)


@pytest.fixture
def other_ca(tmp_path: Path) -> Authority:
    return Authority("other", tmp_path)


async def reaches(port: int, tls: TlsFiles) -> bool:
    async with open_channel(f"127.0.0.1:{port}", tls=tls) as channel:
        try:
            return await who(channel, timeout=3.0) == "consent"
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAVAILABLE  # refused in the handshake
            return False


async def test_tls_backend_is_reached_only_with_the_right_ca_and_answers_health(
    ca: Authority, other_ca: Authority
) -> None:
    server = replica("consent", transport=backend_tls(ca, mtls=False))
    port = await server.start()
    try:
        assert await reaches(port, TlsFiles(ca_file=ca.ca_file))
        assert not await reaches(port, TlsFiles(ca_file=other_ca.ca_file))
        async with open_channel(f"127.0.0.1:{port}", health_checked=False) as plaintext:
            with pytest.raises(grpc.aio.AioRpcError):
                await who(plaintext)
        async with open_channel(f"127.0.0.1:{port}", tls=TlsFiles(ca_file=ca.ca_file)) as channel:
            answer = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3.0)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await server.stop(0)


async def test_mtls_backend_requires_a_client_certificate_from_its_ca(ca: Authority, other_ca: Authority) -> None:
    server = replica("consent", transport=backend_tls(ca, mtls=True))
    port = await server.start()
    try:
        gateway = ca.issue("gateway", server=False)
        stranger = other_ca.issue("gateway", server=False)
        assert await reaches(port, TlsFiles(ca.ca_file, gateway.cert, gateway.key))
        assert not await reaches(port, TlsFiles(ca_file=ca.ca_file))
        assert not await reaches(port, TlsFiles(ca.ca_file, stranger.cert, stranger.key))
    finally:
        await server.stop(0)


def test_half_a_tls_configuration_is_refused(ca: Authority) -> None:
    cert = ca.issue("consent", server=True)
    with pytest.raises(SettingsError):
        TlsFiles(cert_file=cert.cert).server_credentials()
    with pytest.raises(SettingsError):
        TlsFiles(cert_file=cert.cert, key_file=cert.key, require_client_cert=True).server_credentials()
    with pytest.raises(SettingsError):
        TlsFiles(ca_file=ca.ca_file, key_file=cert.key).channel_credentials()
    with pytest.raises(SettingsError):
        TlsFiles(ca_file=ca.ca_file.with_name("missing.pem")).channel_credentials()


async def test_a_backend_and_the_gateway_take_mtls_from_their_settings(ca: Authority, tmp_path: Path) -> None:
    """The wiring: a real backend built from settings serves mTLS; the gateway built from
    settings reaches it with its client certificate, and not without one."""
    served = ca.issue("capacity", server=True)
    backend_settings = replace(
        settings_for(tmp_path),
        tls_ca_file=ca.ca_file,
        tls_cert_file=served.cert,
        tls_key_file=served.key,
        tls_client_auth=True,
    )
    migrate_all(backend_settings, ("capacity", "gateway"))  # serving refuses a database not at head
    server = backend("capacity").create_server(backend_settings, TracerProvider(), address="127.0.0.1:0")
    port = await server.start()
    client = ca.issue("gateway", server=False)
    addresses = {**backend_settings.addresses, "capacity": f"127.0.0.1:{port}"}
    with_cert = replace(
        settings_for(tmp_path),
        addresses=addresses,
        tls_ca_file=ca.ca_file,
        tls_cert_file=client.cert,
        tls_key_file=client.key,
    )
    check = Assertion(method="/grpc.health.v1.Health/Check", actor=GATEWAY_ACTOR)

    async def status(settings) -> int:
        gateway = create_gateway(settings, TracerProvider(), address="127.0.0.1:0", http_address="127.0.0.1:0")
        try:
            answer = await gateway.backends.call(
                "capacity", check, health_pb2.HealthCheckRequest(), health_pb2.HealthCheckResponse
            )
            return answer.status
        finally:
            await gateway.stop(0)

    try:
        assert await status(with_cert) == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await status(replace(with_cert, tls_cert_file=None, tls_key_file=None))
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        async with open_channel(f"127.0.0.1:{port}", health_checked=False) as plaintext:
            with pytest.raises(grpc.aio.AioRpcError):
                await health_pb2_grpc.HealthStub(plaintext).Check(health_pb2.HealthCheckRequest(), timeout=3.0)
    finally:
        await server.stop(0)
