"""OpenTelemetry wiring. Configured only through the standard OTEL_* variables; unlike the
SDK's own default (otlp), no exporter runs unless OTEL_TRACES_EXPORTER names one, so a
laptop run sends nothing anywhere."""
from __future__ import annotations

import os
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.grpc import aio_client_interceptors, aio_server_interceptor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter


def make_tracer_provider(component: str, environ: Mapping[str, str] | None = None) -> TracerProvider:
    env = os.environ if environ is None else environ
    name = env.get("OTEL_SERVICE_NAME") or f"samhandling-{component}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    for exporter in _exporters(env.get("OTEL_TRACES_EXPORTER", "none")):
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _exporters(names: str) -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    for name in (n.strip() for n in names.split(",")):
        if name in ("", "none"):
            continue
        if name == "console":
            exporters.append(ConsoleSpanExporter())
        elif name == "otlp":
            exporters.append(OTLPSpanExporter())
        else:
            raise ValueError(f"OTEL_TRACES_EXPORTER: unsupported exporter {name!r} (use none, console or otlp)")
    return exporters


def server_interceptor(provider: TracerProvider):
    return aio_server_interceptor(tracer_provider=provider)


def client_interceptors(provider: TracerProvider):
    return aio_client_interceptors(tracer_provider=provider)


def current_trace_id() -> str:
    """The W3C trace id of the active span, 32 hex digits, or "" outside a trace."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""
