"""A patient's own proof of a log entry (GetPatientEventProof) over real gRPC on SQLite and
PostgreSQL: the version-2 leaf without openings, for the patient and whom consent permits the
access log; never another patient's event, never a version-1 leaf (it holds the person number and
the justification in the clear). The auditor's proof of the same event opens both. A log upgraded
from version 1 keeps verifying, old and new leaves side by side."""

from __future__ import annotations

import base64
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import grpc
import pytest
import sqlalchemy as sa
from alembic import command

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from samhandling.common.v1 import common_pb2
from services.audit.event_proof import verify_event_proof
from services.audit.leaves import leaf_bytes
from services.audit.main import BACKEND
from services.audit.merkle import leaf_hash
from services.audit.models import AuditEventRow, LogHeadRow
from services.audit.store import _columns
from services.audit.verification import LeafRecord, verify_log
from services.platform.db import alembic_config, make_engine
from services.platform.errors import error_info
from tests.fixtures import people
from tests.fixtures.audit_events import (
    BODO_AUDITOR,
    NURSE,
    OTHER_PATIENT,
    PATIENT,
    append,
    checkpointed,
    event,
    patient_actor,
    record,
)
from tests.support import asserted, running_backend, settings_for

SERVICE = "/samhandling.audit.v1.AuditService/"
GUARDIAN = people.MIKKEL  # a synthetic person acting for PATIENT where consent says so
WORDS = "Bevisstløs pasient innbrakt, trenger siste målinger"
EMERGENCY = dict(
    flagged=True,
    justification=WORDS,
    purpose_of_use=common_pb2.PURPOSE_OF_USE_ETREAT,
    access_basis=common_pb2.ACCESS_BASIS_EMERGENCY,
)


@pytest.fixture
def settings(tmp_path, db_url):
    return settings_for(tmp_path, audit=db_url)


def patient_proof(stub, settings, sequence: int, *, patient_id: str = PATIENT, actor=None, **fields):
    actor = actor or patient_actor(patient_id)
    return stub.GetPatientEventProof(
        audit_pb2.GetPatientEventProofRequest(patient_id=patient_id, sequence=sequence),
        metadata=asserted(
            settings, "audit", SERVICE + "GetPatientEventProof", actor=actor, patient_id=patient_id, **fields
        ),
    )


def auditor_proof(stub, settings, sequence: int):
    return stub.GetEventProof(
        audit_pb2.GetEventProofRequest(sequence=sequence),
        metadata=asserted(settings, "audit", SERVICE + "GetEventProof", actor=BODO_AUDITOR),
    )


async def verifier_key(stub, settings) -> audit_pb2.GetVerifierKeyResponse:
    return await stub.GetVerifierKey(
        audit_pb2.GetVerifierKeyRequest(),
        metadata=asserted(settings, "audit", SERVICE + "GetVerifierKey", actor=BODO_AUDITOR),
    )


async def refused(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return err.value.code(), error_info(err.value)[0]


def proof_bytes(text: str) -> bytes:
    """Everything a proof file holds, its base64 extra decoded too."""
    extra = text.split("\n")[1].removeprefix("extra ")
    return text.encode() + base64.b64decode(extra)


async def test_a_patient_proves_their_own_event_without_the_actor_pid_or_justification(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        await append(stub, settings, event("emergency", **EMERGENCY), event("other", OTHER_PATIENT), event("read"))
        await checkpointed(stub, settings, 3)
        key = await verifier_key(stub, settings)

        mine = (await patient_proof(stub, settings, 1)).proof
        proven = verify_event_proof(mine, key.vkey, key.origin)
        assert (proven.version, proven.opened, proven.members["flagged"]) == (2, {}, True)
        assert proven.members["patient_id"] == PATIENT
        # Search the bytes: neither the nurse's person number nor a word of the justification.
        held = proof_bytes(mine)
        assert NURSE.pid.encode() not in held and b"Bevissl" not in held and "målinger".encode() not in held
        assert proven.members["actor_name"] == NURSE.name  # what the patient's log shows stays

        # The auditor's proof of the same event opens both commitments, checked against the leaf.
        theirs = verify_event_proof((await auditor_proof(stub, settings, 1)).proof, key.vkey, key.origin)
        assert theirs.leaf == proven.leaf
        assert theirs.opened == {"actor_pid": NURSE.pid, "justification": WORDS}

        # Another patient's event is answered as one that does not exist, as is one not yet
        # checkpointed or never stored.
        for sequence in (2, 4, 1000):
            assert await refused(patient_proof(stub, settings, sequence)) == (
                grpc.StatusCode.NOT_FOUND,
                "EVENT_NOT_FOUND",
            )
        other = (await patient_proof(stub, settings, 2, patient_id=OTHER_PATIENT)).proof
        assert verify_event_proof(other, key.vkey, key.origin).members["patient_id"] == OTHER_PATIENT


async def test_whom_consent_permits_the_access_log_gets_the_proof_as_listevents_does(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        await append(stub, settings, event("emergency", **EMERGENCY))
        await checkpointed(stub, settings, 1)
        guardian = patient_actor(GUARDIAN)
        # The gateway's consent decision named the access log: a representative reads it.
        permitted = (
            await patient_proof(
                stub, settings, 1, actor=guardian, data_categories=(common_pb2.DATA_CATEGORY_ACCESS_LOG,)
            )
        ).proof
        assert NURSE.pid.encode() not in proof_bytes(permitted)
        # Without it, no more than ListEvents gives.
        assert await refused(patient_proof(stub, settings, 1, actor=guardian)) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "AUDIT_SCOPE_MISSING",
        )
        listed = stub.ListEvents(
            audit_pb2.ListEventsRequest(patient_id=PATIENT),
            metadata=asserted(settings, "audit", SERVICE + "ListEvents", actor=guardian, patient_id=PATIENT),
        )
        assert await refused(listed) == (grpc.StatusCode.PERMISSION_DENIED, "AUDIT_SCOPE_MISSING")
        # Auditors take GetEventProof (with openings), not the patient's.
        assert await refused(patient_proof(stub, settings, 1, actor=BODO_AUDITOR)) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "AUDIT_SCOPE_MISSING",
        )
        # The request's patient is the one the gateway decided for.
        mismatch = stub.GetPatientEventProof(
            audit_pb2.GetPatientEventProofRequest(patient_id=PATIENT, sequence=1),
            metadata=asserted(
                settings,
                "audit",
                SERVICE + "GetPatientEventProof",
                actor=patient_actor(OTHER_PATIENT),
                patient_id=OTHER_PATIENT,
            ),
        )
        assert await refused(mismatch) == (grpc.StatusCode.PERMISSION_DENIED, "ASSERTION_PATIENT_MISMATCH")
        for bad in (dict(sequence=0), dict(patient_id="123")):
            request = {"patient_id": PATIENT, "sequence": 1} | bad
            call = stub.GetPatientEventProof(
                audit_pb2.GetPatientEventProofRequest(**request),
                metadata=asserted(
                    settings,
                    "audit",
                    SERVICE + "GetPatientEventProof",
                    actor=patient_actor(PATIENT),
                    patient_id=PATIENT,
                ),
            )
            assert await refused(call) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")


def store_as_version_1(url: str, count: int) -> None:
    """The log as it stood before leaf version 2: the audit schema at revision 0001 and `count`
    events stored as that code stored them (version-1 leaves, no salts)."""
    command.upgrade(alembic_config(url, BACKEND.migrations), "0001")
    engine = make_engine(url)
    events = AuditEventRow.metadata.tables[AuditEventRow.__tablename__]
    try:
        with engine.begin() as connection:
            for sequence in range(1, count + 1):
                old = record(f"v1-{sequence}")
                if sequence == 1:
                    old = replace(old, flagged=True, justification=WORDS)
                event_id = uuid.uuid4()
                leaf = leaf_bytes(old, event_id=str(event_id), sequence=sequence)
                columns = {k: v for k, v in _columns(old).items() if k != "obligations"}  # not in 0001
                connection.execute(
                    sa.insert(events).values(
                        **columns,
                        event_id=event_id,
                        sequence=sequence,
                        leaf_hash=leaf_hash(leaf),
                        stored_at=datetime.now(UTC),
                    )
                )
            connection.execute(sa.update(LogHeadRow).where(LogHeadRow.id == 1).values(size=count))
    finally:
        engine.dispose()


async def test_a_log_upgraded_from_version_1_verifies_and_refuses_patients_the_old_leaves(settings, db_url):
    store_as_version_1(db_url, 2)
    async with running_backend("audit", settings) as channel:  # migrates to head: 0002
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        await append(stub, settings, event("v2-3", **EMERGENCY), event("v2-4"))
        note = await checkpointed(stub, settings, 4)
        key = await verifier_key(stub, settings)
        leaves = (
            await stub.GetLeaves(
                audit_pb2.GetLeavesRequest(start=0, end=4),
                metadata=asserted(settings, "audit", SERVICE + "GetLeaves", actor=BODO_AUDITOR),
            )
        ).leaves
        assert [leaf.data[0] for leaf in leaves] == [1, 1, 2, 2]
        assert verify_log([LeafRecord(x.index, x.leaf_hash, x.data) for x in leaves], note, key.vkey, key.origin) == []

        # The auditor proves old and new alike; an old leaf has nothing to open.
        old = verify_event_proof((await auditor_proof(stub, settings, 1)).proof, key.vkey, key.origin)
        assert (old.version, old.opened, old.members["justification"]) == (1, {}, WORDS)
        new = verify_event_proof((await auditor_proof(stub, settings, 3)).proof, key.vkey, key.origin)
        assert (new.version, new.opened["justification"]) == (2, WORDS)

        # A patient gets the new one, and a clear refusal for the old one, which would leak.
        assert await refused(patient_proof(stub, settings, 1)) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "EVENT_PROOF_NOT_PRIVATE",
        )
        assert verify_event_proof((await patient_proof(stub, settings, 3)).proof, key.vkey, key.origin).version == 2


async def test_the_decisions_obligations_are_stored_in_the_leaf_and_shown_to_auditors(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        both = [audit_pb2.OBLIGATION_NOTIFY_PATIENT, audit_pb2.OBLIGATION_FLAG_FOR_AUDIT]  # any order in
        await append(stub, settings, event("emergency", obligations=both, **EMERGENCY), event("read"))
        await checkpointed(stub, settings, 2)
        key = await verifier_key(stub, settings)
        opened = verify_event_proof((await auditor_proof(stub, settings, 1)).proof, key.vkey, key.origin)
        assert opened.members["obligations"] == "FLAG_FOR_AUDIT,NOTIFY_PATIENT"
        assert (
            verify_event_proof((await auditor_proof(stub, settings, 2)).proof, key.vkey, key.origin).members[
                "obligations"
            ]
            == ""
        )
        found = await stub.SearchEvents(
            audit_pb2.SearchEventsRequest(),
            metadata=asserted(settings, "audit", SERVICE + "SearchEvents", actor=BODO_AUDITOR),
        )
        assert [list(e.obligations) for e in found.events] == [
            [],
            [audit_pb2.OBLIGATION_FLAG_FOR_AUDIT, audit_pb2.OBLIGATION_NOTIFY_PATIENT],
        ]
        # An unknown, unspecified or repeated obligation refuses the append.
        for bad in ([7], [audit_pb2.OBLIGATION_UNSPECIFIED], [audit_pb2.OBLIGATION_NOTIFY_PATIENT] * 2):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await append(stub, settings, event(f"bad-{bad}", obligations=bad))
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert set(error_info(err.value)[1]) == {"events[0].obligations"}
