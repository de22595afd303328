"""kill -9 during concurrent appends: the audit service runs as a real process (`samhandling serve
audit`, SQLite), is killed without warning at a random moment at least 20 times, and after each
restart every acknowledged event is there exactly once at the sequence it was acknowledged with,
the sequences are gap-free, the log verifies against its latest signed checkpoint, and that
checkpoint is consistent with every checkpoint seen before the crash. Appends whose fate was
unknown at the crash are retried with their idempotency keys, and stored once."""
from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import sqlalchemy as sa

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from services.audit import merkle
from services.audit.checkpoints import NoteVerifier, open_checkpoint
from services.audit.main import BACKEND
from services.audit.verification import LeafRecord, verify_log
from services.platform.db import make_engine
from services.platform.settings import REPO_ROOT, Settings
from tests.integration.test_audit import BODO_AUDITOR, GATEWAY, event
from tests.support import BindsAssertions, asserted, settings_for

CRASHES = 20
APPENDERS = 8
SERVICE = "/samhandling.audit.v1.AuditService/"
# Connect to the restarting process as soon as it listens, not after gRPC's 1 s default backoff.
FAST_RECONNECT = [("grpc.initial_reconnect_backoff_ms", 20), ("grpc.min_reconnect_backoff_ms", 20),
                  ("grpc.max_reconnect_backoff_ms", 100)]


@dataclass
class Ledger:
    """What the clients know: acknowledged keys and sequences, keys of unanswered calls, checkpoints seen."""

    acked: dict[str, int] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    append_seconds: float = 0.0
    stored_unanswered: int = 0  # appends committed but killed before their answer: found after restart


def metadata(settings: Settings, method: str, actor=BODO_AUDITOR):
    return asserted(settings, "audit", SERVICE + method, actor=actor)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def audit_process(settings: Settings, log: Path) -> AsyncIterator[tuple[subprocess.Popen, object]]:
    """The audit service as its own process on a fresh port; killed with SIGKILL on the way out."""
    address = f"127.0.0.1:{free_port()}"
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "protos")]),
        "SAMHANDLING_VAR_DIR": str(settings.var_dir),
        "SAMHANDLING_AUDIT_ADDR": address,
    }
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "serve", "audit"], cwd=REPO_ROOT, env=env,
            stdout=output, stderr=output,
        )
    try:
        async with grpc.aio.insecure_channel(
            address, options=FAST_RECONNECT, interceptors=BindsAssertions(settings).interceptors()
        ) as channel:
            await asyncio.wait_for(channel.channel_ready(), timeout=30)
            yield process, audit_pb2_grpc.AuditServiceStub(channel)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)


async def append_until_killed(
    stub, settings: Settings, ledger: Ledger, process: subprocess.Popen, kill_after: int, rng: random.Random, name: str
) -> None:
    """Appends 1-3 events per call (first retrying the unknown ones) until the process is gone;
    the appender that sees the `kill_after`-th acknowledgement kills it while others are in flight."""
    retries = sorted(ledger.unknown)
    ledger.unknown.difference_update(retries)
    n = 0
    while True:
        if retries:
            keys, retries = retries[:3], retries[3:]
        else:
            keys = [f"{name}-{n + i}" for i in range(rng.randint(1, 3))]
            n += len(keys)
        ledger.unknown.update(keys)
        request = audit_pb2.AppendEventsRequest(events=[event(key) for key in keys])
        try:
            answer = await stub.AppendEvents(request, metadata=metadata(settings, "AppendEvents", GATEWAY), timeout=10)
        except grpc.aio.AioRpcError as exc:
            assert exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED), exc
            ledger.unknown.update(retries)
            return
        for stored in answer.events:
            assert ledger.acked.setdefault(stored.idempotency_key, stored.sequence) == stored.sequence
            ledger.unknown.discard(stored.idempotency_key)
        if len(ledger.acked) >= kill_after and process.poll() is None:
            process.send_signal(signal.SIGKILL)


async def retry_unknown(stub, settings: Settings, ledger: Ledger) -> None:
    """The last crash's unanswered appends, retried once more: stored once, whether they were before or not."""
    keys = sorted(ledger.unknown)
    for start in range(0, len(keys), 500):
        request = audit_pb2.AppendEventsRequest(events=[event(key) for key in keys[start : start + 500]])
        answer = await stub.AppendEvents(request, metadata=metadata(settings, "AppendEvents", GATEWAY))
        ledger.acked.update({stored.idempotency_key: stored.sequence for stored in answer.events})
    ledger.unknown.clear()


async def watch_checkpoints(stub, settings: Settings, ledger: Ledger) -> None:
    while True:
        try:
            answer = await stub.GetCheckpoint(
                audit_pb2.GetCheckpointRequest(), metadata=metadata(settings, "GetCheckpoint"), timeout=10
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:  # nothing appended yet
                continue
            return
        ledger.notes.append(answer.checkpoint)


async def check_restarted(stub, settings: Settings, ledger: Ledger) -> None:
    key = await stub.GetVerifierKey(audit_pb2.GetVerifierKeyRequest(), metadata=metadata(settings, "GetVerifierKey"))
    verifier = NoteVerifier.from_vkey(key.vkey)
    note = (await stub.GetCheckpoint(audit_pb2.GetCheckpointRequest(), metadata=metadata(settings, "GetCheckpoint")))
    latest = open_checkpoint(note.checkpoint, [verifier], key.origin)

    # Every acknowledged event, once, at its acknowledged sequence; nothing beyond the checkpoint.
    engine = make_engine(settings.database_url("audit"))
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT sequence, idempotency_key FROM audit_events ORDER BY sequence"))
            stored = [tuple(row) for row in rows]
    finally:
        engine.dispose()
    assert [sequence for sequence, _ in stored] == list(range(1, len(stored) + 1))  # gap-free
    by_key = {key: sequence for sequence, key in stored}
    assert len(by_key) == len(stored)  # each key once
    assert {key: by_key.get(key) for key in ledger.acked} == ledger.acked
    ledger.stored_unanswered += len(ledger.unknown & by_key.keys())
    assert latest.size == len(stored)  # the checkpoint covers every committed event

    leaves = []
    for start in range(0, latest.size, 1000):
        page = await stub.GetLeaves(
            audit_pb2.GetLeavesRequest(start=start, end=min(start + 1000, latest.size)),
            metadata=metadata(settings, "GetLeaves"),
        )
        leaves += [LeafRecord(leaf.index, leaf.leaf_hash, leaf.data) for leaf in page.leaves]
    assert all(leaf.data for leaf in leaves)  # the Bodø auditor sees every (Bodø) event
    assert verify_log(leaves, note.checkpoint, key.vkey, key.origin) == []

    for seen in {open_checkpoint(n, [verifier], key.origin) for n in ledger.notes}:
        proof = await stub.GetConsistencyProof(
            audit_pb2.GetConsistencyProofRequest(first_size=seen.size, second_size=latest.size),
            metadata=metadata(settings, "GetConsistencyProof"),
        )
        merkle.verify_consistency(seen.size, latest.size, list(proof.hashes), seen.root, latest.root)


async def test_acknowledged_events_survive_kill_9_and_the_log_stays_consistent(tmp_path: Path):
    settings = settings_for(tmp_path)
    BACKEND.migrate(settings)  # its own tables and the platform's (the replay claims)
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    ledger, log = Ledger(), tmp_path / "audit.log"
    started = time.monotonic()
    for crash in range(CRASHES + 1):
        async with audit_process(settings, log) as (process, stub):
            if crash:
                await check_restarted(stub, settings, ledger)
            if crash == CRASHES:
                await retry_unknown(stub, settings, ledger)
                await check_restarted(stub, settings, ledger)
                break
            kill_after = len(ledger.acked) + rng.randint(1, 60)
            began = time.monotonic()
            watcher = asyncio.create_task(watch_checkpoints(stub, settings, ledger))
            await asyncio.gather(*(
                append_until_killed(stub, settings, ledger, process, kill_after, rng, f"c{crash}-a{i}")
                for i in range(APPENDERS)
            ))
            ledger.append_seconds += time.monotonic() - began
            await watcher
            assert process.wait(timeout=30) == -signal.SIGKILL, f"seed {seed}"
    elapsed = time.monotonic() - started
    assert len(ledger.acked) >= CRASHES and not ledger.unknown, f"seed {seed}"
    print(
        f"\n{CRASHES} kill -9 (seed {seed}): {len(ledger.acked)} events acknowledged, "
        f"{len(ledger.acked) / ledger.append_seconds:.0f} appends/s while appending, {elapsed:.1f} s in all; "
        f"{ledger.stored_unanswered} unanswered appends found stored after a restart"
    )
