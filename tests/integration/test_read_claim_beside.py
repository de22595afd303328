"""The order of a backend's claim and handler, over a real gRPC server and channel: a method
declared read-only has its assertion's claim beside the handler, and the handler's answer
(response or error) is released only once the claim has succeeded; a refused claim is the
answer and a handler still running is cancelled. Any other method is claimed before its
handler is entered. The replay claims here are gated by the test (they answer once the
handler has reached a given point), which is what makes each interleaving certain; the real
stores across replicas are in test_replay_across_replicas.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import pytest
from joserfc.jwk import ECKey

from samhandling.common.v1 import common_pb2
from services.platform.assertion import METADATA_KEY, Assertion, AssertionSigner, AssertionVerifier, request_binding
from services.platform.errors import ServiceError, error_info
from services.platform.interceptors import ServiceInterceptor, current_assertion
from services.platform.replay import ReplayStoreUnavailable
from services.platform.server import GrpcServer
from tests.fixtures import people

READ, WRITE = "/test.Beside/Read", "/test.Beside/Write"
ACTOR = common_pb2.Actor(kind=common_pb2.ACTOR_KIND_SYSTEM, client_id="demo-ehr", orgnr_parent="910000012")
BODY = b"\n\x0b22750884907"
REPLAYED, UNAVAILABLE, OK = False, None, True  # what the gated claim answers


class GatedClaims:
    """Replay claims that answer `answer` (True: first use, False: replayed, None: the store
    cannot answer) once `gate` is set; `claimed` is set when a claim is asked."""

    def __init__(self, answer: bool | None, gate: asyncio.Event) -> None:
        self.answer, self.gate, self.claimed = answer, gate, asyncio.Event()

    async def claim(self, key: str, expires_at: float) -> bool:
        self.claimed.set()
        await self.gate.wait()
        if self.answer is None:
            raise ReplayStoreUnavailable
        return self.answer


class Handler:
    """A handler recording how far it got; it ends as `outcome` says once `release` is set."""

    def __init__(self, outcome: Callable[[], bytes]) -> None:
        self.outcome = outcome
        self.entered, self.release, self.done, self.cancelled = (asyncio.Event() for _ in range(4))
        self.patient = ""

    async def __call__(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        self.entered.set()
        self.patient = current_assertion().patient_id  # the checked assertion reaches the handler's task
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        self.done.set()
        return self.outcome()


def data() -> bytes:
    return b"patient data"


def not_found() -> bytes:
    raise ServiceError(grpc.StatusCode.NOT_FOUND, "PATIENT_NOT_FOUND", "no such patient")


@pytest.fixture
def keys() -> tuple[AssertionSigner, ECKey]:
    key = ECKey.generate_key("P-256", parameters={"kid": "gw"})
    return AssertionSigner(key), ECKey.import_key(key.as_dict(private=False))


@pytest.fixture
async def server(keys) -> AsyncIterator[Callable[[GatedClaims, Handler, str], Awaitable[bytes]]]:
    """Calls `method` on a fresh server whose only read-only method is READ; one call per server."""
    signer, public = keys
    started: list[GrpcServer] = []
    channels: list[grpc.aio.Channel] = []

    async def call(claims: GatedClaims, handler: Handler, method: str) -> bytes:
        handlers = {name: grpc.unary_unary_rpc_method_handler(handler) for name in ("Read", "Write")}
        verifier = AssertionVerifier(public, "test", claims)
        grpc_server = GrpcServer(
            "beside",
            "127.0.0.1:0",
            interceptors=[ServiceInterceptor(verifier, read_only={READ})],
            generic_handlers=[grpc.method_handlers_generic_handler("test.Beside", handlers)],
        )
        started.append(grpc_server)
        port = await grpc_server.start()
        channels.append(channel := grpc.aio.insecure_channel(f"127.0.0.1:{port}"))
        token = signer.sign(
            Assertion(method=method, actor=ACTOR, patient_id=people.ESKIL), "test", request=request_binding(BODY)
        )
        return await channel.unary_unary(method)(BODY, metadata=((METADATA_KEY, token),), timeout=10)

    yield call
    for channel in channels:
        await channel.close()
    for grpc_server in started:
        await grpc_server.stop(0)


async def refusal(call: Awaitable[bytes]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return err.value.code(), error_info(err.value)[0]


async def test_a_read_is_answered_once_its_claim_succeeded(server):
    handler = Handler(data)
    handler.release.set()
    claims = GatedClaims(OK, handler.done)  # the claim answers only after the handler has finished
    assert await server(claims, handler, READ) == b"patient data"
    assert handler.patient == people.ESKIL


@pytest.mark.parametrize("outcome", [data, not_found], ids=["response", "error"])
async def test_a_replayed_read_is_refused_whatever_its_handler_answered(server, outcome):
    handler = Handler(outcome)
    handler.release.set()
    claims = GatedClaims(REPLAYED, handler.done if outcome is data else handler.entered)
    assert await refusal(server(claims, handler, READ)) == (grpc.StatusCode.UNAUTHENTICATED, "ASSERTION_REPLAYED")
    assert handler.entered.is_set()


async def test_a_read_whose_claim_fails_is_refused_and_its_running_handler_cancelled(server):
    handler = Handler(data)  # never released: still running when the claim fails
    claims = GatedClaims(UNAVAILABLE, handler.entered)
    assert await refusal(server(claims, handler, READ)) == (grpc.StatusCode.UNAVAILABLE, "REPLAY_STORE_UNAVAILABLE")
    await asyncio.wait_for(handler.cancelled.wait(), 10)
    assert not handler.done.is_set()


@pytest.mark.parametrize(
    "answer, reason",
    [
        (REPLAYED, (grpc.StatusCode.UNAUTHENTICATED, "ASSERTION_REPLAYED")),
        (UNAVAILABLE, (grpc.StatusCode.UNAVAILABLE, "REPLAY_STORE_UNAVAILABLE")),
    ],
    ids=["replayed", "store-unavailable"],
)
async def test_a_write_whose_claim_is_refused_never_enters_its_handler(server, answer, reason):
    handler = Handler(data)
    handler.release.set()
    gate = asyncio.Event()
    claims = GatedClaims(answer, gate)
    call = asyncio.create_task(server(claims, handler, WRITE))
    await asyncio.wait_for(claims.claimed.wait(), 10)
    assert not handler.entered.is_set()  # the claim is asked, the handler not yet entered
    gate.set()
    assert await refusal(call) == reason
    assert not handler.entered.is_set()


async def test_a_write_enters_its_handler_after_its_claim(server):
    handler = Handler(data)
    handler.release.set()
    gate = asyncio.Event()
    claims = GatedClaims(OK, gate)
    call = asyncio.create_task(server(claims, handler, WRITE))
    await asyncio.wait_for(claims.claimed.wait(), 10)
    assert not handler.entered.is_set()
    gate.set()
    assert await call == b"patient data"
