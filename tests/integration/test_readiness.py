"""The probes' health services (services/platform/readiness.py, docs/observability.md) on real
servers: `readiness` follows the database, and for the gateway consent and audit; `liveness`
stays SERVING through all of it and through the drain; "" keeps its meaning (serving unless
draining); a TLS server answers them on a plaintext health port."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.engine import make_url

from services.backend_lookup import backend
from services.platform.channels import open_channel
from services.platform.health import LIVENESS, READINESS
from services.platform.readiness import ReadinessCheck
from services.platform.server import GrpcServer
from tests.fixtures.backend_tls import backend_tls
from tests.fixtures.health_checks import check
from tests.fixtures.tls import Authority
from tests.support import running_suite, settings_for

INTERVAL = 0.2  # readiness checks every 0.2 s here (2 s by default)
WAIT_SECONDS = 15.0  # upper bound on a status change, so a broken server fails instead of hanging


class Statuses:
    """Watches one health service name and waits for a given status."""

    def __init__(self, channel: grpc.aio.Channel, service: str) -> None:
        self._call = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=service))
        self.seen: list[str] = []

    async def reaches(self, status: str) -> None:
        async def follow() -> None:
            while not self.seen or self.seen[-1] != status:
                answer = await self._call.read()
                assert answer is not grpc.aio.EOF, f"the watch ended after {self.seen}"
                self.seen.append(health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))

        try:
            await asyncio.wait_for(follow(), WAIT_SECONDS)
        except TimeoutError:
            raise AssertionError(f"not {status} within {WAIT_SECONDS} s; seen {self.seen}") from None

    def cancel(self) -> None:
        self._call.cancel()


def plain(address: str) -> grpc.aio.Channel:
    return open_channel(address, health_checked=False)


def allow_connections(url: str, allowed: bool) -> None:
    """Opens or closes the database to every client, and ends its sessions when closing: to a
    client it is as if the server had gone away (new connections are refused)."""
    parsed = make_url(url)
    name = parsed.database
    with psycopg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, dbname="postgres", autocommit=True
    ) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')
        if not allowed:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))


@contextlib.asynccontextmanager
async def ready_capacity(tmp_path: Path, url: str) -> AsyncIterator[tuple[GrpcServer, grpc.aio.Channel, Statuses]]:
    """A capacity replica on the database at `url`, checking readiness every INTERVAL, with a
    watch of its readiness that has seen SERVING."""
    settings = replace(settings_for(tmp_path, capacity=url), readiness_interval_seconds=INTERVAL)
    spec = backend("capacity")
    spec.migrate(settings)
    server = spec.create_server(settings, TracerProvider(), address="127.0.0.1:0")
    port = await server.start()
    try:
        async with plain(f"127.0.0.1:{port}") as channel:
            readiness = Statuses(channel, READINESS)
            await readiness.reaches("SERVING")
            yield server, channel, readiness
            readiness.cancel()
    finally:
        await server.stop(0)


@pytest.mark.postgres
async def test_a_backend_is_unready_while_its_database_is_unreachable_and_alive_throughout(tmp_path, postgres_url):
    async with ready_capacity(tmp_path, postgres_url) as (server, channel, readiness):
        allow_connections(postgres_url, False)
        try:
            await readiness.reaches("NOT_SERVING")
            assert await check(channel, LIVENESS) == "SERVING"
            assert await check(channel, "") == "SERVING"  # today's meaning: not draining
        finally:
            allow_connections(postgres_url, True)
        await readiness.reaches("SERVING")
        assert readiness.seen == ["SERVING", "NOT_SERVING", "SERVING"]
        # The drain: readiness (and "") NOT_SERVING at once, liveness still SERVING.
        await server.drain(0)
        await readiness.reaches("NOT_SERVING")
        assert await check(channel, LIVENESS) == "SERVING"
        assert await check(channel, "") == "NOT_SERVING"


async def test_the_gateway_is_ready_only_with_its_consent_lease_and_audit(tmp_path) -> None:
    async with running_suite(tmp_path, readiness_interval_seconds=INTERVAL) as suite:
        gateway = suite.settings.addresses["gateway"]
        async with plain(gateway) as channel:
            readiness = Statuses(channel, READINESS)
            await readiness.reaches("SERVING")  # once the policy watch holds its lease
            liveness = Statuses(channel, LIVENESS)
            await liveness.reaches("SERVING")

            # Audit gone: no serving audit replica to connect to.
            audit_address = suite.settings.addresses["audit"]
            await suite.backends["audit"].stop(0)  # type: ignore[attr-defined]
            await readiness.reaches("NOT_SERVING")
            assert await check(channel, "") == "SERVING"
            audit = backend("audit").create_server(suite.settings, TracerProvider(), address=audit_address)
            await audit.start()  # a replica again at the same address
            suite.backends["audit"] = audit
            await readiness.reaches("SERVING")

            # Consent gone: the policy watch's stream breaks and the lease is dropped with it.
            consent_address = suite.settings.addresses["consent"]
            await suite.backends["consent"].stop(0)  # type: ignore[attr-defined]
            await readiness.reaches("NOT_SERVING")
            consent = backend("consent").create_server(suite.settings, TracerProvider(), address=consent_address)
            await consent.start()
            suite.backends["consent"] = consent
            await readiness.reaches("SERVING")  # subscribed again, leased again

            seen = readiness.seen[readiness.seen.index("SERVING") :]  # NOT_SERVING first, until leased
            assert seen == ["SERVING", "NOT_SERVING", "SERVING", "NOT_SERVING", "SERVING"]
            assert liveness.seen == ["SERVING"]  # never restarted for a dependency
            assert await check(channel, LIVENESS) == "SERVING"
            readiness.cancel()
            liveness.cancel()


async def test_a_tls_backend_is_probed_on_its_plaintext_health_port_which_answers_only_health(tmp_path) -> None:
    """Kubernetes' gRPC probes speak no TLS: with a health address, an mTLS server answers the
    same health service in plaintext on that port, and nothing else there."""
    ca = Authority("samhandling", tmp_path)
    database_up = [True]

    async def database(timeout: float) -> bool:
        return database_up[0]

    server = GrpcServer(
        "consent",
        "127.0.0.1:0",
        service_names=["samhandling.test.Replica"],
        transport=backend_tls(ca, mtls=True),
        readiness=[ReadinessCheck("database", database)],
        readiness_interval=INTERVAL,
        health_address="127.0.0.1:0",
    )
    port = await server.start()
    try:
        async with plain(f"127.0.0.1:{port}") as tls_port:
            assert await check(tls_port, LIVENESS) == "UNAVAILABLE"  # the handshake fails: a probe cannot use it
        async with plain(f"127.0.0.1:{server.health_port}") as channel:
            readiness = Statuses(channel, READINESS)
            await readiness.reaches("SERVING")
            assert await check(channel, LIVENESS) == "SERVING"
            assert await check(channel, "samhandling.test.Replica") == "SERVING"
            database_up[0] = False
            await readiness.reaches("NOT_SERVING")
            database_up[0] = True
            await readiness.reaches("SERVING")
            with pytest.raises(grpc.aio.AioRpcError) as other:  # nothing but health on this port
                await channel.unary_unary("/samhandling.test.Replica/Who")(b"", timeout=5)
            assert other.value.code() == grpc.StatusCode.UNIMPLEMENTED
            await server.drain(0)
            await readiness.reaches("NOT_SERVING")
            assert await check(channel, LIVENESS) == "SERVING"
            readiness.cancel()
        await server.stop(0)
        async with plain(f"127.0.0.1:{server.health_port}") as channel:
            assert await check(channel, LIVENESS) == "UNAVAILABLE"  # stopped with the server
    finally:
        await server.stop(0)


class Valve:
    """Opens and closes a relay running on another thread's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
        self._loop, self._event = loop, event

    def open(self) -> None:
        self._loop.call_soon_threadsafe(self._event.set)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._event.clear)


@contextlib.contextmanager
def freezable_link(upstream: str) -> Iterator[tuple[str, Valve]]:
    """A TCP relay to `upstream` that holds every byte, both ways, while its valve is closed:
    a network partition that drops nothing and refuses nothing, so a query simply hangs. It
    runs on a thread of its own, so the test's blocking database calls do not stall it."""
    host, port = upstream.rsplit(":", 1)
    loop = asyncio.new_event_loop()
    flowing = asyncio.Event()
    flowing.set()

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await flowing.wait()
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(
            pump(client_reader, server_writer), pump(server_reader, client_writer), return_exceptions=True
        )

    thread = threading.Thread(target=loop.run_forever, name="freezable-link", daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(asyncio.start_server(relay, "127.0.0.1", 0), loop).result(10)
    valve = Valve(loop, flowing)
    try:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}", valve
    finally:
        valve.open()
        asyncio.run_coroutine_threadsafe(_close(server), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def _close(server: asyncio.Server) -> None:
    """Stops accepting and ends every relayed connection (on the relay's own loop)."""
    server.close()
    relays = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in relays:
        task.cancel()
    await asyncio.gather(*relays, return_exceptions=True)


def readiness_sessions(url: str) -> int:
    """Sessions the capacity replica's readiness check holds on the database (by application name)."""
    parsed = make_url(url)
    with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username, dbname="postgres") as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", ("samhandling-capacity-readiness",)
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.postgres
async def test_a_database_that_stops_answering_makes_the_replica_unready_within_the_timeout_with_one_query(
    tmp_path, postgres_url
) -> None:
    """The check's timeout, not the driver's, bounds a round: a partitioned database (a query
    that hangs) turns readiness NOT_SERVING, and rounds meanwhile start no second query."""
    parsed = make_url(postgres_url)
    with freezable_link(f"{parsed.host}:{parsed.port}") as (link, valve):
        host, port = link.rsplit(":", 1)
        url = parsed.set(host=host, port=int(port)).render_as_string(hide_password=False)
        async with ready_capacity(tmp_path, url) as (_, channel, readiness):
            try:
                valve.close()  # the partition: nothing answers, nothing is refused
                await readiness.reaches("NOT_SERVING")
                for _ in range(5):  # rounds go on (each fails at once) while the query hangs
                    assert await check(channel, READINESS) == "NOT_SERVING"
                    assert await check(channel, LIVENESS) == "SERVING"
                assert readiness_sessions(postgres_url) == 1  # still the one connection, no pile-up
            finally:
                valve.open()
            await readiness.reaches("SERVING")
