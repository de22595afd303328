"""Which exporters the standard OTEL_* variables turn on (services/platform/telemetry.py):
nothing unless asked, where asking is naming an exporter or setting an OTLP endpoint."""

from __future__ import annotations

import pytest

from services.platform.telemetry import (
    current_trace_id,
    exporter_names,
    make_meter_provider,
    make_tracer_provider,
    traces,
)

ENDPOINT = "http://otel-collector:4317"


@pytest.mark.parametrize(
    ("env", "traces", "metrics"),
    [
        ({}, [], []),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, ["otlp"], ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": ENDPOINT}, [], ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_METRICS_EXPORTER": "none"}, ["otlp"], []),
        (
            {"OTEL_METRICS_EXPORTER": "console, otlp", "OTEL_TRACES_EXPORTER": "console"},
            ["console"],
            ["console", "otlp"],
        ),
    ],
    ids=["nothing", "endpoint", "metrics-endpoint", "endpoint-but-none", "named"],
)
def test_exporters_run_only_when_asked_for(env: dict[str, str], traces: list[str], metrics: list[str]) -> None:
    assert exporter_names(env, "TRACES") == traces
    assert exporter_names(env, "METRICS") == metrics


def test_an_unknown_exporter_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="OTEL_METRICS_EXPORTER: unsupported exporter 'prometheus'"):
        make_meter_provider("audit", {"OTEL_METRICS_EXPORTER": "prometheus"})


def test_without_a_trace_exporter_the_provider_records_nothing_but_spans_have_ids() -> None:
    provider = make_tracer_provider("gateway", {})
    assert not traces(provider)
    with provider.get_tracer("t").start_as_current_span("call") as span:
        assert not span.is_recording() and len(current_trace_id()) == 32


def test_with_a_trace_exporter_the_provider_traces() -> None:
    provider = make_tracer_provider("gateway", {"OTEL_TRACES_EXPORTER": "console"})
    try:
        assert traces(provider)
        with provider.get_tracer("t").start_as_current_span("call") as span:
            assert span.is_recording()
    finally:
        provider.shutdown()
