"""The escalation bench (docs/escalation.md, "Bench"): the sweeper among 10,000 open episodes, and
what the escalation step adds to RecordVitalSigns.

1. **The sweeper at scale**, on SQLite and on the bench's own throwaway PostgreSQL
   (bench.audit_appends.durable_postgres): `EPISODES` open URGENT_REVIEW episodes of bench
   patients (rows the bench adds, `B0000000000`, …: not person numbers). The first is made by the
   core's transition and saved by the store's own save; the others are its rows copied in bulk,
   each moved on in time (`build_episodes`), so every one is an episode the store reads back as the
   core would have opened it. Their acknowledgement timers fall one second apart; a sweep at a
   chosen time finds 1 %, 10 % or 100 % of them due. Measured in the same run:
   - a sweep that finds nothing due (the sweeper's every 5 s on every replica) against the
     baseline, a plain indexed SELECT of the same due rows (none) in a transaction of its own;
   - `sweep_once(now)` firing a batch (SWEEP_BATCH) at each proportion, per fired timer, against
     the plain SELECT of the same due rows made just before it;
   - the claim query's plan (the statement the store sends, captured and explained): whether it
     reads the `due_at` index.
   CPU is this process's (`time.process_time`); "in the driver" is the time spent inside the
   driver's execute calls (the database's share: on SQLite its work, on PostgreSQL the round
   trip and the server's work; commits not included).
2. **RecordVitalSigns' overhead**, through a real summary gRPC server in this process (its CPU
   counts), on SQLite and PostgreSQL: a measurement that opens an episode (a 7 of a seeded adult,
   the episode resolved untimed after each call), one below every trigger (a 0 of another: the step
   runs and opens nothing), and the store's measurement write alone (SummaryStore.record_measurement,
   in-process), taking turns in rounds. The server's clock moves 25 h a call, so no measurement
   is compared with another."""

from __future__ import annotations

import asyncio
import gc
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, insert, select, update
from sqlalchemy.orm import sessionmaker

from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.platform.db import make_engine, make_sessions
from services.platform.settings import Settings
from services.summary import escalation_store
from services.summary.escalation_episodes import EventKind, Outcome, Responder, Transition, record_measurement
from services.summary.escalation_rules import AcknowledgeWithin, Level, evaluate
from services.summary.escalation_store import EscalationStore
from services.summary.escalation_sweeper import SWEEP_BATCH, EscalationSweeper
from services.summary.main import BACKEND, make_api
from services.summary.models import Base, EscalationChangeRow, EscalationSequenceRow, EscalationTimerRow, PatientRow
from services.summary.store import SummaryStore
from services.summary.vitals import Performer
from tests.fixtures import people
from tests.fixtures import postgres as pg
from tests.fixtures.escalation import BODØ, PATIENT_BORN, RECORDER, measurement, routes, vital_signs_input
from tests.support import DEMO_EHR_ACTOR, asserted, running_backend, settings_for

from .audit_appends import durable_postgres
from .report import ms, table, times
from .timing import Timing, summarise

HEADING = "## Escalation"
SQLITE, POSTGRES = "SQLite (WAL)", "PostgreSQL (fsync=on)"
EPISODES = 10_000
PROPORTIONS = (0.01, 0.10, 1.0)
EMPTY_SWEEPS = 200  # sweeps that find nothing, and as many baseline SELECTs, taking turns in blocks
BLOCK = 20
RECORD_CALLS = 30  # per way and round
RECORD_ROUNDS = 4
BUILD_BATCH = 1000  # rows per INSERT while building
T0 = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)  # the first timer's due time (a Wednesday)
# The sweeping store re-arms a fired timer a day later, far past every built timer.
SWEEP_WITHIN = AcknowledgeWithin(*(timedelta(hours=24),) * 4)
DUE_INDEX = "ix_escalation_timers_due_at"
S = summary_pb2
RECORD = "/samhandling.summary.v1.PatientSummaryService/RecordVitalSigns"


def bench_patient(i: int) -> str:
    return f"B{i:010d}"


@dataclass(frozen=True)
class Cost:
    """Per call (or per fired timer): wall time, this process's CPU, and time inside the driver."""

    wall: Timing
    cpu_ns: float
    driver_ns: float


@dataclass(frozen=True)
class SweepAt:
    proportion: float
    due: int  # timers due at the sweep's time
    fired: int
    per_timer: Cost  # the sweep's costs divided by the timers it fired
    baseline: Cost  # the plain SELECT of the same due rows, per query
    plan: str
    uses_index: bool


@dataclass(frozen=True)
class SweeperBench:
    database: str
    episodes: int
    build_seconds: float
    empty: Cost
    empty_baseline: Cost
    empty_plan: str
    empty_uses_index: bool
    at: list[SweepAt]


@dataclass(frozen=True)
class RecordBench:
    database: str
    calls: int  # per way
    escalates: Cost
    below_trigger: Cost
    store_write: Cost


class DriverClock:
    """Time spent inside the engine's cursor executes, and the claim statement the store sends."""

    def __init__(self, engine: Engine) -> None:
        self.ns = 0
        self.claim: tuple[str, Any] | None = None
        self._started = 0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if self.claim is None and "JOIN escalation_episodes" in statement and "due_at <=" in statement:
            self.claim = (statement, parameters)
        self._started = time.perf_counter_ns()

    def _after(self, *_args: Any) -> None:
        self.ns += time.perf_counter_ns() - self._started


class Costs:
    """Samples of one way of calling: wall per call, and CPU and driver time in total."""

    def __init__(self) -> None:
        self.wall: list[int] = []
        self.cpu_ns = 0
        self.driver_ns = 0
        self.units = 0

    @contextmanager
    def timed(self, driver: DriverClock | None, units: int = 1) -> Iterator[None]:
        driver_before = 0 if driver is None else driver.ns
        cpu, wall = time.process_time_ns(), time.perf_counter_ns()
        yield
        self.wall.append((time.perf_counter_ns() - wall) // max(units, 1))
        self.cpu_ns += time.process_time_ns() - cpu
        self.driver_ns += 0 if driver is None else driver.ns - driver_before

    def add_units(self, units: int) -> None:
        self.units += units

    def cost(self) -> Cost:
        units = self.units or len(self.wall)
        return Cost(summarise(self.wall), self.cpu_ns / units, self.driver_ns / units)


# --- 1. the sweeper ---------------------------------------------------------------------------


def build_episodes(sessions: sessionmaker, count: int) -> None:
    """`count` bench patients, each with an open URGENT_REVIEW episode; episode i's acknowledgement
    timer is due at T0 + i seconds. The first is made by the core's transition and saved by the
    store's own save; the others are its rows copied in bulk (every escalation table that has an
    episode id), with the ids made its own and every time moved on by i seconds: each is the episode
    the first would be, opened i seconds later, and the store reads it back as such."""
    template = _episode_id(0)
    with sessions.begin() as session:
        session.execute(
            insert(PatientRow),
            [{"pid": bench_patient(i), "name": f"Bench {i}", "municipality_number": BODØ} for i in range(count)],
        )
        transition = opened_episode(0)
        assert transition.episode is not None
        escalation_store._save(session, None, transition, transition.episode.opened_at)
    if count == 1:
        return
    tables = [t for t in Base.metadata.sorted_tables if "episode_id" in t.c]
    with sessions.begin() as session:
        head = session.scalar(select(EscalationSequenceRow.position))
        assert head is not None
        for table in tables:
            rows = [dict(r) for r in session.execute(select(table).where(table.c.episode_id == template)).mappings()]
            generated = {c.name for c in table.primary_key.columns if c.autoincrement is True}
            copies = []
            for i in range(1, count):
                renames = {template: _episode_id(i), bench_patient(0): bench_patient(i), "bench-m0": f"bench-m{i}"}
                for row in rows:
                    copy = {k: _moved(v, i, renames) for k, v in row.items() if k not in generated}
                    if table.name == EscalationChangeRow.__tablename__:
                        copy["position"] = head + i
                    copies.append(copy)
            for start in range(0, len(copies), BUILD_BATCH):
                session.execute(insert(table), copies[start : start + BUILD_BATCH])
        session.execute(update(EscalationSequenceRow).values(position=head + count - 1))


def opened_episode(i: int) -> Transition:
    """The core's transition opening bench patient i's URGENT_REVIEW episode (a red 3), i seconds after
    the first, so that its acknowledgement timer is due at T0 + i seconds."""
    within = AcknowledgeWithin()
    opened = T0 - within.for_level(Level.URGENT_REVIEW) + timedelta(seconds=i)
    m = measurement(opened, 3, red=True, mid=f"bench-m{i}")
    return record_measurement(
        None,
        measurement_id=m.measurement_id,
        measured_at=opened,
        evaluation=evaluate(m, PATIENT_BORN, []),
        new_episode_id=_episode_id(i),
        patient_id=bench_patient(i),
        source_orgnr=RECORDER,
        routes=routes(opened),
        now=opened,
        within=within,
    )


def _episode_id(i: int) -> str:
    return f"esc-bench-{i:05d}"


def _moved(value: object, seconds: int, renames: dict[str, str]) -> object:
    if isinstance(value, datetime):
        return value + timedelta(seconds=seconds)
    if isinstance(value, str):
        return renames.get(value, value)
    return value


def due_rows(sessions: sessionmaker, now: datetime, limit: int) -> int:
    """The baseline: a plain indexed SELECT of the due timers, earliest first, in a transaction."""
    with sessions.begin() as session:
        rows = session.execute(
            select(EscalationTimerRow.episode_id, EscalationTimerRow.kind, EscalationTimerRow.due_at)
            .where(EscalationTimerRow.due_at <= now)
            .order_by(EscalationTimerRow.due_at)
            .limit(limit)
        ).all()
    return len(rows)


def explain(engine: Engine, claim: tuple[str, Any]) -> str:
    statement, parameters = claim
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, parameters).all()
    return "; ".join(str(r[-1]).strip() for r in rows)


def sweeper_bench(url: str, database: str, settings: Settings, episodes: int, batch: int) -> SweeperBench:
    BACKEND.migrate(settings)
    BACKEND.seed(settings)
    engine = make_engine(url)
    try:
        sessions = make_sessions(engine)
        began = time.monotonic()
        build_episodes(sessions, episodes)
        built = time.monotonic() - began
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        driver = DriverClock(engine)
        store = EscalationStore(sessions, SWEEP_WITHIN)
        sweeper = EscalationSweeper(store, clock=lambda: T0, batch=batch)
        last = store.get(_episode_id(episodes - 1))  # the store reads a built episode back
        if [t.due_at for t in last.timers] != [T0 + timedelta(seconds=episodes - 1)]:
            raise RuntimeError("the last episode built does not hold its timer")

        # A sweep that finds nothing, against the SELECT that finds nothing, in blocks taking turns.
        early = T0 - timedelta(seconds=1)
        empty, empty_base = Costs(), Costs()
        driver.claim = None
        sweeper.sweep_once(early)
        due_rows(sessions, early, batch)
        gc.collect()
        for _ in range(max(1, EMPTY_SWEEPS // BLOCK)):
            for _ in range(BLOCK):
                with empty.timed(driver):
                    if sweeper.sweep_once(early):
                        raise RuntimeError("a sweep before every due time fired a timer")
            for _ in range(BLOCK):
                with empty_base.timed(driver):
                    due_rows(sessions, early, batch)
        assert driver.claim is not None, "the sweep's claim statement was not seen"
        empty_claim = driver.claim
        empty_plan = explain(engine, empty_claim)

        at = []
        fired_so_far = 0
        for proportion in PROPORTIONS:
            due_count = max(1, round(proportion * episodes))
            now = T0 + timedelta(seconds=due_count - 1, milliseconds=500)
            due = due_count - fired_so_far
            base = Costs()
            for _ in range(5):
                with base.timed(driver):
                    found = due_rows(sessions, now, batch)
            if found != min(batch, due):
                raise RuntimeError(f"{found} due rows found, {min(batch, due)} expected")
            driver.claim = None
            sweep = Costs()
            gc.collect()
            with sweep.timed(driver, units=min(batch, due)):
                fired = sweeper.sweep_once(now)
            sweep.add_units(len(fired))
            if len(fired) != min(batch, due) or any(not f.transition.effects for f in fired):
                raise RuntimeError(f"the sweep fired {len(fired)} timers of {min(batch, due)} due")
            fired_so_far += len(fired)
            assert driver.claim is not None
            plan = explain(engine, driver.claim)
            at.append(SweepAt(proportion, due, len(fired), sweep.cost(), base.cost(), plan, DUE_INDEX in plan))
        return SweeperBench(
            database, episodes, built, empty.cost(), empty_base.cost(), empty_plan, DUE_INDEX in empty_plan, at
        )
    finally:
        engine.dispose()


# --- 2. RecordVitalSigns --------------------------------------------------------------------------

# Seeded adults of Bodø (tests/fixtures/people.py): one escalates, one stays below every trigger,
# one is written by the store alone.
ESCALATING, BELOW, WRITTEN = people.ESKIL, people.TOR, people.INGRID
# The server's clock moves on a day and an hour a call, so each measurement is compared with no
# other (none within REVIEW's 24 h): every call costs what a patient's first one does.
STEP = timedelta(hours=25)


async def record_bench(settings: Settings, database: str, calls: int, rounds: int) -> RecordBench:
    clock = [T0]
    spec = replace(BACKEND, make_api=lambda store, s: make_api(store, s, clock=lambda: clock[0]))
    async with running_backend("summary", settings, spec=spec) as channel:
        stub = summary_pb2_grpc.PatientSummaryServiceStub(channel)
        engine = make_engine(settings.database_url("summary"))
        try:
            sessions = make_sessions(engine)
            store = SummaryStore(sessions)
            episodes = EscalationStore(sessions, AcknowledgeWithin())
            count = iter(range(1_000_000))

            def request(patient: str, total: int) -> tuple[S.RecordVitalSignsRequest, Any]:
                clock[0] += STEP
                return (
                    S.RecordVitalSignsRequest(
                        patient_id=patient,
                        source_record_id=f"bench-{next(count)}",
                        vital_signs=vital_signs_input(clock[0] - timedelta(minutes=1), total),
                    ),
                    asserted(
                        settings,
                        "summary",
                        RECORD,
                        actor=DEMO_EHR_ACTOR,
                        patient_id=patient,
                        data_categories=(common_pb2.DATA_CATEGORY_VITAL_SIGNS,),
                    ),
                )

            async def grpc_way(patient: str, total: int, costs: Costs) -> None:
                req, metadata = request(patient, total)
                with costs.timed(None):
                    answer = await stub.RecordVitalSigns(req, metadata=metadata)
                escalated = answer.escalation_level != S.ESCALATION_LEVEL_UNSPECIFIED
                if not answer.created or escalated != (total >= 7):
                    raise RuntimeError(f"a {total} answered created={answer.created}, escalated={escalated}")
                if escalated:  # resolved (untimed), so that the next 7 opens an episode again
                    episode = episodes.get(answer.escalation_id)
                    if episode.events[-1].kind is not EventKind.OPENED:
                        raise RuntimeError("a 7 joined an episode instead of opening one")
                    episodes.resolve(
                        episode.episode_id,
                        actor=Responder(episode.targets[0].orgnr, Performer(people.LARS_HPR, "Lars Legevaktsen")),
                        outcome=Outcome.MANAGED_IN_PLACE,
                        note="",
                        request_id=f"bench-resolve-{next(count)}",
                        now=clock[0],
                    )

            def store_way(costs: Costs) -> None:
                clock[0] += STEP
                n = next(count)
                m = replace(
                    measurement(clock[0] - timedelta(minutes=1), 0, mid=f"bench-{n}"),
                    source_system=DEMO_EHR_ACTOR.client_id,
                    source_record_id=f"bench-{n}",
                )
                with costs.timed(None):
                    _, created = store.record_measurement(WRITTEN, m)
                if not created:
                    raise RuntimeError("the store's write found the measurement stored")

            escalates, below, alone, warm = Costs(), Costs(), Costs(), Costs()
            await grpc_way(ESCALATING, 7, warm)  # warm-up, untimed
            await grpc_way(BELOW, 0, warm)
            store_way(warm)
            gc.collect()
            for _ in range(rounds):
                for _ in range(calls):
                    await grpc_way(ESCALATING, 7, escalates)
                for _ in range(calls):
                    await grpc_way(BELOW, 0, below)
                for _ in range(calls):
                    store_way(alone)
            return RecordBench(database, calls * rounds, escalates.cost(), below.cost(), alone.cost())
        finally:
            engine.dispose()


# --- running and the report -------------------------------------------------------------------


def run(
    postgres: bool = True,
    episodes: int = EPISODES,
    batch: int = SWEEP_BATCH,
    record_calls: int = RECORD_CALLS,
    record_rounds: int = RECORD_ROUNDS,
) -> tuple[list[SweeperBench], list[RecordBench]]:
    """SQLite always; PostgreSQL too when asked for and its server binaries are installed. On
    PostgreSQL RecordVitalSigns runs first, on the fresh database (every episode it opens is resolved,
    so no timer of it is left for the sweeper's part)."""
    with tempfile.TemporaryDirectory(prefix="samhandling-bench-esc-") as tmp:
        settings = settings_for(Path(tmp) / "sweep")
        sweeps = [sweeper_bench(settings.database_url("summary"), SQLITE, settings, episodes, batch)]
        records = [asyncio.run(record_bench(settings_for(Path(tmp) / "record"), SQLITE, record_calls, record_rounds))]
        bin_dir = pg.find_bin_dir() if postgres else None
        if bin_dir is not None:
            with durable_postgres(bin_dir) as url:
                settings = settings_for(Path(tmp) / "pg", summary=url)
                records.append(asyncio.run(record_bench(settings, POSTGRES, record_calls, record_rounds)))
                sweeps.append(sweeper_bench(url, POSTGRES, settings, episodes, batch))
    return sweeps, records


def _row(name: str, fired: str, c: Cost, baseline: Cost, index: str = "") -> list[str]:
    return [
        name,
        fired,
        ms(c.wall.median_ns) if c.wall.calls == 1 else f"{ms(c.wall.median_ns)} ({ms(c.wall.p95_ns)})",
        ms(c.cpu_ns),
        ms(c.driver_ns),
        times(c.cpu_ns / baseline.cpu_ns),
        index,
    ]


def render(sweeps: list[SweeperBench], records: list[RecordBench]) -> list[str]:
    lines = [
        HEADING,
        "",
        "The sweeper among open episodes, and what escalating adds to RecordVitalSigns "
        '(bench/escalation.py, docs/escalation.md "Bench"). Times in ms: wall median (p95) per call; '
        "CPU of this process and time inside the database driver's executes, mean per call (per fired "
        "timer for a sweep that fires). × baseline divides CPU by the baseline's, measured in the same run.",
        "",
    ]
    for s in sweeps:
        rows = [
            _row("nothing due: sweep_once", "0", s.empty, s.empty_baseline, "yes" if s.empty_uses_index else "no"),
            _row("nothing due: plain indexed SELECT (baseline)", "0", s.empty_baseline, s.empty_baseline),
        ]
        for a in s.at:
            rows += [
                _row(
                    f"{a.proportion:.0%} due ({a.due:,}): sweep_once, per fired timer",
                    f"{a.fired:,}",
                    a.per_timer,
                    a.baseline,
                    "yes" if a.uses_index else "no",
                ),
                _row(
                    f"{a.proportion:.0%} due: plain SELECT of the batch's due rows (baseline)",
                    "",
                    a.baseline,
                    a.baseline,
                ),
            ]
        lines += [
            f"### Sweeper, {s.database}: {s.episodes:,} open episodes (built in {s.build_seconds:.1f} s)",
            "",
            *table(["", "fired", "wall", "CPU", "in the driver", "× baseline", "claim reads the due_at index"], rows),
            "",
            f"The claim's plan, nothing due: `{s.empty_plan}`",
            "",
            *(line for a in s.at for line in (f"The claim's plan, {a.proportion:.0%} due: `{a.plan}`", "")),
        ]
    for r in records:
        lines += [
            f"### RecordVitalSigns through the summary gRPC server, {r.database}: {r.calls} calls each",
            "",
            *table(
                ["", "wall", "CPU", "× baseline"],
                [
                    [
                        name,
                        f"{ms(c.wall.median_ns)} ({ms(c.wall.p95_ns)})",
                        ms(c.cpu_ns),
                        times(c.cpu_ns / r.store_write.cpu_ns),
                    ]
                    for name, c in (
                        ("opens an episode (a 7)", r.escalates),
                        ("below every trigger (a 0)", r.below_trigger),
                        ("the store's measurement write alone, in-process (baseline)", r.store_write),
                    )
                ],
            ),
            "",
            f"A call that opens an episode costs {times(r.escalates.cpu_ns / r.below_trigger.cpu_ns)} the CPU of "
            "one below every trigger.",
            "",
        ]
    return lines


def main() -> None:
    print("\n".join(render(*run())))


if __name__ == "__main__":
    main()
