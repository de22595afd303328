"""The audit benches count, check and report what they measure (no timings asserted)."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from sqlalchemy import inspect

from bench import audit_appends, audit_latency
from bench.audit_appends import (
    BASELINE,
    EVENTS_PER_CALL,
    GRPC,
    GRPC_2,
    READ_METHOD,
    STORE,
    AppendBench,
    AppendRun,
    Counters,
    PlainInserts,
    Sample,
    StoreAppends,
    call_records,
    calls_per_writer,
    combine,
    drive,
    measure,
    plain_table,
    replica_ratios,
)
from bench.audit_latency import ReadLatency, ReadSpans, read_spans, summarise_reads
from bench.report import replace_section
from bench.timing import Timing
from gateway.audit_client import APPEND_EVENTS
from services.audit.events import record_violations
from services.backend_lookup import backend
from services.platform.db import make_engine, make_sessions
from tests.fixtures.spans import recording_spans
from tests.support import settings_for


def t(median_ms: float) -> Timing:
    return Timing(100, median_ms * 1e6, median_ms * 1.5e6)


async def test_drive_runs_the_writers_at_once_and_times_every_call_in_order():
    made: list[tuple[int, int]] = []
    first_calls_in = asyncio.Event()

    async def append(writer: int, call: int) -> None:
        made.append((writer, call))
        if len(made) == 3:
            first_calls_in.set()
        await first_calls_in.wait()  # only returns once all three writers are inside a call

    samples, seconds = await asyncio.wait_for(drive(3, 4, append), timeout=10)
    assert len(samples) == 12 and seconds > 0
    assert sorted(made) == [(w, c) for w in range(3) for c in range(4)]
    assert [c for w, c in made if w == 1] == [0, 1, 2, 3]


class Counting:
    """A target storing `stores` events per event given, in one commit per call."""

    def __init__(self, stores: int = 1) -> None:
        self.events, self.commits, self._stores = 0, 0, stores

    def prepare(self, writers: int, calls: int):
        async def append(writer: int, call: int) -> None:
            self.events += EVENTS_PER_CALL * self._stores
            self.commits += 1

        return append

    def counters(self) -> Counters:
        return Counters(self.events, self.commits, None)


async def test_measure_counts_what_the_target_stored_and_refuses_a_run_that_lost_events():
    sample = await measure(Counting(), 2, 3)
    assert sample.counted == Counters(2 * 3 * EVENTS_PER_CALL, 6, None)
    assert len(sample.per_call_ns) == 6
    with pytest.raises(RuntimeError, match="stored 0 events"):
        await measure(Counting(stores=0), 2, 3)


def test_rounds_combine_into_one_run():
    run = combine([Sample(Counters(100, 10, 0.5), 2.0, [1, 2, 3]), Sample(Counters(300, 10, 1.5), 2.0, [4, 5])])
    assert (run.events, run.commits, run.seconds, run.per_call.calls) == (400, 20, 4.0, 5)
    assert (run.events_per_second, run.events_per_commit, run.cores_busy) == (100.0, 20.0, 0.5)
    assert combine([Sample(Counters(1, 1, None), 1.0, [1])]).cores_busy is None


def test_the_bench_events_are_valid_audit_records_one_per_decision():
    records = call_records()
    assert len(records) == EVENTS_PER_CALL
    assert [record_violations(r) for r in records] == [{}] * EVENTS_PER_CALL
    assert len({r.idempotency_key for r in records + call_records()}) == 2 * EVENTS_PER_CALL


async def test_baseline_and_store_count_the_rows_and_commits_in_the_database(tmp_path):
    settings = settings_for(tmp_path)
    backend("audit").migrate(settings)
    engine = make_engine(settings.database_url("audit"))
    try:
        sessions = make_sessions(engine)
        table = plain_table(engine)
        schema = inspect(engine)
        assert [(c["name"], str(c["type"])) for c in schema.get_columns(table.name)] == [
            (c["name"], str(c["type"])) for c in schema.get_columns("audit_events")
        ]
        assert _indexes(schema, table.name) == _indexes(schema, "audit_events")
        store = StoreAppends(sessions, settings)
        try:
            for target in (PlainInserts(sessions, table), store):
                sample = await measure(target, 3, 2)
                assert sample.counted.events == 3 * 2 * EVENTS_PER_CALL
                assert 1 <= sample.counted.commits <= 6
                assert target.counters().events == 3 * 2 * EVENTS_PER_CALL  # a fresh table and log
        finally:
            store.close()
    finally:
        engine.dispose()


def _indexes(schema, table: str) -> list[tuple[tuple[str, ...], bool]]:
    """Columns and uniqueness of every index and unique constraint (SQLite reports both as indexes)."""
    return sorted((tuple(i["column_names"]), bool(i["unique"])) for i in schema.get_indexes(table))


def test_the_appends_report_gives_each_way_of_writing_against_the_baseline():
    runs = {
        10: {
            BASELINE: AppendRun(1000, 50, 1.0, 0.25, t(4)),
            STORE: AppendRun(1000, 50, 2.0, 1.5, t(8)),
            GRPC: AppendRun(1000, 100, 4.0, None, t(20)),
        }
    }
    text = "\n".join(audit_appends.render([AppendBench("SQLite (test)", 50, 2, 100, runs)]))
    assert "## Audit log: durable appends, SQLite (test)" in text and "50 sequential calls" in text
    assert f"| 10 | {BASELINE} | 1,000 | 20.0 | 1,000 | 1.00× | 4.00 | 6.00 | 1.00× | 0.25 | 250 |" in text
    assert f"| 10 | {STORE} | 1,000 | 20.0 | 500 | 0.50× | 8.00 | 12.00 | 2.00× | 0.75 | 1,500 |" in text
    assert f"| 10 | {GRPC} | 1,000 | 10.0 | 250 | 0.25× | 20.00 | 30.00 | 5.00× | – | – |" in text
    assert "Two audit processes" not in text  # only where two ran


def test_only_audit_replaces_each_databases_section_and_keeps_the_rest():
    runs = {10: {BASELINE: AppendRun(1000, 50, 1.0, 0.25, t(4)), GRPC: AppendRun(1000, 100, 4.0, 2.0, t(20))}}
    old = (
        "\n".join(
            audit_appends.render(
                [
                    AppendBench("SQLite (WAL) on tmpfs", 50, 2, 100, runs),
                    AppendBench("PostgreSQL (fsync=on) on ext4", 50, 2, 100, runs),
                ]
            )
        )
        + "\n## Later section\n\nkept\n"
    )
    faster = {10: {**runs[10], GRPC: AppendRun(1000, 100, 2.0, 1.0, t(10))}}
    bench = AppendBench("SQLite (WAL) on ext4", 50, 2, 100, faster)
    new = replace_section(old, audit_appends.heading(bench), "\n".join(audit_appends.render([bench])) + "\n")
    assert "SQLite (WAL) on tmpfs" not in new and "## Audit log: durable appends, SQLite (WAL) on ext4" in new
    assert f"| 10 | {GRPC} | 1,000 | 10.0 | 500 | 0.50× | 10.00 | 15.00 | 2.50× | 0.50 | 1,000 |" in new
    assert new.count(f"| 10 | {GRPC} |") == 2 and new.endswith("## Later section\n\nkept\n")


def test_the_report_gives_two_replicas_against_one_round_by_round():
    runs = {
        n: {
            BASELINE: AppendRun(1000, 50, 1.0, 0.25, t(4)),
            GRPC: AppendRun(1000, 100, 4.0, None, t(20)),
            GRPC_2: AppendRun(1000, 100, 2.0 * n, None, t(10)),
        }
        for n in (1, 10)
    }

    def rounds(seconds: list[float], cpu: float | None) -> list[Sample]:
        return [Sample(Counters(100, 10, cpu), s, [1]) for s in seconds]

    one = rounds([1.0] * 8, 0.2)
    replicas = {
        # two is 0.9×–1.2× as fast as one, round by round; it costs 1.5× the CPU in every round
        1: replica_ratios(rounds([1 / r for r in (0.9, 1.2, 1.0, 1.1, 0.95, 1.05, 1.0, 1.0)], 0.3), one),
        # two is slower in every round; its CPU cannot be read
        10: replica_ratios(rounds([1 / r for r in (0.5, 0.6, 0.7, 0.8, 0.5, 0.6, 0.7, 0.8)], None), one),
    }
    text = "\n".join(audit_appends.render([AppendBench("PostgreSQL (test)", 50, 8, 100, runs, replicas)]))
    assert f"| 10 | {GRPC_2} | 1,000 | 10.0 | 50 | 0.05× |" in text
    assert "each of the 8 rounds" in text and "93% interval" in text
    assert "| 1 | 1.00× (0.95×–1.10×; 0.90×–1.20×) | as fast within the spread | 1.50× (1.50×–1.50×; " in text
    assert "| 10 | 0.65× (0.50×–0.80×; 0.50×–0.80×) | slower | – | – |" in text
    assert "| more |" in text


def test_few_writers_make_more_calls_each_so_a_round_is_never_a_handful():
    assert [calls_per_writer(n, 10, calls_per_round=100) for n in (1, 3, 10, 100)] == [100, 34, 10, 10]


def test_one_small_run_fills_every_row_and_every_way_of_writing():
    [bench] = audit_appends.run(writers=(1, 2), calls=1, rounds=1, postgres=False, calls_per_round=1)
    assert bench.database.startswith("SQLite")
    assert {n: {path: r.events for path, r in by_path.items()} for n, by_path in bench.runs.items()} == {
        n: {BASELINE: n * EVENTS_PER_CALL, STORE: n * EVENTS_PER_CALL, GRPC: n * EVENTS_PER_CALL} for n in (1, 2)
    }


def _spans(*reads: tuple[int, int, int] | None) -> list:
    """Traces as the suite makes them: the gateway's read span, its AppendEvents call, the audit
    service's span of it, and the summary service's span (same name as the read, not a root);
    None makes a read without an append. Times in ns from 0."""
    exporter, provider = recording_spans()
    tracer = provider.get_tracer("test")
    for read in reads:
        root = tracer.start_span(READ_METHOD, kind=SpanKind.SERVER, start_time=0)
        inside = trace.set_span_in_context(root)
        if read is not None:
            gateway, append, audit_server = read
            client = tracer.start_span(APPEND_EVENTS, inside, kind=SpanKind.CLIENT, start_time=100)
            tracer.start_span(
                APPEND_EVENTS, trace.set_span_in_context(client), kind=SpanKind.SERVER, start_time=200
            ).end(end_time=200 + audit_server)
            client.end(end_time=100 + append)
            tracer.start_span(READ_METHOD, inside, kind=SpanKind.SERVER, start_time=append + 200).end(
                end_time=append + 300
            )
            root.end(end_time=gateway)
        else:
            root.end(end_time=1000)
    tracer.start_span("POST /connect/token", kind=SpanKind.SERVER, start_time=0).end(end_time=5)
    return list(exporter.get_finished_spans())


def test_each_read_is_split_into_its_gateway_and_audit_spans():
    reads = read_spans(_spans((10_000, 6_000, 4_000), (20_000, 5_000, 3_000)))
    assert reads == [ReadSpans(10_000, 6_000, 4_000), ReadSpans(20_000, 5_000, 3_000)]
    assert [r.share for r in reads] == [0.6, 0.25]
    with pytest.raises(RuntimeError, match="no AppendEvents"):
        read_spans(_spans((10_000, 6_000, 4_000), None))


def test_the_read_latency_report_gives_the_append_share_and_the_baseline():
    reads = [ReadSpans(10_000_000, 6_000_000, 4_000_000)] * 3
    with pytest.raises(RuntimeError, match="3 reads made, 2 traced"):
        summarise_reads(1, t(9), [1, 2, 3], reads[:2], t(2))
    result = summarise_reads(1, t(9), [11_000_000] * 3, reads, t(2))
    assert isinstance(result, ReadLatency) and (result.share_median, result.share_p95) == (0.6, 0.6)
    text = "\n".join(audit_latency.render([result]))
    assert (
        "| 1 | 3 | 9.00 (13.50) | 11.00 (11.00) | 10.00 (10.00) | 6.00 (6.00) | 60% (60%) | 4.00 (4.00) | "
        "2.00 (3.00) | 3.00× |" in text
    )
