"""The audit log as a transparency log, over real gRPC and real databases (SQLite and PostgreSQL):
signed checkpoints, proofs that verify with services.audit.merkle and with the small independent
RFC 9162 checks below, leaves as each reader may see them, database guards, tampering made
visible, and group commit under concurrency."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from samhandling.common.v1 import common_pb2
from services.audit import convert, merkle
from services.audit.checkpoints import NoteVerifier, open_checkpoint
from services.audit.events import Action
from services.audit.integrator import Integrator, integrate
from services.audit.merkle import Frontier
from services.audit.read_scope import LeafScope, ReadScope
from services.audit.signer import DEV_ORIGIN, load_log_signer
from services.audit.store import AuditStore
from services.audit.verification import LeafRecord, verify_log
from services.platform.db import make_sessions
from services.platform.errors import error_info
from services.platform.vocabulary import Decision
from tests.fixtures.audit_events import (
    BAERUM_AUDITOR,
    BAERUM_NURSE,
    BODO,
    BODO_AUDITOR,
    GATEWAY,
    PATIENT,
    append,
    checkpointed,
    event,
    integrate_all,
    patient_actor,
    record,
)
from tests.support import asserted, running_backend, settings_for

SERVICE = "/samhandling.audit.v1.AuditService/"


@pytest.fixture
def settings(tmp_path, db_url):
    return settings_for(tmp_path, audit=db_url)


def call(stub, settings, name: str, request, actor=BODO_AUDITOR):
    return getattr(stub, name)(request, metadata=asserted(settings, "audit", SERVICE + name, actor=actor))


async def checkpoint_of(stub, settings, size: int) -> tuple[str, NoteVerifier, str]:
    """The latest checkpoint once it covers `size` events, the log's verifier and origin."""
    key = await call(stub, settings, "GetVerifierKey", audit_pb2.GetVerifierKeyRequest())
    note = await checkpointed(stub, settings, size)
    return note, NoteVerifier.from_vkey(key.vkey), key.origin


# Independent checks, written from RFC 9162 §2.1 and C2SP signed-note without services.audit.


def h_leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def h_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(hashes: list[bytes]) -> bytes:
    """MTH over leaf hashes (RFC 9162 §2.1.1), recursively."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return h_node(mth(hashes[:k]), mth(hashes[k:]))


def rfc_inclusion_holds(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2, step by step."""
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = h_node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = h_node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def rfc_consistency_holds(first: int, second: int, proof: list[bytes], first_root: bytes, second_root: bytes) -> bool:
    """RFC 9162 §2.1.4.2, step by step."""
    if first == second:
        return not proof and first_root == second_root
    if first & (first - 1) == 0:
        proof = [first_root, *proof]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = h_node(c, fr), h_node(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = h_node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0


def signed_by(note: str, vkey: str) -> tuple[str, int, bytes]:
    """(origin, size, root) of a checkpoint note whose Ed25519 signature verifies with the vkey."""
    name, key_id_hex, key = vkey.split("+", 2)
    text, signatures = note.split("\n\n", 1)
    line = next(s for s in signatures.splitlines() if s.startswith(f"\u2014 {name} "))
    signature = base64.b64decode(line.rsplit(" ", 1)[1])
    assert signature[:4].hex() == key_id_hex
    Ed25519PublicKey.from_public_bytes(base64.b64decode(key)[1:]).verify(signature[4:], (text + "\n").encode())
    origin, size, root = text.split("\n")
    return origin, int(size), base64.b64decode(root)


# Over gRPC.


async def test_every_append_is_covered_by_a_checkpoint_that_verifies(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        stored = (await append(stub, settings, *(event(f"k-{i}") for i in range(5)))).events
        note, verifier, origin = await checkpoint_of(stub, settings, 5)
        assert origin == DEV_ORIGIN and verifier.name == DEV_ORIGIN
        checkpoint = open_checkpoint(note, [verifier], origin)
        assert checkpoint.size == stored[-1].sequence == 5
        assert signed_by(note, verifier.vkey) == (origin, 5, checkpoint.root)

        leaves = (await call(stub, settings, "GetLeaves", audit_pb2.GetLeavesRequest(start=0, end=5))).leaves
        assert [leaf.index for leaf in leaves] == [0, 1, 2, 3, 4]
        assert all(h_leaf(leaf.data) == leaf.leaf_hash for leaf in leaves)  # a Bodø auditor sees Bodø events
        assert mth([h_leaf(leaf.data) for leaf in leaves]) == checkpoint.root
        assert verify_log([LeafRecord(x.index, x.leaf_hash, x.data) for x in leaves], note, verifier.vkey, origin) == []


async def test_proofs_verify_for_every_leaf_and_every_earlier_size(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        roots = {}
        for size in range(1, 12):  # one event at a time, checkpointed before the next: one at every size
            await append(stub, settings, event(f"k-{size}"))
            note, verifier, origin = await checkpoint_of(stub, settings, size)
            roots[size] = open_checkpoint(note, [verifier], origin).root
        leaves = (await call(stub, settings, "GetLeaves", audit_pb2.GetLeavesRequest(start=0, end=11))).leaves
        hashes = [leaf.leaf_hash for leaf in leaves]
        for size, root in roots.items():
            assert mth(hashes[:size]) == root
            for index in range(size):
                request = audit_pb2.GetInclusionProofRequest(leaf_index=index, tree_size=size)
                proof = list((await call(stub, settings, "GetInclusionProof", request)).hashes)
                merkle.verify_inclusion(index, size, hashes[index], proof, root)
                assert rfc_inclusion_holds(index, size, hashes[index], proof, root)
            for first in range(1, size + 1):
                request = audit_pb2.GetConsistencyProofRequest(first_size=first, second_size=size)
                proof = list((await call(stub, settings, "GetConsistencyProof", request)).hashes)
                merkle.verify_consistency(first, size, proof, roots[first], root)
                assert rfc_consistency_holds(first, size, proof, roots[first], root)
        # The independent checks are not vacuous: a wrong root fails both.
        proof = list(
            (
                await call(
                    stub, settings, "GetInclusionProof", audit_pb2.GetInclusionProofRequest(leaf_index=3, tree_size=11)
                )
            ).hashes
        )
        assert not rfc_inclusion_holds(3, 11, hashes[3], proof, roots[10])
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(3, 11, hashes[3], proof, roots[10])


async def test_leaves_show_data_only_of_the_readers_own_organisation(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        emergency = event(
            "k-3",
            access_basis=common_pb2.ACCESS_BASIS_EMERGENCY,
            flagged=True,
            justification="Bevisstløs",
            purpose_of_use=common_pb2.PURPOSE_OF_USE_UNSPECIFIED,
        )
        await append(stub, settings, event("k-1"), event("k-2", actor=BAERUM_NURSE), emergency)
        await checkpointed(stub, settings, 3)
        request = audit_pb2.GetLeavesRequest(start=0, end=3)
        seen = {}
        for name, actor in {
            "bodo": BODO_AUDITOR,
            "baerum": BAERUM_AUDITOR,
            "patient": patient_actor(PATIENT),
            "gateway": GATEWAY,
        }.items():
            leaves = (await call(stub, settings, "GetLeaves", request, actor=actor)).leaves
            assert all(h_leaf(x.data) == x.leaf_hash for x in leaves if x.data)
            seen[name] = [bool(x.data) for x in leaves]
            hashes = [x.leaf_hash for x in leaves]
            assert len(hashes) == 3 and all(len(h) == 32 for h in hashes)  # every hash, whoever reads
        assert seen == {
            "bodo": [True, False, True],
            "baerum": [False, True, False],
            "patient": [False, False, False],
            "gateway": [False, False, False],
        }


async def test_sizes_beyond_the_latest_checkpoint_are_refused(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(stub, settings, "GetCheckpoint", audit_pb2.GetCheckpointRequest())
        assert err.value.code() == grpc.StatusCode.NOT_FOUND and error_info(err.value)[0] == "NO_CHECKPOINT"
        await append(stub, settings, *(event(f"k-{i}") for i in range(3)))
        await checkpointed(stub, settings, 3)
        refused = {
            "GetInclusionProof": [
                (audit_pb2.GetInclusionProofRequest(leaf_index=0, tree_size=4), {"tree_size"}),
                (audit_pb2.GetInclusionProofRequest(leaf_index=3, tree_size=3), {"leaf_index"}),
                (audit_pb2.GetInclusionProofRequest(leaf_index=-1, tree_size=0), {"leaf_index", "tree_size"}),
            ],
            "GetConsistencyProof": [
                (audit_pb2.GetConsistencyProofRequest(first_size=0, second_size=3), {"first_size"}),
                (audit_pb2.GetConsistencyProofRequest(first_size=3, second_size=2), {"first_size"}),
                (audit_pb2.GetConsistencyProofRequest(first_size=1, second_size=4), {"second_size"}),
            ],
            "GetLeaves": [
                (audit_pb2.GetLeavesRequest(start=0, end=4), {"end"}),
                (audit_pb2.GetLeavesRequest(start=2, end=2), {"end"}),
                (audit_pb2.GetLeavesRequest(start=3, end=4), {"start", "end"}),
                (audit_pb2.GetLeavesRequest(start=-1, end=1), {"start"}),
            ],
        }
        for name, cases in refused.items():
            for request, fields in cases:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await call(stub, settings, name, request)
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (name, request)
                assert set(error_info(err.value)[1]) == fields, (name, request)
        equal = audit_pb2.GetConsistencyProofRequest(first_size=3, second_size=3)
        assert list((await call(stub, settings, "GetConsistencyProof", equal)).hashes) == []


async def test_concurrent_appends_are_group_committed_gap_free_and_checkpointed(settings, audit_engine):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        answers = await asyncio.gather(*(append(stub, settings, event(f"k-{i}")) for i in range(50)))
        sequences = sorted(a.events[0].sequence for a in answers)
        assert sequences == list(range(1, 51))
        note, verifier, origin = await checkpoint_of(stub, settings, 50)
        checkpoint = open_checkpoint(note, [verifier], origin)
        assert checkpoint.size == 50
        leaves = (await call(stub, settings, "GetLeaves", audit_pb2.GetLeavesRequest(start=0, end=50))).leaves
        assert mth([h_leaf(x.data) for x in leaves]) == checkpoint.root
        by_key = {a.events[0].idempotency_key: a.events[0].sequence for a in answers}
        assert all(f'"idempotency_key":"{key}"' in leaves[seq - 1].data.decode() for key, seq in by_key.items())
    with audit_engine.connect() as connection:
        notes = connection.execute(sa.text("SELECT size, note FROM audit_checkpoints ORDER BY size")).all()
    # Every stored checkpoint verifies and extends the one before.
    signer = load_log_signer(settings)
    opened = [signer.open(note) for _, note in notes]
    assert [c.size for c in opened] == [size for size, _ in notes] and opened[-1].size == 50
    assert len(opened) < 50  # calls shared transactions, and checkpoints cover several commits
    for earlier in opened[:-1]:
        proof = AuditStore(make_sessions(audit_engine)).consistency_proof(earlier.size, 50)
        merkle.verify_consistency(earlier.size, 50, proof, earlier.root, checkpoint.root)


# On the store and the database directly.


def test_the_database_refuses_to_change_the_tree_or_its_checkpoints(audit_engine, tmp_path):
    store, signer = AuditStore(make_sessions(audit_engine)), load_log_signer(settings_for(tmp_path))
    store.append([record(f"k-{i}") for i in range(4)])
    assert integrate_all(audit_engine, signer) == 4
    statements = [
        "UPDATE audit_nodes SET hash = hash",
        "DELETE FROM audit_nodes",
        "UPDATE audit_checkpoints SET note = 'forged'",
        "DELETE FROM audit_checkpoints",
        "UPDATE audit_events SET leaf_hash = leaf_hash",
    ]
    if audit_engine.dialect.name == "postgresql":
        statements += ["TRUNCATE audit_nodes", "TRUNCATE audit_checkpoints"]
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), audit_engine.begin() as connection:
            connection.execute(sa.text(statement))
    with audit_engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM audit_nodes")).scalar_one() == 3  # 2 pairs + root
        assert connection.execute(sa.text("SELECT size FROM audit_checkpoints")).scalars().all() == [4]


def drop_guard(engine: sa.Engine, table: str) -> None:
    """What an attacker with database rights does first."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(sa.text(f"DROP TRIGGER {table}_no_update"))
            connection.execute(sa.text(f"DROP TRIGGER {table}_no_delete"))
        else:
            connection.execute(sa.text(f"DROP TRIGGER {table}_no_update_delete ON {table}"))


def log_as_auditor(store: AuditStore, size: int) -> list[LeafRecord]:
    return [LeafRecord(*leaf) for leaf in store.leaves(0, size, LeafScope(BODO))]


def test_a_changed_event_no_longer_matches_its_leaf_or_the_signed_root(audit_engine, tmp_path):
    store, signer = AuditStore(make_sessions(audit_engine)), load_log_signer(settings_for(tmp_path))
    store.append([record(f"k-{i}") for i in range(6)])
    integrate_all(audit_engine, signer)
    note, vkey = store.latest_checkpoint().note, signer.verifier.vkey
    assert verify_log(log_as_auditor(store, 6), note, vkey, DEV_ORIGIN) == []

    drop_guard(audit_engine, "audit_events")
    with audit_engine.begin() as connection:
        connection.execute(sa.text("UPDATE audit_events SET decision = 'DENY' WHERE sequence = 3"))
    # Leaf hashes are served as recomputed from the rows, so the change breaks the signed root:
    problems = verify_log(log_as_auditor(store, 6), note, vkey, DEV_ORIGIN)
    assert len(problems) == 1 and "do not hash to the signed root" in problems[0]
    # also for a reader who may not see the event's data (another organisation's auditor),
    hashes_only = [LeafRecord(i, h) for i, h, _ in store.leaves(0, 6, LeafScope(None))]
    assert len(verify_log(hashes_only, note, vkey, DEV_ORIGIN)) == 1
    # and storing the changed event's leaf hash too changes nothing: the served hash is recomputed.
    forged = store.leaves(2, 3, LeafScope(BODO))[0][2]
    with audit_engine.begin() as connection:
        connection.execute(sa.text("UPDATE audit_events SET leaf_hash = :h WHERE sequence = 3"), {"h": h_leaf(forged)})
    assert len(verify_log(log_as_auditor(store, 6), note, vkey, DEV_ORIGIN)) == 1

    # A removed event leaves a hole.
    with audit_engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_events WHERE sequence = 5"))
    problems = verify_log(log_as_auditor(store, 6), note, vkey, DEV_ORIGIN)
    assert "1 of the checkpoint's 6 leaves are missing or malformed" in problems


def test_no_checkpoint_is_signed_over_a_rewritten_tree(audit_engine, tmp_path, caplog):
    signer = load_log_signer(settings_for(tmp_path))
    store = AuditStore(make_sessions(audit_engine))
    store.append([record(f"k-{i}") for i in range(4)])
    assert integrate_all(audit_engine, signer) == 4
    drop_guard(audit_engine, "audit_nodes")
    with audit_engine.begin() as connection:
        connection.execute(sa.text("UPDATE audit_nodes SET hash = :h WHERE level = 2"), {"h": bytes(32)})
    rows = store.append([record("k-new")])
    assert rows[0].sequence == 5  # the event is kept all the same
    leader = Integrator(audit_engine, signer)  # a new leader rebuilds its frontier from the rewritten nodes
    with caplog.at_level(logging.CRITICAL, logger="services.audit.integrator"):
        assert leader.step() == 0
        assert leader.step() == 0  # and keeps refusing, saying so once
    leader.stop()
    assert store.latest_checkpoint().size == 4
    assert caplog.text.count("refusing to sign a checkpoint") == 1
    assert "root at the signed size is not the signed root" in caplog.text


def test_leaders_taking_turns_keep_one_consistent_tree(audit_engine, tmp_path):
    """Two integrators (leaders one after the other, as after a failover) each trust the frontier
    they cached only while it is the latest checkpoint's, by size and root."""
    signer = load_log_signer(settings_for(tmp_path))
    store = AuditStore(make_sessions(audit_engine))
    first, second = Integrator(audit_engine, signer), Integrator(audit_engine, signer)
    roots = {}
    for i in range(6):  # each finds the checkpoint moved on by the other, and re-reads the tree
        store.append([record(f"k-{i}")])
        leader, other = (first, second) if i % 2 else (second, first)
        assert leader.step() == 1
        if audit_engine.dialect.name == "postgresql":  # one leader at a time: the other waits for the lock
            store.append([record(f"k-{i}-later")])
            assert other.step() == 0 and not other.leading
            assert leader.step() == 1
        leader.resign()  # as a replica going down: the other takes over
        roots[store.latest_checkpoint().size] = signer.open(store.latest_checkpoint().note).root
    size = store.latest_checkpoint().size
    hashes = [h for _, h, _ in store.leaves(0, size, LeafScope(None))]
    assert len(roots) == 6 and all(mth(hashes[:size]) == root for size, root in roots.items())
    first.stop()
    second.stop()


def test_a_cached_frontier_of_the_right_size_but_another_root_is_not_trusted(audit_engine, tmp_path):
    signer = load_log_signer(settings_for(tmp_path))
    store = AuditStore(make_sessions(audit_engine))
    store.append([record(f"k-{i}") for i in range(4)])
    assert integrate_all(audit_engine, signer) == 4
    old = signer.open(store.latest_checkpoint().note)
    wrong = Frontier.empty()
    for n in range(4):
        wrong, _ = wrong.append(merkle.leaf_hash(bytes([n])))
    store.append([record("k-4"), record("k-5")])
    with audit_engine.connect() as connection:
        step = integrate(connection, signer, wrong, datetime.now(UTC))
    assert step.added == 2
    new = signer.open(store.latest_checkpoint().note)
    assert new.size == 6 and new.root == mth([h for _, h, _ in store.leaves(0, 6, LeafScope(None))])
    merkle.verify_consistency(4, 6, store.consistency_proof(4, 6), old.root, new.root)


def test_integration_stops_at_a_gap_rather_than_skip_a_sequence(audit_engine, tmp_path):
    """Committed sequences are a prefix (an append holds the log's lock until its commit); should
    one ever be missing, the integrator signs the run before it and waits, never skipping it."""
    signer = load_log_signer(settings_for(tmp_path))
    store = AuditStore(make_sessions(audit_engine))
    store.append([record("k-0"), record("k-1")])
    with audit_engine.begin() as connection:  # sequence 3 reserved, 4 committed: 3 is "still in flight"
        connection.execute(sa.text("UPDATE audit_log_head SET size = size + 1"))
    store.append([record("k-3")])
    assert integrate_all(audit_engine, signer) == 2


def test_an_append_answers_each_event_as_the_log_reads_it_back(audit_engine):
    """The store answers an append with the records it was given (no row is read back), so what
    the gateway is told must be what every later read of the log shows, on the wire too."""
    store = AuditStore(make_sessions(audit_engine))
    records = [
        record("k-0"),
        replace(
            record("k-1"),
            flagged=True,
            justification="Akutt",
            obligations="FLAG_FOR_AUDIT,NOTIFY_PATIENT",
            action=Action.CREATE,
            decision=Decision.DENY,
        ),
        record("k-0"),  # repeated in the batch: stored once, answered twice
    ]
    appended = store.append(records)
    assert [e.sequence for e in appended] == [1, 2, 1] and appended[0] == appended[2]
    repeated = store.append(records)  # every key stored: read back from the database
    listed = list(reversed(store.list_events(ReadScope(PATIENT, None, True), 10)))
    assert appended == repeated == listed[:2] + listed[:1]
    wire = [convert.event(e).SerializeToString() for e in appended]
    assert wire == [convert.event(e).SerializeToString() for e in repeated]


def test_between_an_append_and_its_checkpoint_the_event_is_listed_but_not_yet_proven(audit_engine, tmp_path):
    signer = load_log_signer(settings_for(tmp_path))
    store = AuditStore(make_sessions(audit_engine))
    store.append([record("k-0")])
    assert integrate_all(audit_engine, signer) == 1
    [row] = store.append([record("k-1")])  # acknowledged: durable and sequenced
    assert row.sequence == 2
    assert [r.sequence for r in store.list_events(ReadScope(PATIENT, BODO, True), 10)] == [2, 1]
    assert store.event_proof(2) is None  # no checkpoint covers it yet: nothing proven against an unsigned root
    assert store.latest_checkpoint().size == 1
    assert integrate_all(audit_engine, signer) == 2
    proof = store.event_proof(2)
    assert proof is not None and signer.open(proof.checkpoint_note).size == 2
    merkle.verify_inclusion(
        1,
        2,
        merkle.leaf_hash(store.leaves(1, 2, LeafScope(BODO))[0][2]),
        proof.hashes,
        signer.open(proof.checkpoint_note).root,
    )


def test_checkpoint_lag_counts_acknowledged_events_not_yet_signed_and_how_long_the_oldest_waited(
    audit_engine, tmp_path
):
    """What the samhandling.audit.checkpoint.lag.* gauges report (services/audit/metrics.py)."""
    signer = load_log_signer(settings_for(tmp_path))
    now = [datetime(2026, 12, 5, 3, 0, tzinfo=UTC)]
    store = AuditStore(make_sessions(audit_engine), clock=lambda: now[0])
    assert store.checkpoint_lag() == (0, 0.0)  # an empty log is caught up
    store.append([record("k-0")])
    now[0] += timedelta(seconds=3)
    store.append([record("k-1"), record("k-2")])
    now[0] += timedelta(seconds=4.5)
    assert store.checkpoint_lag() == (3, 7.5)  # three acknowledged, the oldest 7.5 s ago
    assert integrate_all(audit_engine, signer) == 3
    assert store.checkpoint_lag() == (0, 0.0)
    store.append([record("k-3")])
    now[0] += timedelta(seconds=1)
    assert store.checkpoint_lag() == (1, 1.0)  # from the first event after the checkpoint
