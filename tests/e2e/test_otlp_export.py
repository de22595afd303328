"""Metrics and traces through OTLP (docs/observability.md): every component as a real
`samhandling serve` process, configured only by the standard OTEL_* variables, export to a real OTLP/gRPC receiver run
here (the collector's MetricsService and TraceService, from opentelemetry-proto's stubs)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from services.cli import children
from services.cli.database_setup import migrate_all, seed_all
from services.cli.health import component_status
from services.platform.health import READINESS
from services.platform.settings import Settings
from tests.fixtures import people
from tests.fixtures.postgres import free_port
from tests.fixtures.up import COMPONENTS, samhandling

pytestmark = pytest.mark.e2e

PATIENT = people.ESKIL

WAIT_SECONDS = 60.0  # upper bound on the suite starting and on a metric arriving
SUMMARY = ("samhandling.summary.v1.PatientSummaryService", "GetPatientSummary")
CAPACITY = ("samhandling.capacity.v1.CapacityService", "GetCapacityOverview")
RPC_ATTRIBUTES = {"rpc.system", "rpc.service", "rpc.method", "rpc.grpc.status_code"}


def _value(value: AnyValue) -> Any:
    return getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None


def _attributes(pairs: list[KeyValue]) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs}


@dataclass(frozen=True)
class Point:
    service: str  # the exporting process's service.name
    metric: str
    unit: str
    attributes: dict[str, Any]
    value: float | None  # a gauge's or a sum's value; None for a histogram


@dataclass
class Receiver:
    """What the processes exported so far (the two OTLP services write it from their threads)."""

    points: list[Point] = field(default_factory=list)
    spans: list[tuple[str, str, bytes]] = field(default_factory=list)  # service, span name, trace id
    lock: threading.Lock = field(default_factory=threading.Lock)

    def found(self, service: str, metric: str, **attributes: Any) -> list[Point]:
        with self.lock:
            return [
                p
                for p in self.points
                if p.service == service
                and p.metric == metric
                and all(p.attributes.get(k) == v for k, v in attributes.items())
            ]

    def wait(self, what: str, condition: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + WAIT_SECONDS
        while not (answer := condition()):
            assert time.monotonic() < deadline, f"never arrived: {what}"
            time.sleep(0.1)  # polling what the receiver got, with a deadline
        return answer


class _Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, receiver: Receiver) -> None:
        self._receiver = receiver

    def Export(self, request: metrics_service_pb2.ExportMetricsServiceRequest, context: Any) -> Any:
        points = []
        for resource in request.resource_metrics:
            service = _attributes(list(resource.resource.attributes)).get("service.name", "")
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    kind = metric.WhichOneof("data")
                    for point in getattr(metric, kind).data_points:
                        value = (
                            None
                            if kind == "histogram"
                            else (point.as_double if point.WhichOneof("value") == "as_double" else point.as_int)
                        )
                        points.append(
                            Point(service, metric.name, metric.unit, _attributes(list(point.attributes)), value)
                        )
        with self._receiver.lock:
            self._receiver.points += points
        return metrics_service_pb2.ExportMetricsServiceResponse()


class _Traces(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, receiver: Receiver) -> None:
        self._receiver = receiver

    def Export(self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any) -> Any:
        spans = []
        for resource in request.resource_spans:
            service = _attributes(list(resource.resource.attributes)).get("service.name", "")
            for scope in resource.scope_spans:
                spans += [(service, span.name, span.trace_id) for span in scope.spans]
        with self._receiver.lock:
            self._receiver.spans += spans
        return trace_service_pb2.ExportTraceServiceResponse()


def ready(address: str) -> bool:
    """Whether the server at `address` reports its `readiness` health service SERVING."""
    with grpc.insecure_channel(address) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=READINESS), timeout=1.0
            )
        except grpc.RpcError:
            return False
    return answer.status == health_pb2.HealthCheckResponse.SERVING


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, int]]:
    received = Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Metrics(received), server)
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Traces(received), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield received, port
    finally:
        server.stop(0)


def test_every_process_exports_its_metrics_and_traces_through_otlp(tmp_path, receiver) -> None:
    received, port = receiver
    env = {**os.environ, "SAMHANDLING_VAR_DIR": str(tmp_path / "var")}
    env.update({f"SAMHANDLING_{c.upper()}_ADDR": f"127.0.0.1:{free_port()}" for c in (*COMPONENTS, "gateway_http")})
    env.pop("OTEL_SERVICE_NAME", None)  # each process names itself samhandling-<component>
    env.update(
        {
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
            "OTEL_METRIC_EXPORT_INTERVAL": "300",
            "OTEL_BSP_SCHEDULE_DELAY": "300",
        }
    )
    settings = Settings.from_env(env)
    migrate_all(settings)
    seed_all(settings)
    # `samhandling serve` of every component, started together (as a Deployment's pods are).
    processes = [
        children.spawn(
            [sys.executable, "-m", "services.cli.main", "serve", component],
            env=env,
            log_path=settings.var_dir / "log" / f"{component}.log",
        )
        for component in COMPONENTS
    ]
    try:

        def logs() -> str:
            return "".join(p.read_text() for p in (settings.var_dir / "log").glob("*.log"))

        def serving() -> bool:
            assert all(p.poll() is None for p in processes), logs()
            # The gateway's readiness covers its database, consent lease and audit; the STS issues the tokens.
            return (
                ready(env["SAMHANDLING_GATEWAY_ADDR"]) and asyncio.run(component_status("sts", settings)) == "SERVING"
            )

        received.wait("the gateway ready and the STS serving", serving)
        # Ready, so the lease is held: the first read is a miss of the decision cache.
        for _ in range(2):
            samhandling("call", "--client", "demo-ehr", "/".join(SUMMARY), json.dumps({"patient_id": PATIENT}), env=env)
        samhandling("call", "--client", "demo-ehr", "/".join(CAPACITY), "{}", env=env)

        # Every call, timed per method and status code, on the gateway and on the backend it called.
        for service in ("samhandling-gateway", "samhandling-summary"):
            points = received.wait(
                f"rpc.server.duration from {service}",
                lambda s=service: received.found(
                    s, "rpc.server.duration", **{"rpc.service": SUMMARY[0], "rpc.method": SUMMARY[1]}
                ),
            )
            assert points[-1].unit == "ms" and points[-1].attributes == {
                "rpc.system": "grpc",
                "rpc.service": SUMMARY[0],
                "rpc.method": SUMMARY[1],
                "rpc.grpc.status_code": 0,
            }
        received.wait(
            "AppendEvents timed on audit",
            lambda: received.found(
                "samhandling-audit", "rpc.server.duration", **{"rpc.method": "AppendEvents", "rpc.grpc.status_code": 0}
            ),
        )

        # The audit log: appends, and the checkpoint lag (caught up: the integrator signs within 0.2 s).
        assert (
            received.wait(
                "audit appends",
                lambda: received.found("samhandling-audit", "samhandling.audit.append.duration", outcome="ok"),
            )[-1].unit
            == "s"
        )
        assert received.wait(
            "events appended",
            lambda: [
                p
                for p in received.found("samhandling-audit", "samhandling.audit.events.appended")
                if p.value and p.value >= 2
            ],
        )
        for gauge in ("events", "seconds"):
            received.wait(
                f"lag {gauge} at 0",
                lambda g=gauge: [
                    p
                    for p in received.found("samhandling-audit", f"samhandling.audit.checkpoint.lag.{g}")
                    if p.value == 0
                ],
            )

        # The gateway: its decision cache and consent lease.
        assert received.wait(
            "consent lease held",
            lambda: [
                p
                for p in received.found("samhandling-gateway", "samhandling.gateway.consent_lease.held")
                if p.value == 1
            ],
        )
        assert received.wait(
            "a decision cache miss",
            lambda: [
                p
                for p in received.found(
                    "samhandling-gateway", "samhandling.gateway.decision_cache.lookups", result="miss"
                )
                if p.value
            ],
        )
        assert received.found("samhandling-gateway", "samhandling.gateway.decision_cache.lookups", result="hit")

        # What the database pools record, per state.
        assert {
            p.attributes["state"]
            for p in received.wait(
                "pool usage", lambda: received.found("samhandling-summary", "db.client.connections.usage")
            )
        } <= {"idle", "used"}

        # Bounded and private: only the fixed attribute keys, and no person number anywhere.
        with received.lock:
            points = list(received.points)
        assert all(set(p.attributes) == RPC_ATTRIBUTES for p in points if p.metric == "rpc.server.duration")
        assert not [p for p in points if PATIENT in repr(p.attributes)]

        # Traces still arrive, and one trace spans the gateway and the backend it called, for
        # either kind of backend: summary (consent decided, audited) and capacity (neither).
        def shared_trace(backend: str) -> bool:
            with received.lock:
                by_service: dict[str, set[bytes]] = {}
                for service, _name, trace_id in received.spans:
                    by_service.setdefault(service, set()).add(trace_id)
            return bool(by_service.get("samhandling-gateway", set()) & by_service.get(backend, set()))

        for backend in ("samhandling-summary", "samhandling-capacity"):
            received.wait(f"a trace across the gateway and {backend}", lambda b=backend: shared_trace(b))
    finally:
        children.stop_all(processes)
