"""Durable appends per second into the audit log at 1, 10 and 100 concurrent writers, side by
side with the cheapest durable write of the same rows, in the same run and the same database.

Three ways of writing take turns, round by round:

- the baseline: plain batched INSERTs of the same rows into `bench_plain_events`, a table the
  bench creates in the log's database with the same columns and indexes, through the same group
  commit (services.audit.group_commit) — no head lock, idempotency lookup, leaf hash, tree nodes
  or checkpoint;
- the audit store in-process: `AuditStore.append` behind `GroupCommit`, wired exactly as
  AuditApi wires it, with the log's integrator (tree nodes, signed checkpoints) running beside it;
- AppendEvents over gRPC to the audit service, run as `samhandling serve audit` in its own
  process on the same database;
- on PostgreSQL also AppendEvents to two such processes (replicas) on the one database, each
  call sent as the gateway sends it, to the replica with the fewest calls in flight
  (services.platform.replica_set: a lone writer stays on one, concurrent ones spread); each round's
  pair of gRPC ways gives one ratio of two over one, reported with the median's interval
  (bench.paired_ratios).

Each writer makes a fixed number of sequential calls of two events (what one
GetPatientSummary records), timed one by one. The database is fresh, migrated by the audit
migrations and opened by make_engine (SQLite: WAL, synchronous=FULL). After every run the bench
reads back from the database that each event was stored, and how many transactions it took
(the log's: its distinct stored_at times, one per append transaction)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

import grpc
from sqlalchemy import Column, Engine, Index, MetaData, Table, func, insert, select
from sqlalchemy.orm import sessionmaker

from gateway.audit_client import APPEND_EVENTS, GATEWAY_ACTOR
from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from samhandling.common.v1 import common_pb2
from services.audit.events import Action, AuditRecord, StoredEvent
from services.audit.group_commit import GroupCommit
from services.audit.integrator import Integrator
from services.audit.models import AuditEventRow, LogHeadRow
from services.audit.signer import load_log_signer
from services.audit.store import AuditStore
from services.backend_lookup import backend
from services.cli.health import component_status
from services.platform.channels import open_channel
from services.platform.db import make_engine, make_sessions
from services.platform.protomap import to_enum, to_timestamp
from services.platform.readiness import channel_ready
from services.platform.replica_set import ReplicaSet, replica_set
from services.platform.settings import REPO_ROOT, Settings
from services.platform.vocabulary import AccessBasis, ActorKind, Decision, PurposeOfUse
from tests.fixtures import postgres as pg
from tests.support import BindsAssertions, asserted, settings_for

from .consent_decisions import EHR, PATIENT
from .gateway_cache import CATEGORIES
from .paired_ratios import RatioSpread, paired
from .report import ms, table, times
from .timing import Timing, summarise

WRITERS = (1, 10, 100)
CALLS_PER_WRITER = 10
WARMUP_CALLS = 5
ROUNDS = 4
# On PostgreSQL, where two audit processes are compared with one: three rotations of its four
# ways, so the two-against-one ratio rests on 12 paired rounds (bench.paired_ratios: the median's
# interval is then [x(3), x(10)], 96 %). A lone writer's ratio moved by ±30 % from run to run on 4.
REPLICA_ROUNDS = 12
CALLS_PER_ROUND = 100  # at least: fewer writers make more calls each, so no cell rests on a handful
EVENTS_PER_CALL = len(CATEGORIES)  # one event per consent decision of a GetPatientSummary
SQLITE = "SQLite (WAL, synchronous=FULL)"
POSTGRES = "PostgreSQL (fsync=on, synchronous_commit=on)"
STARTUP_TIMEOUT_SECONDS = 30.0
PLAIN_TABLE = "bench_plain_events"
BASELINE, STORE = "plain batched INSERT (baseline)", "audit store, in-process"
GRPC, GRPC_2 = "AppendEvents, gRPC to 1 audit process", "AppendEvents, gRPC to 2 audit processes"
READ_METHOD = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"
NO_LEAF = bytes(32)  # the baseline stores a leaf hash of the same size without computing it

Append = Callable[[int, int], Awaitable[object]]  # (writer, call) -> stored


@dataclass(frozen=True)
class Counters:
    events: int  # stored, as read back from the database
    commits: int  # the transactions that stored them
    cpu_seconds: float | None  # CPU time of the process that writes (None where it cannot be read)

    def __sub__(self, before: Counters) -> Counters:
        cpu = None if self.cpu_seconds is None or before.cpu_seconds is None else self.cpu_seconds - before.cpu_seconds
        return Counters(self.events - before.events, self.commits - before.commits, cpu)


@dataclass(frozen=True)
class Sample:
    """One timed run of one way of writing."""

    counted: Counters
    seconds: float  # wall time from the first call to the last answer
    per_call_ns: list[int]


@dataclass(frozen=True)
class AppendRun:
    """The rounds of one way of writing at one number of writers, together."""

    events: int
    commits: int
    seconds: float
    cpu_seconds: float | None
    per_call: Timing  # nanoseconds per writer call, from submit to the durable answer

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds

    @property
    def events_per_commit(self) -> float:
        return self.events / self.commits

    @property
    def cpu_us_per_event(self) -> float | None:
        """The writing process's CPU time per stored event, in µs: less noisy than events/s on a
        shared machine, since other processes' work does not count in it."""
        return None if self.cpu_seconds is None else self.cpu_seconds * 1e6 / self.events

    @property
    def cores_busy(self) -> float | None:
        """The writing process's CPU time over the wall time: 1.0 is one core fully busy."""
        return None if self.cpu_seconds is None else self.cpu_seconds / self.seconds


@dataclass(frozen=True)
class AppendBench:
    database: str
    calls_per_writer: int
    rounds: int
    calls_per_round: int  # at least, at every number of writers
    runs: dict[int, dict[str, AppendRun]]  # writers -> way of writing -> its rounds together
    # writers -> two audit processes over one, round by round: events/s, and CPU per event (None
    # where CPU cannot be read). Only where two ran.
    replicas: dict[int, tuple[RatioSpread, RatioSpread | None]] = field(default_factory=dict)


class Target(Protocol):
    def prepare(self, writers: int, calls: int) -> Append:
        """The append of each (writer, call), its events built beforehand (untimed)."""

    def counters(self) -> Counters:
        """Events stored, transactions committed and CPU time used so far."""


async def drive(writers: int, calls: int, append: Append) -> tuple[list[int], float]:
    """`writers` concurrent tasks, each making `calls` sequential appends; the time of every
    call (ns) and the wall time of them all (s)."""
    clock = time.perf_counter_ns

    async def writer(w: int) -> list[int]:
        samples = []
        for c in range(calls):
            start = clock()
            await append(w, c)
            samples.append(clock() - start)
        return samples

    began = clock()
    per_writer = await asyncio.gather(*(writer(w) for w in range(writers)))
    return [s for samples in per_writer for s in samples], (clock() - began) / 1e9


def calls_per_writer(writers: int, calls: int, calls_per_round: int = CALLS_PER_ROUND) -> int:
    """Each writer's calls in one round: `calls`, or more when there are few writers, so every
    round makes at least `calls_per_round` calls (a lone writer's 10 are too few to compare)."""
    return max(calls, -(-calls_per_round // writers))


async def measure(target: Target, writers: int, calls: int) -> Sample:
    """One timed run; refuses a run that did not store every event it was given."""
    append = target.prepare(writers, calls)
    gc.collect()
    before = target.counters()
    samples, seconds = await drive(writers, calls, append)
    counted = target.counters() - before
    if counted.events != writers * calls * EVENTS_PER_CALL or not counted.commits:
        raise RuntimeError(
            f"{writers} writers × {calls} calls stored {counted.events} events in {counted.commits} commits"
        )
    return Sample(counted, seconds, samples)


def combine(samples: Sequence[Sample]) -> AppendRun:
    cpu = [s.counted.cpu_seconds for s in samples]
    return AppendRun(
        events=sum(s.counted.events for s in samples),
        commits=sum(s.counted.commits for s in samples),
        seconds=sum(s.seconds for s in samples),
        cpu_seconds=None if None in cpu else sum(c for c in cpu if c is not None),
        per_call=summarise([ns for s in samples for ns in s.per_call_ns]),
    )


# The events: what the gateway records for demo-ehr reading Eskil's summary.


def call_records() -> list[AuditRecord]:
    now = datetime.now(UTC)
    return [
        AuditRecord(
            idempotency_key=uuid.uuid4().hex,
            occurred_at=now,
            actor_kind=ActorKind.SYSTEM,
            actor_client_id=EHR.client_id,
            actor_client_name=EHR.client_name,
            actor_pid="",
            actor_name="",
            actor_hpr_number="",
            actor_authorization="",
            actor_orgnr_parent=EHR.orgnr_parent,
            actor_orgnr_child=EHR.orgnr_child,
            patient_id=PATIENT,
            action=Action.READ,
            data_category=category,
            purpose_of_use=PurposeOfUse.TREAT,
            access_basis=AccessBasis.CARE_RELATIONSHIP,
            decision=Decision.PERMIT,
            decided_by="",
            decision_id=uuid.uuid4().hex,
            trace_id=uuid.uuid4().hex,
            method=READ_METHOD,
        )
        for category in CATEGORIES
    ]


def as_event(r: AuditRecord) -> audit_pb2.AuditEvent:
    return audit_pb2.AuditEvent(
        idempotency_key=r.idempotency_key,
        occur_time=to_timestamp(r.occurred_at),
        actor=common_pb2.Actor(
            kind=to_enum(common_pb2.ActorKind, r.actor_kind),
            client_id=r.actor_client_id,
            client_name=r.actor_client_name,
            orgnr_parent=r.actor_orgnr_parent,
            orgnr_child=r.actor_orgnr_child,
        ),
        patient_id=r.patient_id,
        action=to_enum(audit_pb2.Action, r.action),
        data_category=to_enum(common_pb2.DataCategory, r.data_category),
        purpose_of_use=to_enum(common_pb2.PurposeOfUse, r.purpose_of_use),
        access_basis=to_enum(common_pb2.AccessBasis, r.access_basis),
        decision=to_enum(common_pb2.Decision, r.decision),
        decision_id=r.decision_id,
        trace_id=r.trace_id,
        method=r.method,
    )


def _batches(writers: int, calls: int) -> list[list[list[AuditRecord]]]:
    return [[call_records() for _ in range(calls)] for _ in range(writers)]


# The ways of writing.


def plain_table(engine: Engine) -> Table:
    """`bench_plain_events`: audit_events' columns and indexes (partial ones too, as each dialect
    spells them), nothing else; created if missing. Every index costs each insert alike."""
    source = AuditEventRow.__table__
    table = Table(
        PLAIN_TABLE,
        MetaData(),
        *(
            Column(c.name, c.type, primary_key=c.primary_key, unique=bool(c.unique), autoincrement=c.primary_key)
            for c in source.columns
        ),
        *(
            Index(
                f"{PLAIN_TABLE}_{index.name}",
                *(c.name for c in index.columns),
                unique=index.unique,
                **index.dialect_kwargs,
            )
            for index in source.indexes
        ),
    )
    table.create(engine, checkfirst=True)
    return table


class PlainInserts:
    """The baseline: the same rows, one INSERT of the whole batch per transaction."""

    def __init__(self, sessions: sessionmaker, table: Table) -> None:
        self._sessions, self._table = sessions, table
        self._commits = 0
        self._group: GroupCommit[AuditRecord, dict[str, object]] = GroupCommit(self._insert)

    def _insert(self, records: list[AuditRecord]) -> list[dict[str, object]]:
        stored_at = datetime.now(UTC)
        # The same columns as the log's rows, its version-2 leaf salts included.
        rows = [
            {
                **_columns(r),
                "event_id": uuid.uuid4(),
                "stored_at": stored_at,
                "leaf_hash": NO_LEAF,
                "actor_pid_salt": os.urandom(32),
                "justification_salt": os.urandom(32),
            }
            for r in records
        ]
        with self._sessions.begin() as session:
            session.execute(insert(self._table), rows)
        self._commits += 1  # commits run one at a time (the group commit's writer)
        return rows

    def prepare(self, writers: int, calls: int) -> Append:
        batches = _batches(writers, calls)
        return lambda w, c: self._group.submit(batches[w][c])

    def counters(self) -> Counters:
        with self._sessions() as session:
            events = session.scalar(select(func.count()).select_from(self._table)) or 0
        return Counters(events, self._commits, time.process_time())


def log_counters(sessions: sessionmaker, cpu_seconds: float | None) -> Counters:
    """The log's size, and its append transactions: each stamps its events with one stored_at."""
    with sessions() as session:
        size = session.scalar(select(LogHeadRow.size).where(LogHeadRow.id == 1)) or 0
        commits = session.scalar(select(func.count(AuditEventRow.stored_at.distinct()))) or 0
        return Counters(size, commits, cpu_seconds)


class StoreAppends:
    """The audit write path in-process: the store's append behind the group commit, as AuditApi
    builds it, and the log's integrator beside it (as every replica runs it)."""

    def __init__(self, sessions: sessionmaker, settings: Settings) -> None:
        self._sessions = sessions
        self._store = AuditStore(sessions)
        self._integrator = Integrator(self._store.engine, load_log_signer(settings))
        self._integrator.start()
        self._group = GroupCommit(self._append)

    def _append(self, records: list[AuditRecord]) -> list[StoredEvent]:
        rows = self._store.append(records)
        self._integrator.wake()
        return rows

    def prepare(self, writers: int, calls: int) -> Append:
        batches = _batches(writers, calls)
        return lambda w, c: self._group.submit(batches[w][c])

    def counters(self) -> Counters:
        return log_counters(self._sessions, time.process_time())

    def close(self) -> None:
        self._group.close()
        self._integrator.stop()


class GrpcAppends:
    """AppendEvents to the running audit backends as gateways call them. A gateway process sends
    its appends one at a time (gateway/audit_client.py), so each writer is one gateway: a client
    of its own (services.platform.replica_set, the gateway's pick over health-checked channels)
    that keeps to the replica it drew, the writers spreading over the replicas by their draws
    (drawn again for every round, so that a cell, a lone writer's too, covers both replicas).
    Each call's assertion is signed beforehand (signing is the gateway's cost, not the log's).

    `round_robin`: each writer's calls go through one gRPC round_robin channel over the replicas
    instead, taking them in turn call by call (the gateway's way before replica_set; for
    bench.audit_one_writer)."""

    def __init__(
        self, services: Sequence[AuditProcess], sessions: sessionmaker, settings: Settings, *, round_robin: bool = False
    ) -> None:
        self._target = "ipv4:" + ",".join(service.address for service in services)
        self._round_robin = round_robin
        self._clients: list[tuple[ReplicaSet | grpc.aio.Channel, dict[grpc.aio.Channel, Any]]] = []
        self._services, self._sessions, self._settings = services, sessions, settings

    async def connect(self, writers: int) -> None:
        """A client per writer, every one connected to every replica (untimed)."""
        while len(self._clients) < writers:
            client = open_channel(self._target) if self._round_robin else replica_set(self._target)
            channels = [client] if isinstance(client, grpc.aio.Channel) else list(client.channels().values())
            self._clients.append((client, {c: audit_pb2_grpc.AuditServiceStub(c) for c in channels}))
            if not all(await asyncio.gather(*(channel_ready(c, STARTUP_TIMEOUT_SECONDS) for c in channels))):
                raise RuntimeError(f"the audit processes {self._target} did not all accept a connection")

    def prepare(self, writers: int, calls: int) -> Append:
        requests = [
            [audit_pb2.AppendEventsRequest(events=[as_event(r) for r in call]) for call in writer]
            for writer in _batches(writers, calls)
        ]
        binds = BindsAssertions(self._settings)  # each assertion bound to its request, as the gateway signs
        metadata = [
            [
                binds.bind(asserted(self._settings, "audit", APPEND_EVENTS, actor=GATEWAY_ACTOR), request)
                for request in writer
            ]
            for writer in requests
        ]
        clients = self._clients
        assert len(clients) >= writers, "connect() first"
        for client, _ in clients:  # each round draws anew: a cell is not one draw's luck
            if isinstance(client, ReplicaSet):
                client.redraw()

        async def append(w: int, c: int) -> object:
            client, stubs = clients[w]
            if isinstance(client, grpc.aio.Channel):
                return await stubs[client].AppendEvents(requests[w][c], metadata=metadata[w][c])
            async with client.picked() as channel:
                return await stubs[channel].AppendEvents(requests[w][c], metadata=metadata[w][c])

        return append

    def counters(self) -> Counters:
        cpu = [process_cpu_seconds(service.pid) for service in self._services]
        return log_counters(self._sessions, None if None in cpu else sum(c for c in cpu if c is not None))

    async def close(self) -> None:
        for client, _ in self._clients:
            await client.close()


def _columns(record: AuditRecord) -> dict[str, object]:
    """The record's columns as the store writes them (enums by name)."""
    values = {f.name: getattr(record, f.name) for f in fields(record)}
    return {name: v.value if isinstance(v, Enum) else v for name, v in values.items()}


async def _bench(
    settings: Settings,
    database: str,
    writers: Sequence[int],
    calls: int,
    rounds: int,
    replicas: int = 1,
    calls_per_round: int = CALLS_PER_ROUND,
) -> AppendBench:
    backend("audit").migrate(settings)
    engine = make_engine(settings.database_url("audit"))
    try:
        async with contextlib.AsyncExitStack() as stack:
            services = [await stack.enter_async_context(audit_process(settings)) for _ in range(replicas)]
            sessions = make_sessions(engine)
            store = StoreAppends(sessions, settings)
            stack.callback(store.close)
            targets: dict[str, Target] = {
                BASELINE: PlainInserts(sessions, plain_table(engine)),
                STORE: store,
                GRPC: GrpcAppends(services[:1], sessions, settings),
            }
            if replicas > 1:
                targets[GRPC_2] = GrpcAppends(services, sessions, settings)
            for target in targets.values():
                if isinstance(target, GrpcAppends):
                    stack.push_async_callback(target.close)
                    await target.connect(max(writers))
            for target in targets.values():  # untimed: connections, caches, the log's first checkpoint
                await measure(target, 1, WARMUP_CALLS)
            measured: dict[int, dict[str, list]] = {n: {path: [] for path in targets} for n in writers}
            for n in writers:
                for round_ in range(rounds):
                    # The ways take turns, the order rotating by one each round, so that over
                    # `len(targets)` rounds each way runs once in every position: no way always
                    # runs first, or right after a way whose log growth and checkpoint work would
                    # spill into it.
                    turns = list(targets.items())
                    shift = round_ % len(turns)
                    for path, target in turns[shift:] + turns[:shift]:
                        measured[n][path].append(await measure(target, n, calls_per_writer(n, calls, calls_per_round)))
    finally:
        engine.dispose()
    runs = {n: {path: combine(samples) for path, samples in by_path.items()} for n, by_path in measured.items()}
    replicas = {
        n: replica_ratios(by_path[GRPC_2], by_path[GRPC]) for n, by_path in measured.items() if GRPC_2 in by_path
    }
    return AppendBench(database, calls, rounds, calls_per_round, runs, replicas)


def replica_ratios(two: Sequence[Sample], one: Sequence[Sample]) -> tuple[RatioSpread, RatioSpread | None]:
    """Two processes over one, each round's pair (measured in the same round): events/s, and CPU
    per event (None unless every sample has its CPU time)."""
    rates = paired([s.counted.events / s.seconds for s in two], [s.counted.events / s.seconds for s in one])
    cpu = [s.counted.cpu_seconds for s in (*two, *one)]
    if any(c is None for c in cpu):
        return rates, None
    per_event = [c / s.counted.events for c, s in zip(cpu, (*two, *one), strict=True) if c is not None]
    return rates, paired(per_event[: len(two)], per_event[len(two) :])


@dataclass(frozen=True)
class AuditProcess:
    pid: int
    address: str


@contextlib.asynccontextmanager
async def audit_process(settings: Settings) -> AsyncIterator[AuditProcess]:
    """`samhandling serve audit` in its own process, as deployed, on a free loopback port;
    yields it once it reports SERVING."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    env = {
        **os.environ,
        "SAMHANDLING_ENV": "dev",
        "SAMHANDLING_VAR_DIR": str(settings.var_dir),
        "SAMHANDLING_AUDIT_ADDR": address,
        "SAMHANDLING_AUDIT_DATABASE_URL": settings.database_url("audit"),
        "OTEL_TRACES_EXPORTER": "none",
    }
    log = settings.var_dir / "audit.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "serve", "audit"],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        ready = replace(settings, addresses={**settings.addresses, "audit": address})
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while await component_status("audit", ready) != "SERVING":
            if child.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
                raise RuntimeError(f"the audit service did not start:\n{tail}")
            await asyncio.sleep(0.1)
        yield AuditProcess(child.pid, address)
    finally:
        child.terminate()
        child.wait(STARTUP_TIMEOUT_SECONDS)


def process_cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of another process so far (Linux /proc; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            after_name = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(after_name[11]) + int(after_name[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def filesystem(path: Path) -> str:
    """The type of the file system holding `path` (a tmpfs makes every fsync free); Linux only."""
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            points = [(line.split()[1], line.split()[2]) for line in mounts]
    except OSError:
        return "unknown"
    held = [(point, kind) for point, kind in points if path.resolve().is_relative_to(point)]
    return max(held, key=lambda p: len(p[0]))[1] if held else "unknown"


@contextlib.contextmanager
def durable_postgres(bin_dir: Path) -> Iterator[str]:
    """A throwaway PostgreSQL cluster that flushes its WAL at every commit as in production
    (the test fixture runs with fsync=off); yields the URL of a fresh database. The cluster lives in
    the system's temporary directory (on disk, where fsync costs what it costs), never in RAM as the
    fixture's may."""
    base = Path(tempfile.mkdtemp(prefix="samhandling-bench-pg-"))
    with pg.running_server(bin_dir, base=base, options={"fsync": "on", "synchronous_commit": "on"}) as cluster:
        yield cluster.url(cluster.create_database())


def run(
    writers: Sequence[int] = WRITERS,
    calls: int = CALLS_PER_WRITER,
    rounds: int = ROUNDS,
    postgres: bool = True,
    calls_per_round: int = CALLS_PER_ROUND,
    replica_rounds: int = REPLICA_ROUNDS,
) -> list[AppendBench]:
    """SQLite always (`rounds`); PostgreSQL too, with two audit processes beside one
    (`replica_rounds`), when asked for and its server binaries are installed."""
    benches = []
    with tempfile.TemporaryDirectory(prefix="samhandling-bench-") as tmp:
        on = f"on {filesystem(Path(tmp))}"  # the PostgreSQL cluster lives in the same temporary directory
        settings = settings_for(Path(tmp))
        benches.append(
            asyncio.run(_bench(settings, f"{SQLITE} {on}", writers, calls, rounds, calls_per_round=calls_per_round))
        )
        bin_dir = pg.find_bin_dir() if postgres else None
        if bin_dir is not None:
            with durable_postgres(bin_dir) as url:
                settings = settings_for(Path(tmp), audit=url)
                benches.append(
                    asyncio.run(
                        _bench(
                            settings,
                            f"{POSTGRES} {on}",
                            writers,
                            calls,
                            replica_rounds,
                            replicas=2,
                            calls_per_round=calls_per_round,
                        )
                    )
                )
    return benches


def replica_lines(bench: AppendBench) -> list[str]:
    """Two audit processes against one at each number of writers, round by round, with the
    median's interval and what it shows; none without two."""
    if not bench.replicas:
        return []
    rows = []
    for n, (rates, cpu) in bench.replicas.items():
        rows.append(
            [
                str(n),
                _spread(rates),
                rates.verdict,
                "–" if cpu is None else _spread(cpu),
                "–" if cpu is None else _cpu_verdict(cpu),
            ]
        )
    any_spread = next(iter(bench.replicas.values()))[0]
    return [
        f"Two audit processes on the one database against one, round by round: each of the {len(any_spread.ratios)} "
        "rounds measures both ways back to back, and its ratio is two's over one's. The median of those ratios, "
        f"its distribution-free {any_spread.coverage:.0%} interval (order statistics, bench/paired_ratios.py) "
        'and the rounds\' min–max. A verdict is read from the interval: "faster" or "slower" only when the '
        "whole interval lies on one side of 1. CPU per event counts process 0 for one, both processes for two.",
        "",
        *table(
            [
                "writers",
                "events/s, two over one: median (interval; min–max)",
                "two processes are",
                "CPU µs per event, two over one",
                "two processes cost",
            ],
            rows,
        ),
        "",
    ]


def _spread(spread: RatioSpread) -> str:
    low, high = spread.interval
    return (
        f"{times(spread.median)} ({times(low)}–{times(high)}; {times(min(spread.ratios))}–{times(max(spread.ratios))})"
    )


def _cpu_verdict(cpu: RatioSpread) -> str:
    """Higher CPU per event is costlier: the verdict reads the other way round."""
    return {"faster": "more", "slower": "less"}.get(cpu.verdict, "the same within the spread")


def heading(bench: AppendBench) -> str:
    """The start of the report heading of one database's appends (what `--only audit` replaces)."""
    return f"## Audit log: durable appends, {bench.database.split(' (')[0]}"


def render(benches: Sequence[AppendBench]) -> list[str]:
    lines: list[str] = []
    for b in benches:
        rows = []
        for writers, by_path in b.runs.items():
            base = by_path[BASELINE]
            rows += [
                [
                    str(writers),
                    path,
                    f"{r.events:,}",
                    f"{r.events_per_commit:,.1f}",
                    f"{r.events_per_second:,.0f}",
                    times(r.events_per_second / base.events_per_second),
                    ms(r.per_call.median_ns),
                    ms(r.per_call.p95_ns),
                    times(r.per_call.ratio(base.per_call)),
                    "–" if r.cores_busy is None else f"{r.cores_busy:.2f}",
                    "–" if r.cpu_us_per_event is None else f"{r.cpu_us_per_event:,.0f}",
                ]
                for path, r in by_path.items()
            ]
        lines += [
            heading(b) + b.database.removeprefix(b.database.split(" (")[0]),
            "",
            f"Every writer makes {b.calls_per_writer} sequential calls of {EVENTS_PER_CALL} events (one "
            f"GetPatientSummary's) per round, more when there are few writers so that a round has at least "
            f"{b.calls_per_round} calls, {b.rounds} rounds, the ways of writing taking turns (the order rotating by one each round) in one fresh "
            "database. Baseline: plain batched INSERTs of the same rows into a table with the same columns and "
            "indexes, through the same group commit. × baseline: events/s and ms per call, each divided by the "
            "baseline's at the same number of writers. CPU: the writing process's CPU time over the wall time "
            "(the bench process in-process, the audit processes together over gRPC); 1.00 is one core kept busy. "
            "CPU µs per event: that CPU time over the events stored (the in-process ways' include the bench's "
            "own writers; less noisy than events/s on a shared machine).",
            "",
            *table(
                [
                    "writers",
                    "write path",
                    "events",
                    "events per commit",
                    "events/s",
                    "× baseline",
                    "ms per call, median",
                    "p95",
                    "× baseline",
                    "CPU, cores",
                    "CPU µs per event",
                ],
                rows,
            ),
            "",
            *replica_lines(b),
        ]
    return lines
