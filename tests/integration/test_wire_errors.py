"""Bytes that are not the method's request message, sent over a real channel with identity
serializers: to every method the gateway serves and to every method of each backend (with a
valid gateway assertion bound to those very bytes). Each answers INVALID_ARGUMENT with
ErrorInfo MALFORMED_REQUEST, and nothing is logged at ERROR or with a traceback. And the other
way to an answer without the error model: an unexpected exception in a handler."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest

from gateway.grpc_handlers import SERVICES
from samhandling.common.v1 import common_pb2
from services.backend_lookup import backend
from services.platform.assertion import (
    GATEWAY_CLIENT_ID,
    METADATA_KEY,
    STREAM_BINDING,
    Assertion,
    AssertionSigner,
    request_binding,
)
from services.platform.errors import ERROR_DOMAIN, RelayedError, ServiceError, error_info
from services.platform.interceptors import ServiceInterceptor
from services.platform.keys import load_jwk
from services.platform.server import GrpcServer
from services.platform.settings import BACKENDS
from tests.fixtures.wire import call_raw, error_model
from tests.support import DEMO_EHR_ACTOR

# Field 1, length-delimited, announcing 5 bytes where 2 follow: no message type parses it.
MALFORMED = b"\x0a\x05ab"
GATEWAY_ACTOR = common_pb2.Actor(kind=common_pb2.ACTOR_KIND_SYSTEM, client_id=GATEWAY_CLIENT_ID)


async def refusal(channel, path, method, body, metadata=()) -> tuple[grpc.StatusCode, str, str]:
    """The error model of a call that must fail."""
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call_raw(channel, path, method, body, metadata)
    return error_model(err.value)


def assert_quiet(caplog: pytest.LogCaptureFixture) -> None:
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [f"{r.name}: {r.getMessage()}" for r in loud]


async def test_every_gateway_method_refuses_undecodable_bytes_with_the_error_model(suite, caplog):
    metadata = await suite.auth("demo-ehr")
    answers = {}
    for service in SERVICES:
        for method in service.methods:
            path = f"/{service.full_name}/{method.name}"
            answers[path] = await refusal(suite.gateway, path, method, MALFORMED, metadata)
    expected = {
        # Client streams are internal to the suite: refused before a message is read.
        path: (grpc.StatusCode.PERMISSION_DENIED, "METHOD_NOT_ALLOWED", ERROR_DOMAIN)
        if method.client_streaming
        else (grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST", ERROR_DOMAIN)
        for service in SERVICES
        for method in service.methods
        for path in [f"/{service.full_name}/{method.name}"]
    }
    assert answers == expected
    assert_quiet(caplog)


async def test_every_backend_method_refuses_undecodable_bytes_after_the_assertion(suite, caplog):
    signer = AssertionSigner(load_jwk(suite.settings.assertion_signing_key(), suite.settings))
    answers, expected = {}, {}
    for component in BACKENDS:
        services = [served.service for served in backend(component).services]
        async with grpc.aio.insecure_channel(suite.settings.addresses[component]) as channel:
            for service, method in ((s, m) for s in services for m in s.methods):
                path = f"/{service.full_name}/{method.name}"
                binding = STREAM_BINDING if method.client_streaming else request_binding(MALFORMED)
                actor = GATEWAY_ACTOR if method.client_streaming else DEMO_EHR_ACTOR
                token = signer.sign(Assertion(method=path, actor=actor), component, request=binding)
                answers[path] = await refusal(channel, path, method, MALFORMED, ((METADATA_KEY, token),))
                expected[path] = (grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST", ERROR_DOMAIN)
    assert answers == expected
    assert_quiet(caplog)


async def test_a_backend_refuses_undecodable_bytes_without_an_assertion_as_unauthenticated(suite):
    """Only an admitted caller learns whether its bytes could be read."""
    service = backend("summary").service
    method = service.methods_by_name["GetPatientSummary"]
    path = f"/{service.full_name}/{method.name}"
    async with grpc.aio.insecure_channel(suite.settings.addresses["summary"]) as channel:
        code, _, _ = await refusal(channel, path, method, MALFORMED)
    assert code == grpc.StatusCode.UNAUTHENTICATED


async def test_health_refuses_undecodable_bytes_on_every_process(suite, caplog):
    from grpc_health.v1 import health_pb2

    method = health_pb2.DESCRIPTOR.services_by_name["Health"].methods_by_name["Check"]
    for address in [suite.settings.addresses[c] for c in (*BACKENDS, "gateway")]:
        async with grpc.aio.insecure_channel(address) as channel:
            answer = await refusal(channel, "/grpc.health.v1.Health/Check", method, MALFORMED)
        assert answer == (grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST", ERROR_DOMAIN)
    assert_quiet(caplog)


async def test_a_method_no_server_has_is_unimplemented_with_the_error_model_on_every_process(suite, caplog):
    """gRPC's own answer to an unknown method carries no ErrorInfo; ours does, for every call
    shape, and the same with or without an assertion."""
    from grpc_health.v1 import health_pb2

    shapes = health_pb2.DESCRIPTOR.services_by_name["Health"].methods_by_name  # Check: unary; Watch: server stream
    for address in [suite.settings.addresses[c] for c in (*BACKENDS, "gateway")]:
        async with grpc.aio.insecure_channel(address) as channel:
            for path in ("/samhandling.summary.v1.SummaryService/NoSuchMethod", "/no.such.Service/Check"):
                for shape in (shapes["Check"], shapes["Watch"]):
                    answer = await refusal(channel, path, shape, b"")
                    assert answer == (grpc.StatusCode.UNIMPLEMENTED, "METHOD_NOT_FOUND", ERROR_DOMAIN), (address, path)
    assert_quiet(caplog)


SECRET = "note for 22750884907: not for the log"


async def refused_by(handler: Callable[[bytes, Any], Awaitable[bytes]]) -> pytest.ExceptionInfo[grpc.aio.AioRpcError]:
    """Serves `handler` as /test.Handler/Call behind the service interceptor and calls it once;
    the call's error."""
    server = GrpcServer(
        "handler",
        "127.0.0.1:0",
        interceptors=[ServiceInterceptor()],
        generic_handlers=[
            grpc.method_handlers_generic_handler("test.Handler", {"Call": grpc.unary_unary_rpc_method_handler(handler)})
        ],
    )
    port = await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await channel.unary_unary("/test.Handler/Call")(b"", timeout=10)
    finally:
        await server.stop(0)
    return err


@pytest.mark.parametrize(
    "raised",
    [
        ValueError(SECRET),
        # A failed call to another service that the handler let through (the gateway turns those
        # into the error model itself; one forgotten would otherwise be UNKNOWN).
        grpc.aio.AioRpcError(grpc.StatusCode.NOT_FOUND, grpc.aio.Metadata(), grpc.aio.Metadata(), SECRET),
    ],
    ids=["ValueError", "AioRpcError"],
)
async def test_an_unexpected_error_in_a_handler_is_internal_with_the_error_model_and_one_quiet_log_line(caplog, raised):
    """Whatever a handler raises unexpectedly is INTERNAL with ErrorInfo and a generic message,
    logged once as one line: the exception's class and frames, not its message or a traceback."""
    secret = SECRET

    async def broken(request: bytes, context) -> bytes:
        raise raised

    err = await refused_by(broken)
    assert error_model(err.value) == (grpc.StatusCode.INTERNAL, "INTERNAL", ERROR_DOMAIN)
    assert err.value.details() == "internal error"
    # Ours only: gRPC's poller of an earlier test's closed event loop may log "Event loop is
    # closed" through asyncio in this worker meanwhile (seen under load), which is not this call's.
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith(("services.", "gateway."))]
    assert [(r.name, r.getMessage(), r.error, r.exc_info) for r in logged] == [
        ("services.platform.interceptors", "unhandled error", type(raised).__name__, None)
    ]
    assert "test_wire_errors.py" in logged[0].at and secret not in repr(vars(logged[0]))


async def test_an_error_naming_a_long_input_keeps_its_code_and_reason(caplog):
    """The status travels in trailers a client accepts up to 8 KiB: an error echoing a long
    input (a 5000-character unit id, say) must not turn into the client's RESOURCE_EXHAUSTED."""
    long = "æ" * 5000
    violations = {f"field_{i}_{long}": f"bad: {long}" for i in range(20)}

    async def refusing(request: bytes, context) -> bytes:
        raise ServiceError(grpc.StatusCode.NOT_FOUND, "UNIT_NOT_FOUND", f"no unit {long}", violations, {"unit": long})

    err = await refused_by(refusing)
    assert error_model(err.value) == (grpc.StatusCode.NOT_FOUND, "UNIT_NOT_FOUND", ERROR_DOMAIN)
    message = err.value.details()
    assert message.startswith("no unit æ") and message.endswith("…") and len(message.encode()) <= 200
    violations = error_info(err.value)[1]
    assert 0 < len(violations) < 20 and all(len(d.encode()) <= 160 for d in violations.values())


def test_a_status_contradicting_its_call_is_not_relayed_as_the_error_model():
    """A call whose code is not the code of the google.rpc status it carries (the transport
    replaced it) has no ErrorInfo to relay; the gateway answers BACKEND_UNAVAILABLE instead."""
    status = ServiceError(grpc.StatusCode.NOT_FOUND, "UNIT_NOT_FOUND", "no such unit").to_status()
    replaced = grpc.aio.AioRpcError(
        grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.aio.Metadata(), grpc.aio.Metadata(*status.trailing_metadata), "removed"
    )
    assert error_info(replaced) == ("", {})
    relayed = RelayedError(replaced)
    assert (relayed.code, relayed.reason) == (grpc.StatusCode.UNAVAILABLE, "BACKEND_UNAVAILABLE")
    assert relayed.to_status().code == grpc.StatusCode.UNAVAILABLE


async def test_a_request_stream_is_refused_at_its_first_undecodable_message(suite):
    """The policy watch (consent's request stream): a subscription, then bytes that are no
    acknowledgement, ends the stream with MALFORMED_REQUEST, not quietly."""
    from samhandling.consent.v1 import consent_pb2

    path = "/samhandling.consent.v1.ConsentService/WatchPolicyChanges"
    signer = AssertionSigner(load_jwk(suite.settings.assertion_signing_key(), suite.settings))
    token = signer.sign(Assertion(method=path, actor=GATEWAY_ACTOR), "consent", request=STREAM_BINDING)
    subscribe = consent_pb2.WatchPolicyChangesRequest(
        subscribe=consent_pb2.WatchPolicyChangesRequest.Subscribe(subscriber_id="wire-test")
    ).SerializeToString()
    async with grpc.aio.insecure_channel(suite.settings.addresses["consent"]) as channel:
        call = channel.stream_stream(path)(iter([subscribe, MALFORMED]), metadata=((METADATA_KEY, token),), timeout=10)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            async for _ in call:
                pass
    assert error_model(err.value) == (grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST", ERROR_DOMAIN)
