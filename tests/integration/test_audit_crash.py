"""kill -9 of audit replicas under concurrent appends: two audit services run as real processes
(`samhandling serve audit`) on one PostgreSQL database, both appending, and one of them (each in
turn, so the integrator's leader too) is killed without warning at a random moment at least
CRASHES times and restarted. After each crash, while the victim is down: every acknowledged event
is stored exactly once at the sequence it was acknowledged with, the sequences are gap-free, and
the survivor's checkpoint comes to cover every stored event (it takes over leadership if the
victim held it). At the end: appends whose fate was unknown at a crash are retried with their
idempotency keys and stored once, the log verifies as `samhandling audit verify` checks it, every
pair of consecutive checkpoints the clients saw is proven consistent, and every checkpoint ever
stored is a prefix of the final log."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from services.audit import merkle
from services.audit.checkpoints import Checkpoint, NoteVerifier, open_checkpoint
from services.audit.main import BACKEND
from services.audit.merkle import Frontier
from services.audit.verification import LeafRecord, verify_log
from services.platform.db import make_engine
from services.platform.settings import Settings
from tests.fixtures.audit_events import BODO_AUDITOR, GATEWAY, event
from tests.fixtures.postgres import free_port
from tests.fixtures.processes import serve_process
from tests.support import BindsAssertions, asserted, settings_for

pytestmark = pytest.mark.postgres

CRASHES = 10
REPLICAS = 2
APPENDERS_PER_REPLICA = 4
SPARES = 2
TAKEOVER_SECONDS = 10.0  # bound on the survivor's checkpoint covering every event (about a second expected)
SERVICE = "/samhandling.audit.v1.AuditService/"
# Connect to a restarting process as soon as it listens, not after gRPC's 1 s default backoff.
FAST_RECONNECT = [
    ("grpc.initial_reconnect_backoff_ms", 20),
    ("grpc.min_reconnect_backoff_ms", 20),
    ("grpc.max_reconnect_backoff_ms", 100),
]


@dataclass
class Ledger:
    """What the clients know: acknowledged keys and sequences, keys of unanswered calls, checkpoints seen."""

    acked: dict[str, int] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)
    notes: set[str] = field(default_factory=set)
    append_seconds: float = 0.0
    stored_unanswered: int = 0  # appends committed but killed before their answer: found afterwards


def metadata(settings: Settings, method: str, actor=BODO_AUDITOR):
    return asserted(settings, "audit", SERVICE + method, actor=actor)


class Replica:
    """One audit service process on a fresh port: spawned, then connected to once it listens."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self._settings, self._log = settings, log
        self.process: subprocess.Popen | None = None
        self._channel: grpc.aio.Channel | None = None
        self.stub: audit_pb2_grpc.AuditServiceStub | None = None
        self.killed = False
        self._address = ""

    def spawn(self) -> Replica:
        self._address = f"127.0.0.1:{free_port()}"
        self.process = serve_process("audit", self._settings, self._address, self._log)
        return self

    async def connect(self) -> Replica:
        self._channel = grpc.aio.insecure_channel(
            self._address, options=FAST_RECONNECT, interceptors=BindsAssertions(self._settings).interceptors()
        )
        await asyncio.wait_for(self._channel.channel_ready(), timeout=30)
        self.stub = audit_pb2_grpc.AuditServiceStub(self._channel)
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.killed = True

    async def close(self) -> None:
        self.kill()
        if self.process is not None:
            self.process.wait(timeout=30)
        if self._channel is not None:
            await self._channel.close()


async def append_until(
    replica: Replica,
    settings: Settings,
    ledger: Ledger,
    rng: random.Random,
    name: str,
    retries: list[str],
    done: asyncio.Event,
    kill: tuple[Replica, int] | None,
) -> None:
    """Appends 1-3 events per call (first retrying `retries`) until `done` is set or its replica is
    gone; with `kill`, the appender that sees the kill_after-th acknowledgement kills the victim
    while other calls are in flight, and sets `done`."""
    n = 0
    while not done.is_set():
        if retries:
            keys, retries[:] = retries[:3], retries[3:]
        else:
            keys = [f"{name}-{n + i}" for i in range(rng.randint(1, 3))]
            n += len(keys)
        ledger.unknown.update(keys)
        request = audit_pb2.AppendEventsRequest(events=[event(key) for key in keys])
        try:
            answer = await replica.stub.AppendEvents(
                request, metadata=metadata(settings, "AppendEvents", GATEWAY), timeout=10
            )
        except grpc.aio.AioRpcError as exc:
            assert kill is not None and replica is kill[0] and replica.killed, exc
            assert exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED), exc
            return
        for stored in answer.events:
            assert ledger.acked.setdefault(stored.idempotency_key, stored.sequence) == stored.sequence
            ledger.unknown.discard(stored.idempotency_key)
        if kill is not None and len(ledger.acked) >= kill[1] and not done.is_set():
            kill[0].kill()
            done.set()


async def latest_note(replica: Replica, settings: Settings) -> str | None:
    try:
        answer = await replica.stub.GetCheckpoint(
            audit_pb2.GetCheckpointRequest(), metadata=metadata(settings, "GetCheckpoint"), timeout=10
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
            return None  # nothing signed yet, or the replica was just killed
        raise
    return answer.checkpoint


async def watch_checkpoints(replicas: list[Replica], settings: Settings, ledger: Ledger, done: asyncio.Event) -> None:
    while not done.is_set():
        for replica in replicas:
            if not replica.killed and (note := await latest_note(replica, settings)) is not None:
                ledger.notes.add(note)
        await asyncio.sleep(0.05)  # each look costs both sides an assertion: look now and then


def stored_events(engine: sa.Engine) -> list[tuple[int, str]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT sequence, idempotency_key FROM audit_events ORDER BY sequence"))
        return [tuple(row) for row in rows]


def check_stored(engine: sa.Engine, ledger: Ledger) -> int:
    """Every acknowledged event, once, at its acknowledged sequence, gap-free; returns the count."""
    stored = stored_events(engine)
    assert [sequence for sequence, _ in stored] == list(range(1, len(stored) + 1))  # gap-free
    by_key = {key: sequence for sequence, key in stored}
    assert len(by_key) == len(stored)  # each key once
    assert {key: by_key.get(key) for key in ledger.acked} == ledger.acked
    return len(stored)


async def covering_checkpoint(
    replica: Replica, settings: Settings, verifier: NoteVerifier, origin: str, size: int
) -> tuple[str, Checkpoint]:
    """The replica's checkpoint once it covers `size` events (the integrator lags by about a second)."""
    deadline = time.monotonic() + TAKEOVER_SECONDS
    while True:
        note = await latest_note(replica, settings)
        if note is not None and (checkpoint := open_checkpoint(note, [verifier], origin)).size >= size:
            assert checkpoint.size == size  # never beyond the committed events
            return note, checkpoint
        assert time.monotonic() < deadline, f"no checkpoint of {size} events within {TAKEOVER_SECONDS} s"
        await asyncio.sleep(0.01)


async def check_log(
    replica: Replica,
    settings: Settings,
    engine: sa.Engine,
    ledger: Ledger,
    verifier: NoteVerifier,
    origin: str,
    vkey: str,
) -> None:
    size = check_stored(engine, ledger)
    note, latest = await covering_checkpoint(replica, settings, verifier, origin, size)
    leaves = []
    for start in range(0, latest.size, 1000):
        page = await replica.stub.GetLeaves(
            audit_pb2.GetLeavesRequest(start=start, end=min(start + 1000, latest.size)),
            metadata=metadata(settings, "GetLeaves"),
        )
        leaves += [LeafRecord(leaf.index, leaf.leaf_hash, leaf.data) for leaf in page.leaves]
    assert all(leaf.data for leaf in leaves)  # the Bodø auditor sees every (Bodø) event
    assert verify_log(leaves, note, vkey, origin) == []  # as `samhandling audit verify` checks it

    # Consecutive checkpoints the clients saw, each proven consistent with the next.
    seen = sorted({open_checkpoint(n, [verifier], origin) for n in ledger.notes | {note}}, key=lambda c: c.size)
    assert len({c.size for c in seen}) == len(seen)  # one root per size
    for earlier, later in zip(seen, seen[1:], strict=False):
        proof = await replica.stub.GetConsistencyProof(
            audit_pb2.GetConsistencyProofRequest(first_size=earlier.size, second_size=later.size),
            metadata=metadata(settings, "GetConsistencyProof"),
        )
        merkle.verify_consistency(earlier.size, later.size, list(proof.hashes), earlier.root, later.root)

    # Every checkpoint any leader stored is the root of a prefix of the final log.
    with engine.connect() as connection:
        stored = dict(connection.execute(sa.text("SELECT size, note FROM audit_checkpoints")).all())
    frontier = Frontier.empty()
    for index, leaf in enumerate(leaves):
        frontier, _ = frontier.append(leaf.leaf_hash)
        if index + 1 in stored:
            assert open_checkpoint(stored[index + 1], [verifier], origin).root == frontier.root()
    assert max(stored) == latest.size


async def test_acknowledged_events_survive_kill_9_of_either_replica_and_the_log_stays_consistent(
    tmp_path: Path, postgres_url: str
):
    settings = settings_for(tmp_path, audit=postgres_url)
    BACKEND.migrate(settings)  # its own tables and the platform's (the replay claims)
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    ledger, log = Ledger(), tmp_path / "audit.log"
    engine = make_engine(settings.database_url("audit"))
    replicas = [Replica(settings, log).spawn() for _ in range(REPLICAS)]
    spares: deque[Replica] = deque()  # successors booting ahead: starting Python is most of a restart
    started = time.monotonic()
    try:
        await asyncio.gather(*(r.connect() for r in replicas))
        key = await replicas[0].stub.GetVerifierKey(
            audit_pb2.GetVerifierKeyRequest(), metadata=metadata(settings, "GetVerifierKey")
        )
        verifier = NoteVerifier.from_vkey(key.vkey)
        for crash in range(CRASHES):
            # The victims' successors boot while rounds run (more replicas, once they are up).
            while len(spares) < min(SPARES, CRASHES - crash):
                spares.append(Replica(settings, log).spawn())
            victim, survivor = replicas[crash % 2], replicas[1 - crash % 2]
            kill_after = len(ledger.acked) + rng.randint(5, 40)
            done = asyncio.Event()
            retries = sorted(ledger.unknown)
            ledger.unknown.clear()
            appenders = [
                append_until(
                    replica,
                    settings,
                    ledger,
                    rng,
                    f"c{crash}-r{r}-a{i}",
                    retries if (r, i) == (0, 0) else [],
                    done,
                    (victim, kill_after),
                )
                for r, replica in enumerate(replicas)
                for i in range(APPENDERS_PER_REPLICA)
            ]
            began = time.monotonic()
            watcher = asyncio.create_task(watch_checkpoints(replicas, settings, ledger, done))
            await asyncio.gather(*appenders)
            ledger.append_seconds += time.monotonic() - began
            ledger.unknown.update(retries)  # those not retried before the kill
            done.set()
            await watcher
            assert victim.process.wait(timeout=30) == -signal.SIGKILL, f"seed {seed}"
            # While the victim is down: nothing acknowledged is lost, and the survivor signs it all.
            size = check_stored(engine, ledger)
            await covering_checkpoint(survivor, settings, verifier, key.origin, size)
            ledger.stored_unanswered += len(ledger.unknown & {k for _, k in stored_events(engine)})
            await victim.close()
            replicas[crash % 2] = await spares.popleft().connect()
        retries = sorted(ledger.unknown)
        for start in range(0, len(retries), 500):
            answer = await replicas[0].stub.AppendEvents(
                audit_pb2.AppendEventsRequest(events=[event(k) for k in retries[start : start + 500]]),
                metadata=metadata(settings, "AppendEvents", GATEWAY),
            )
            for stored in answer.events:
                assert ledger.acked.setdefault(stored.idempotency_key, stored.sequence) == stored.sequence
        ledger.unknown.clear()
        await check_log(replicas[1], settings, engine, ledger, verifier, key.origin, key.vkey)
    finally:
        for replica in [*replicas, *spares]:
            await replica.close()
        engine.dispose()
    elapsed = time.monotonic() - started
    assert len(ledger.acked) >= CRASHES, f"seed {seed}"
    # Leadership moved: a replica leads only once the one before it died (none resigns otherwise).
    assert log.read_text().count("this replica leads") >= 2
    print(
        f"\n{CRASHES} kill -9 of {REPLICAS} replicas (seed {seed}): {len(ledger.acked)} events acknowledged, "
        f"{len(ledger.acked) / ledger.append_seconds:.0f} appends/s while appending, {len(ledger.notes)} "
        f"checkpoints seen, {elapsed:.1f} s in all; {ledger.stored_unanswered} unanswered appends found stored"
    )
