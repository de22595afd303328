"""Trace ids without an exporter (services/platform/telemetry.py, docs/observability.md
"Without an exporter"): a real server whose provider has no span processor runs no
OpenTelemetry interceptor, yet every call it handles has a trace id of its own, or the
caller's when the caller sends a W3C traceparent; with a processor the calls are traced. SQL
statements get tracing hooks only where their spans go."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import text

from services.platform import telemetry
from services.platform.db import make_engine
from services.platform.interceptors import ServiceInterceptor
from services.platform.server import GrpcServer
from tests.fixtures.spans import recording_spans

SERVICE = "samhandling.test.Trace"
METHOD = f"/{SERVICE}/Id"
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"


async def trace_id(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return telemetry.current_trace_id().encode()


async def serving(provider: TracerProvider) -> AsyncIterator[grpc.aio.UnaryUnaryMultiCallable]:
    handler = grpc.method_handlers_generic_handler(SERVICE, {"Id": grpc.unary_unary_rpc_method_handler(trace_id)})
    server = GrpcServer(
        "trace",
        "127.0.0.1:0",
        interceptors=[telemetry.server_interceptor(provider), ServiceInterceptor()],
        generic_handlers=[handler],
        service_names=[SERVICE],
    )
    port = await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel.unary_unary(METHOD)
    finally:
        await server.stop(0)


@pytest.fixture
async def untraced() -> AsyncIterator[grpc.aio.UnaryUnaryMultiCallable]:
    async for call in serving(TracerProvider()):
        yield call


def test_a_provider_without_processors_gets_no_opentelemetry_interceptors() -> None:
    assert not telemetry.traces(TracerProvider())
    assert telemetry.client_interceptors(TracerProvider()) == []
    assert not isinstance(telemetry.server_interceptor(TracerProvider()), telemetry._ServerInterceptor)


async def test_each_call_has_a_fresh_trace_id(untraced) -> None:
    first, second = (await untraced(b"", timeout=5)).decode(), (await untraced(b"", timeout=5)).decode()
    assert len(first) == 32 and int(first, 16) and len(second) == 32 and int(second, 16)
    assert first != second


async def test_the_callers_traceparent_names_the_trace(untraced) -> None:
    assert (await untraced(b"", metadata=(("traceparent", TRACEPARENT),), timeout=5)).decode() == CALLER_TRACE
    # A malformed traceparent is ignored (as OpenTelemetry's propagator ignores it): a trace of its own.
    own = (await untraced(b"", metadata=(("traceparent", "00-zz-00f067aa0ba902b7-01"),), timeout=5)).decode()
    assert len(own) == 32 and own != CALLER_TRACE


async def test_with_a_processor_every_call_is_a_span_in_the_callers_trace() -> None:
    spans, provider = recording_spans()
    assert telemetry.traces(provider) and telemetry.client_interceptors(provider)
    async for call in serving(provider):
        answered = (await call(b"", metadata=(("traceparent", TRACEPARENT),), timeout=5)).decode()
    assert answered == CALLER_TRACE
    (span,) = [s for s in spans.get_finished_spans() if s.name == METHOD]
    assert format(span.context.trace_id, "032x") == CALLER_TRACE and span.parent is not None


def test_sql_statements_get_tracing_hooks_only_where_spans_go(tmp_path) -> None:
    exporter, traced = recording_spans()
    quiet = make_engine(f"sqlite:///{tmp_path / 'quiet.db'}", TracerProvider())
    loud = make_engine(f"sqlite:///{tmp_path / 'loud.db'}", traced)
    try:
        assert len(quiet.dispatch.before_cursor_execute) == 0
        with loud.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert [s.attributes.get("db.system") for s in exporter.get_finished_spans()] == ["sqlite"]
    finally:
        quiet.dispose()
        loud.dispose()
