"""OpenTelemetry wiring. Configured only through the standard OTEL_* variables. OTEL_TRACES_EXPORTER
(traces) and OTEL_METRICS_EXPORTER (metrics) name the exporters; unset, a signal goes through
OTLP only if an OTLP endpoint is set for it (OTEL_EXPORTER_OTLP_ENDPOINT or the signal's own),
unlike the SDK's default (otlp to localhost), so a laptop run sends nothing anywhere. Where the
OTLP exporters send, and how often metrics go, are the SDK's own variables
(OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, OTEL_METRIC_EXPORT_INTERVAL,
...); docs/observability.md lists them and every metric.

Without a trace exporter, tracing costs next to nothing (docs/observability.md "Without an
exporter"): a provider with no span processor gets no OpenTelemetry interceptors at all. Each
call a server handles still runs in a trace context of its own, set by `_TraceIdInterceptor`: the
caller's W3C traceparent if it sent one, else a trace id of fresh random bits, in a non-recording
span; so `current_trace_id()` (the id the gateway writes into audit events and assertions) works
as with tracing on. Nothing is propagated to the backends then: no one records a trace to join,
and each backend call's assertion carries the trace id anyway."""

from __future__ import annotations

import inspect
import os
import random
from collections.abc import Mapping
from typing import Any

import grpc
from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.grpc import aio_client_interceptors
from opentelemetry.instrumentation.grpc._aio_server import OpenTelemetryAioServerInterceptor
from opentelemetry.instrumentation.grpc.version import __version__ as grpc_instrumentation_version
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import INVALID_SPAN_ID, INVALID_TRACE_ID, NonRecordingSpan, SpanContext, TraceFlags


def _resource(component: str, env: Mapping[str, str]) -> Resource:
    """service.name from OTEL_SERVICE_NAME, else samhandling-<component>; OTEL_RESOURCE_ATTRIBUTES
    adds the rest (e.g. the pod's name as service.instance.id)."""
    return Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or f"samhandling-{component}"})


def make_tracer_provider(component: str, environ: Mapping[str, str] | None = None) -> TracerProvider:
    """A provider exporting through the exporters OTEL_TRACES_EXPORTER names. With none, its
    sampler records nothing: the spans the JSON API still starts (gateway/http) only carry
    their ids, and `traces` says no, so the servers and channels get no tracing interceptors."""
    env = os.environ if environ is None else environ
    names = exporter_names(env, "TRACES")
    resource = _resource(component, env)
    provider = TracerProvider(resource=resource) if names else TracerProvider(sampler=ALWAYS_OFF, resource=resource)
    for name in names:
        provider.add_span_processor(
            BatchSpanProcessor(ConsoleSpanExporter() if name == "console" else OTLPSpanExporter())
        )
    return provider


def traces(provider: trace.TracerProvider) -> bool:
    """Whether spans of `provider` go anywhere: it has a span processor (an exporter, or a test's
    in-memory one). Decided when a server or channel is built: add processors before that.

    The SDK has no public way to ask; `_active_span_processor._span_processors` is where
    TracerProvider.add_span_processor puts them (SDK 1.x), and tests/unit/test_telemetry.py
    fails if that changes."""
    if not isinstance(provider, TracerProvider):  # another SDK's: it may record; the API's no-op does not
        return not isinstance(provider, trace.NoOpTracerProvider)
    return bool(provider._active_span_processor._span_processors)


def make_meter_provider(component: str, environ: Mapping[str, str] | None = None) -> MeterProvider:
    """A meter provider that exports every OTEL_METRIC_EXPORT_INTERVAL ms (the SDK's default:
    60 000) through the exporters OTEL_METRICS_EXPORTER names; none unless it names one."""
    env = os.environ if environ is None else environ
    exporters: list[MetricExporter] = [
        ConsoleMetricExporter() if name == "console" else OTLPMetricExporter()
        for name in exporter_names(env, "METRICS")
    ]
    return MeterProvider(
        metric_readers=[PeriodicExportingMetricReader(e) for e in exporters], resource=_resource(component, env)
    )


def metrics_exported() -> bool:
    """Whether the global meter provider exports (`samhandling serve` sets one only when an
    exporter is named, so without one every instrument is the API's no-op)."""
    return isinstance(metrics.get_meter_provider(), MeterProvider)


def exporter_names(env: Mapping[str, str], signal: str) -> list[str]:
    """The exporters OTEL_<signal>_EXPORTER names (none, console, otlp; comma-separated), refusing
    others; unset: otlp if an OTLP endpoint is set for the signal, else none."""
    variable = f"OTEL_{signal}_EXPORTER"
    endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")
    names = []
    for name in (n.strip() for n in env.get(variable, "otlp" if endpoint else "none").split(",")):
        if name in ("", "none"):
            continue
        if name not in ("console", "otlp"):
            raise ValueError(f"{variable}: unsupported exporter {name!r} (use none, console or otlp)")
        names.append(name)
    return names


class _ServerInterceptor(OpenTelemetryAioServerInterceptor):
    """OpenTelemetry's aio server interceptor, fixed for response streams that are written
    with `await context.write(...)` by a coroutine rather than yielded by an async generator
    (grpc.health.v1.Health/Watch is one).

    Upstream wraps every response-streaming behaviour in an async generator that does
    `async for response in behavior(...)`; for a coroutine that fails with UNKNOWN ("'async
    for' requires an object with __aiter__ method, got coroutine"),
    open-telemetry/opentelemetry-python-contrib#3066. gRPC decides how to run a stream
    handler by its kind (coroutine function: the handler writes; async generator function:
    gRPC writes what it yields), so a coroutine gets upstream's coroutine wrapper, which
    awaits it inside the same span: still traced, and its writes go through untouched.

    It overrides a private method of the instrumentation; tests/integration/test_health.py
    fails if a new version changes it (and tells when upstream no longer needs the fix)."""

    def _intercept_aio_server_stream(self, behavior: Any, handler_call_details: grpc.HandlerCallDetails) -> Any:
        if inspect.iscoroutinefunction(behavior):
            return self._intercept_aio_server_unary(behavior, handler_call_details)
        return super()._intercept_aio_server_stream(behavior, handler_call_details)


class _TraceIdInterceptor(grpc.aio.ServerInterceptor):
    """Gives each call a trace context without recording anything: the caller's traceparent
    (W3C, through the global propagator as OpenTelemetry's interceptor reads it) when it sent
    one, else a random trace id. The context is attached in the call's own task (grpc.aio runs
    the interceptors and then the handler in one task per call), so it ends with the call."""

    async def intercept_service(
        self, continuation: Any, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler:
        for key, _ in handler_call_details.invocation_metadata or ():
            if key == "traceparent":
                carrier = dict(handler_call_details.invocation_metadata or ())
                span = trace.get_current_span(propagate.extract(carrier))
                if span.get_span_context().is_valid:
                    otel_context.attach(trace.set_span_in_context(span))
                    return await continuation(handler_call_details)
                break
        otel_context.attach(trace.set_span_in_context(NonRecordingSpan(_fresh_span_context())))
        return await continuation(handler_call_details)


def _fresh_span_context() -> SpanContext:
    """A new trace's ids, from random bits as the SDK's RandomIdGenerator makes them."""
    trace_id = random.getrandbits(128)
    span_id = random.getrandbits(64)
    while trace_id == INVALID_TRACE_ID:  # 0: one chance in 2**128, but invalid
        trace_id = random.getrandbits(128)
    while span_id == INVALID_SPAN_ID:
        span_id = random.getrandbits(64)
    return SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.DEFAULT))


def server_interceptor(provider: TracerProvider) -> grpc.aio.ServerInterceptor:
    """OpenTelemetry's server interceptor when `provider` traces, else one that only gives each
    call a trace id (module docstring)."""
    if not traces(provider):
        return _TraceIdInterceptor()
    tracer = trace.get_tracer(
        "opentelemetry.instrumentation.grpc",
        grpc_instrumentation_version,
        provider,
        schema_url="https://opentelemetry.io/schemas/1.11.0",
    )  # as upstream's aio_server_interceptor names it
    return _ServerInterceptor(tracer)


def client_interceptors(provider: TracerProvider) -> list[grpc.aio.ClientInterceptor]:
    """OpenTelemetry's client interceptors (a span per call, the traceparent sent along) when
    `provider` traces; else none: grpc.aio's interceptor machinery costs every call even when
    the interceptor does nothing."""
    return aio_client_interceptors(tracer_provider=provider) if traces(provider) else []


def current_trace_id() -> str:
    """The W3C trace id of the active span, 32 hex digits, or "" outside a trace."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""
