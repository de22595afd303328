"""Helpers shared by integration tests: settings on port 0, signed gateway assertions,
backends started in-process on real ports with real databases."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest
from joserfc import jwt
from opentelemetry.sdk.trace import TracerProvider

from samhandling.common.v1 import common_pb2
from services.backend_lookup import backend
from services.platform.assertion import METADATA_KEY, STREAM_BINDING, Assertion, AssertionSigner, request_binding
from services.platform.backend_service import Backend
from services.platform.db import migrate_platform
from services.platform.errors import error_info
from services.platform.keys import load_jwk
from services.platform.replay_store import ReplayStore
from services.platform.server import GrpcServer
from services.platform.settings import BACKENDS, Settings

DEMO_EHR_ACTOR = common_pb2.Actor(
    kind=common_pb2.ACTOR_KIND_SYSTEM,
    client_id="demo-ehr",
    client_name="Demo EHR Bodø",
    orgnr_parent="910000012",
    orgnr_child="910000020",
)


def settings_for(tmp_path: Path, **database_urls: str) -> Settings:
    return replace(Settings(), var_dir=tmp_path / "var", database_urls=database_urls)


def replay_store(settings: Settings, component: str) -> ReplayStore:
    """The replay store `component` claims its credentials in (DPoP proofs for the gateway,
    assertions for a backend), on its database, migrated; close it after use."""
    migrate_platform(settings.database_url(component))
    return ReplayStore.open(settings.database_url(component), "dpop" if component == "gateway" else "assertion")


def asserted(
    settings: Settings,
    component: str,
    method: str,
    *,
    actor: common_pb2.Actor = DEMO_EHR_ACTOR,
    patient_id: str = "",
    **fields,
) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying a gateway assertion for one backend method. It is signed for a
    request stream; on a channel with `BindsAssertions` (every `running_backend` channel) a
    call with one request gets it bound to that request's bytes, as the gateway does."""
    signer = AssertionSigner(load_jwk(settings.assertion_signing_key(), settings))
    token = signer.sign(
        Assertion(method=method, actor=actor, patient_id=patient_id, **fields), component, request=STREAM_BINDING
    )
    return ((METADATA_KEY, token),)


class BindsAssertions:
    """Binds an `asserted()` assertion to the request its call carries (the claim `req`: the
    hash of the request's bytes), re-signed with the gateway's key: what the gateway's BackendChannels
    do when they sign. An assertion already bound to something else is left as it is.
    `interceptors()` does it for every call with one request on a channel."""

    def __init__(self, settings: Settings) -> None:
        self._key = load_jwk(settings.assertion_signing_key(), settings)

    def bind(self, metadata, request) -> tuple[tuple[str, str], ...]:
        """The metadata with its assertion bound to `request`."""
        return tuple((key, self._rebind(value, request) if key == METADATA_KEY else value) for key, value in metadata)

    def interceptors(self) -> list[grpc.aio.ClientInterceptor]:
        # One object per kind: a channel files an interceptor under the first kind it is.
        return [_BindUnaryUnary(self), _BindUnaryStream(self)]

    def bound_details(self, details, request):
        if not details.metadata:
            return details
        return details._replace(metadata=grpc.aio.Metadata(*self.bind(details.metadata, request)))

    def _rebind(self, token: str, request) -> str:
        decoded = jwt.decode(token, self._key, algorithms=["ES256"])
        if decoded.claims.get("req") != STREAM_BINDING:
            return token
        claims = {**decoded.claims, "req": request_binding(request.SerializeToString())}
        return jwt.encode(decoded.header, claims, self._key, algorithms=["ES256"])


class _BindUnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, binds: BindsAssertions) -> None:
        self._binds = binds

    async def intercept_unary_unary(self, continuation, details, request):
        return await continuation(self._binds.bound_details(details, request), request)


class _BindUnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, binds: BindsAssertions) -> None:
        self._binds = binds

    async def intercept_unary_stream(self, continuation, details, request):
        return await continuation(self._binds.bound_details(details, request), request)


@contextlib.asynccontextmanager
async def running_backend(
    component: str,
    settings: Settings,
    tracer_provider: TracerProvider | None = None,
    *,
    seed: bool = True,
    spec: Backend | None = None,
) -> AsyncIterator[grpc.aio.Channel]:
    """Migrates (and seeds) the component's database, serves it on port 0, yields a channel;
    `spec` replaces the component's declaration (e.g. an api built with a test clock)."""
    spec = spec or backend(component)
    spec.migrate(settings)
    if seed:
        spec.seed(settings)
    server = spec.create_server(settings, tracer_provider or TracerProvider(), address="127.0.0.1:0")
    port = await server.start()
    try:
        async with grpc.aio.insecure_channel(
            f"127.0.0.1:{port}", interceptors=BindsAssertions(settings).interceptors()
        ) as channel:
            yield channel
    finally:
        await server.stop(grace=0)


# A health check in flight when the server stops is cancelled, and one on a loaded machine can
# time out: neither is an answer about serving (a balancer would simply poll again). Every test
# that polls health through a stop skips these.
HEALTH_NO_ANSWER = frozenset({grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED})


@dataclass(frozen=True)
class ServedReplica:
    """One replica served by `backend_replicas`: its server, address and a channel that binds
    the test's assertions."""

    server: GrpcServer
    address: str
    channel: grpc.aio.Channel


@contextlib.asynccontextmanager
async def backend_replicas(spec: Backend, settings: Settings, count: int = 2) -> AsyncIterator[list[ServedReplica]]:
    """`count` servers of one backend as main.py builds them, on the one database of `settings`
    (migrated and seeded once), each on port 0; all stopped on the way out."""
    spec.migrate(settings)
    spec.seed(settings)
    replicas: list[ServedReplica] = []
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(count):
            server = spec.create_server(settings, TracerProvider(), address="127.0.0.1:0")
            address = f"127.0.0.1:{await server.start()}"
            stack.push_async_callback(server.stop, 0)
            channel = await stack.enter_async_context(
                grpc.aio.insecure_channel(address, interceptors=BindsAssertions(settings).interceptors())
            )
            replicas.append(ServedReplica(server, address, channel))
        yield replicas


async def expect_error(call, code: grpc.StatusCode, reason: str) -> dict[str, str]:
    """Awaits a call that must fail with `code` and ErrorInfo `reason`; returns its field violations."""
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert (err.value.code(), error_info(err.value)[0]) == (code, reason)
    return error_info(err.value)[1]


async def write_unless_ended(call, message) -> None:
    """Writes to a stream that the server may already have refused: a refusal can end the call
    before the first message is sent, and the write then fails with the call's status (or with
    InvalidStateError once the call is done). Either way the status is read after, by the test."""
    try:
        await call.write(message)
    except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
        assert call.done()


@dataclass
class Suite:
    """Every component running in this process on real ports, as the gateway sees them."""

    settings: Settings
    gateway: grpc.aio.Channel
    backends: dict[str, object]
    app: object  # the gateway.main.Gateway itself: its decision cache and policy watch

    async def token(self, client_id: str, scope: str | None = None) -> str:
        from services.cli.token import Identity, obtain_token

        return (await obtain_token(self.settings, Identity(client_id, scope=scope))).access_token

    async def auth(self, client_id: str, scope: str | None = None) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {await self.token(client_id, scope)}"),)


@contextlib.asynccontextmanager
async def running_suite(
    tmp_path: Path,
    tracer_provider: TracerProvider | None = None,
    fronts: Mapping[str, Callable[[str], Awaitable[str]]] | None = None,
    **overrides,
) -> AsyncIterator[Suite]:
    """STS, the four backends and the gateway, each on port 0, SQLite under tmp_path;
    `overrides` replace settings (e.g. decision_cache=False). `fronts` puts a server of the
    test's own before a backend: called with the backend's address, it returns the address the
    gateway is to call instead (the test stops it)."""
    import asyncio

    from gateway.main import create_gateway
    from services.sts.config import StsConfig
    from services.sts.main import StsServer

    provider = tracer_provider or TracerProvider()
    settings = replace(settings_for(tmp_path), **overrides)
    sts = StsServer(StsConfig(port=0, seeds_dir=settings.seeds_dir, var_dir=settings.var_dir))
    ready = asyncio.Event()
    sts_task = asyncio.create_task(sts.serve(ready))
    await ready.wait()
    backends, addresses = {}, dict(settings.addresses)
    for component in BACKENDS:
        spec = backend(component)
        spec.migrate(settings)
        spec.seed(settings)
        backends[component] = spec.create_server(settings, provider, address="127.0.0.1:0")
        addresses[component] = f"127.0.0.1:{await backends[component].start()}"
    settings = replace(settings, addresses=addresses, token_issuer=sts.issuer)
    gateway_addresses = dict(addresses)
    for component, front in (fronts or {}).items():
        gateway_addresses[component] = await front(addresses[component])
    migrate_platform(settings.database_url("gateway"))
    gateway = create_gateway(
        replace(settings, addresses=gateway_addresses), provider, address="127.0.0.1:0", http_address="127.0.0.1:0"
    )
    port = await gateway.start()
    settings = replace(
        settings,
        addresses={
            **addresses,
            "gateway": f"127.0.0.1:{port}",
            "gateway_http": f"127.0.0.1:{gateway.http_server.port}",
        },
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield Suite(settings, channel, backends, gateway)
    finally:
        await gateway.stop(grace=0)
        for server in backends.values():
            await server.stop(grace=0)
        sts.stop()
        await sts_task


async def checkpoint_covering(read_checkpoint: Callable[[], Awaitable[str]], size: int, timeout: float = 10.0) -> str:
    """The audit log's latest checkpoint note (`read_checkpoint`: a GetCheckpoint call, with a fresh
    assertion or token each time) once it covers at least `size` events: the integrator signs a
    moment after an append (at most every 0.2 s under load), so this waits for it, up to `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            note = await read_checkpoint()
            if int(note.split("\n")[1]) >= size:
                return note
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:  # no checkpoint yet
                raise
        if time.monotonic() > deadline:
            raise TimeoutError(f"no checkpoint of {size} events within {timeout} s")
        await asyncio.sleep(0.01)  # polls a condition, bounded by the deadline
