"""The latency the durable audit append adds to a gateway read, and its share of the read.

The whole suite runs in this process (tests/support.py `running_suite`: the STS, the four
backends on SQLite and the gateway, each on port 0) with an OpenTelemetry tracer provider that
keeps every span in memory. demo-ehr calls GetPatientSummary for a patient it may read, from 1
and then 10 concurrent readers, once the decision cache holds its lease (so no consent round
trip). The gateway records the read's two decisions with AppendEvents beside its call to the
summary service and releases the answer only once both have succeeded (docs/gateway-request-path.md):
the read cannot be faster than that append, though the summary call overlaps it. Each level is
timed first with the spans thrown away, then with them kept. For every traced read, its trace
gives

- the gateway's server span of GetPatientSummary: the read as the gateway serves it;
- the gateway's client span of AppendEvents: how long the read waited for the audit log (the
  call, the audit service's work and its durable commit);
- the audit service's server span of AppendEvents: the audit service's part of that.

The share is the client span over the gateway span, read by read. For scale, in the same run
and at the same concurrency, the baseline of bench/audit_appends.py: plain batched INSERTs of
the same two rows into a table with the same columns, in the same audit database file, through
the same group commit."""

from __future__ import annotations

import asyncio
import gc
import tempfile
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.audit_client import APPEND_EVENTS, SHARED_APPEND_SPAN
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.platform.db import make_engine, make_sessions
from tests.support import running_suite

from .audit_appends import READ_METHOD, PlainInserts, combine, measure, plain_table
from .consent_decisions import PATIENT
from .gateway_cache import LEASE_TIMEOUT_SECONDS, timed_reads
from .report import ms, table, times
from .timing import Timing, summarise

READERS = (1, 10)
CALLS = 200  # per number of readers, shared out among them
WARMUP_CALLS = 20


@dataclass(frozen=True)
class ReadSpans:
    """One read's spans, in nanoseconds."""

    gateway: int
    append: int  # AppendEvents as the gateway waited for it
    audit_server: int  # AppendEvents inside the audit service

    @property
    def share(self) -> float:
        return self.append / self.gateway


@dataclass(frozen=True)
class ReadLatency:
    readers: int
    untraced: Timing  # per GetPatientSummary, as the client saw it, spans not kept
    read: Timing  # the same, traced
    gateway: Timing
    append: Timing
    audit_server: Timing
    share_median: float  # per read, append over gateway
    share_p95: float
    plain: Timing  # the baseline: plain batched INSERT of the same two rows, per call


class Recording(SimpleSpanProcessor):
    """Keeps ended spans only while `on`, so reads can be timed with and without the export."""

    on = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.on:
            super().on_end(span)


def read_spans(spans: Sequence[ReadableSpan]) -> list[ReadSpans]:
    """The spans of each traced GetPatientSummary served by the gateway, in the order the reads
    ended. A read whose audit append is missing from its trace stops the bench."""
    by_trace: dict[int, list[ReadableSpan]] = defaultdict(list)
    for span in spans:
        by_trace[span.context.trace_id].append(span)
    # A call shared by concurrent reads is a trace of its own, linked to each read's span.
    shared_by_read: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        if span.name == SHARED_APPEND_SPAN:
            for link in span.links:
                shared_by_read[link.context.trace_id] = by_trace[span.context.trace_id]
    reads = []
    for trace_id, trace in by_trace.items():
        root = next(
            (s for s in trace if s.parent is None and s.kind == SpanKind.SERVER and s.name == READ_METHOD), None
        )
        if root is None:
            continue
        appended = [*trace, *shared_by_read.get(trace_id, [])]

        def took(kind: SpanKind, trace: list[ReadableSpan] = appended) -> int:
            return sum(_duration(s) for s in trace if s.kind == kind and s.name == APPEND_EVENTS)

        append, audit_server = took(SpanKind.CLIENT), took(SpanKind.SERVER)
        if not append or not audit_server:
            raise RuntimeError("a read's trace holds no AppendEvents; the bench measures reads that are audited")
        reads.append((root.end_time, ReadSpans(_duration(root), append, audit_server)))
    return [spans for _, spans in sorted(reads, key=lambda r: r[0] or 0)]


def _duration(span: ReadableSpan) -> int:
    return (span.end_time or 0) - (span.start_time or 0)


def summarise_reads(
    readers: int, untraced: Timing, read_ns: list[int], reads: list[ReadSpans], plain: Timing
) -> ReadLatency:
    if len(reads) != len(read_ns):
        raise RuntimeError(f"{len(read_ns)} reads made, {len(reads)} traced")
    shares = summarise([r.share for r in reads])  # fractions, summarised like times
    return ReadLatency(
        readers,
        untraced,
        summarise(read_ns),
        summarise([r.gateway for r in reads]),
        summarise([r.append for r in reads]),
        summarise([r.audit_server for r in reads]),
        shares.median_ns,
        shares.p95_ns,
        plain,
    )


async def _run(readers: Sequence[int], calls: int, warmup: int) -> list[ReadLatency]:
    exporter = InMemorySpanExporter()
    recording = Recording(exporter)
    provider = TracerProvider()
    provider.add_span_processor(recording)
    results = []
    with tempfile.TemporaryDirectory(prefix="samhandling-bench-") as tmp:
        async with running_suite(Path(tmp), tracer_provider=provider) as suite:
            await asyncio.wait_for(suite.app.watch.leased(), LEASE_TIMEOUT_SECONDS)
            stub = summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway)
            metadata = await suite.auth("demo-ehr")
            request = summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT)

            reader = partial(timed_reads, stub, request, metadata)

            engine = make_engine(suite.settings.database_url("audit"))  # the file the audit service writes
            try:
                baseline = PlainInserts(make_sessions(engine), plain_table(engine))
                await measure(baseline, 1, 5)  # untimed warm-up
                await reader(warmup)
                for n in readers:
                    per_reader = calls // n
                    untraced = await _concurrently(n, per_reader, reader)
                    exporter.clear()
                    recording.on = True
                    read_ns = await _concurrently(n, per_reader, reader)
                    recording.on = False
                    reads = read_spans(exporter.get_finished_spans())
                    plain = combine([await measure(baseline, n, per_reader)]).per_call
                    results.append(summarise_reads(n, summarise(untraced), read_ns, reads, plain))
            finally:
                engine.dispose()
    return results


async def _concurrently(readers: int, calls: int, reader: Callable[[int], Awaitable[list[int]]]) -> list[int]:
    gc.collect()
    timed = await asyncio.gather(*(reader(calls) for _ in range(readers)))
    return [ns for samples in timed for ns in samples]


def run(readers: Sequence[int] = READERS, calls: int = CALLS, warmup: int = WARMUP_CALLS) -> list[ReadLatency]:
    return asyncio.run(_run(readers, calls, warmup))


def render(results: Sequence[ReadLatency]) -> list[str]:
    rows = [
        [
            str(r.readers),
            str(r.read.calls),
            f"{ms(r.untraced.median_ns)} ({ms(r.untraced.p95_ns)})",
            f"{ms(r.read.median_ns)} ({ms(r.read.p95_ns)})",
            f"{ms(r.gateway.median_ns)} ({ms(r.gateway.p95_ns)})",
            f"{ms(r.append.median_ns)} ({ms(r.append.p95_ns)})",
            f"{r.share_median:.0%} ({r.share_p95:.0%})",
            f"{ms(r.audit_server.median_ns)} ({ms(r.audit_server.p95_ns)})",
            f"{ms(r.plain.median_ns)} ({ms(r.plain.p95_ns)})",
            times(r.append.ratio(r.plain)),
        ]
        for r in results
    ]
    return [
        "## Audit append on a gateway read: GetPatientSummary, ms",
        "",
        "Median (p95). The whole suite in this process on SQLite, traced in memory; the decision cache holds its "
        "lease. From each read's trace: the gateway's span, the gateway's AppendEvents call (the answer waits for "
        "it; the summary call runs beside it) and the audit service's own AppendEvents span. Share: AppendEvents over the gateway span, read by "
        "read. Baseline, same run and concurrency: plain batched INSERTs of the same two rows into the same "
        "audit database file, same group commit.",
        "",
        *table(
            [
                "readers",
                "reads",
                "read, untraced",
                "read, traced",
                "gateway span",
                "AppendEvents, as the gateway waits",
                "share of the gateway span",
                "AppendEvents in the audit service",
                "baseline: plain INSERT",
                "AppendEvents × baseline",
            ],
            rows,
        ),
        "",
    ]
