"""Auditors' signals and offline event proofs over real gRPC, on SQLite and PostgreSQL: signals only
from the auditor's own organisation, proofs that verify with nothing but the log's vkey and origin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from samhandling.common.v1 import common_pb2
from services.audit.event_proof import EventProofError, verify_event_proof
from services.audit.signals import REPEATED_DENIALS_THRESHOLD
from services.platform.protomap import to_timestamp
from tests.fixtures.audit_events import (
    BAERUM_AUDITOR,
    BAERUM_NURSE,
    BODO_AUDITOR,
    DOCTOR,
    NURSE,
    checkpointed,
)
from tests.fixtures.audit_search_events import NOT_AN_ORGANISATIONS_AUDITOR, SERVICE, T0, append, event, refused
from tests.support import asserted, running_backend, settings_for

DAY = {"start_time": to_timestamp(T0 - timedelta(hours=8)), "end_time": to_timestamp(T0 + timedelta(hours=12))}
EMERGENCY = {
    "purpose_of_use": common_pb2.PURPOSE_OF_USE_ETREAT,
    "access_basis": common_pb2.ACCESS_BASIS_EMERGENCY,
    "flagged": True,
    "justification": "Bevisstløs",
}
DENIED = {"decision": common_pb2.DECISION_DENY, "access_basis": common_pb2.ACCESS_BASIS_RESTRICTION}


@pytest.fixture
def settings(tmp_path, db_url):
    return settings_for(tmp_path, audit=db_url)


async def list_signals(stub, settings, actor=BODO_AUDITOR, **fields) -> audit_pb2.ListSignalsResponse:
    return await stub.ListSignals(
        audit_pb2.ListSignalsRequest(**fields),
        metadata=asserted(settings, "audit", SERVICE + "ListSignals", actor=actor),
    )


async def event_proof(stub, settings, sequence: int, actor=BODO_AUDITOR) -> str:
    response = await stub.GetEventProof(
        audit_pb2.GetEventProofRequest(sequence=sequence),
        metadata=asserted(settings, "audit", SERVICE + "GetEventProof", actor=actor),
    )
    return response.proof


async def test_signals_of_the_auditors_own_organisation(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        await append(
            stub,
            settings,
            event("doctor-emergency", DOCTOR, minute=5, **EMERGENCY),
            *(event(f"nurse-denied-{i}", minute=10 + i, **DENIED) for i in range(REPEATED_DENIALS_THRESHOLD)),
            event("nurse-read", minute=20),
            # The neighbour's actor does the same: it never shows in Bodø's signals.
            event("baerum-emergency", BAERUM_NURSE, minute=6, **EMERGENCY),
            *(event(f"baerum-denied-{i}", BAERUM_NURSE, minute=30 + i, **DENIED) for i in range(5)),
            # Another day, outside the range asked for.
            event("doctor-emergency-later", DOCTOR, minute=24 * 60, **EMERGENCY),
        )
        found = (await list_signals(stub, settings, **DAY)).signals
        assert [(s.kind, s.actor.hpr_number) for s in found] == [
            (audit_pb2.SIGNAL_KIND_EMERGENCY_OVERRIDE, DOCTOR.hpr_number),
            (audit_pb2.SIGNAL_KIND_RESTRICTED_ACCESS, DOCTOR.hpr_number),
            (audit_pb2.SIGNAL_KIND_REPEATED_DENIALS, NURSE.hpr_number),
        ]
        emergency, _, denials = found
        assert (emergency.day.year, emergency.day.month, emergency.day.day) == (2026, 1, 5)
        assert [e.idempotency_key for e in emergency.events] == ["doctor-emergency"]
        # Auditors see the events in full, as SearchEvents shows them.
        assert (emergency.events[0].actor.pid, emergency.events[0].justification) == (DOCTOR.pid, "Bevisstløs")
        assert [e.idempotency_key for e in denials.events] == ["nurse-denied-2", "nurse-denied-1", "nurse-denied-0"]
        assert denials.summary == "Sigrid Sykepleiersen (HPR 990000101) was denied access 3 times on 2026-01-05."
        for signal in found:
            assert NURSE.pid not in signal.summary and DOCTOR.pid not in signal.summary
            assert {e.actor.orgnr_parent for e in signal.events} == {NURSE.orgnr_parent}
        only = await list_signals(stub, settings, kind=audit_pb2.SIGNAL_KIND_REPEATED_DENIALS, **DAY)
        assert [s.summary for s in only.signals] == [denials.summary]
        baerum = (await list_signals(stub, settings, BAERUM_AUDITOR, **DAY)).signals
        assert {e.actor.orgnr_parent for s in baerum for e in s.events} == {BAERUM_NURSE.orgnr_parent}
        # By default the last 7 days: these events are long past.
        assert not (await list_signals(stub, settings)).signals


@pytest.mark.parametrize("actor", NOT_AN_ORGANISATIONS_AUDITOR)
async def test_only_an_organisations_auditor_lists_signals_or_gets_proofs(settings, actor):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        await append(stub, settings, event("nurse-read"))
        for call in (list_signals(stub, settings, actor, kind=99), event_proof(stub, settings, 1, actor)):
            code, reason, _ = await refused(call)
            assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "AUDIT_SCOPE_MISSING")


async def test_invalid_signal_requests_name_their_fields(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        _, _, violations = await refused(
            list_signals(stub, settings, start_time=DAY["end_time"], end_time=DAY["end_time"])
        )
        assert set(violations) == {"start_time"}
        _, _, violations = await refused(list_signals(stub, settings, kind=99, **DAY))
        assert violations == {"kind": "unknown value 99"}
        _, _, violations = await refused(
            list_signals(stub, settings, start_time=to_timestamp(T0 - timedelta(days=32)), end_time=DAY["end_time"])
        )
        assert set(violations) == {"end_time"}
        # Year 1 is a valid Timestamp, but no range ends there.
        _, _, violations = await refused(
            list_signals(stub, settings, end_time=to_timestamp(datetime(1, 1, 2, tzinfo=UTC)))
        )
        assert set(violations) == {"end_time"}


async def test_an_event_proof_verifies_offline_with_only_the_vkey(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        await append(stub, settings, *(event(f"read-{i}", minute=i) for i in range(5)))
        await append(stub, settings, event("baerum-read", BAERUM_NURSE), event("last", DOCTOR))
        await checkpointed(stub, settings, 7)  # a proof is given once a checkpoint covers the event
        key = await stub.GetVerifierKey(
            audit_pb2.GetVerifierKeyRequest(),
            metadata=asserted(settings, "audit", SERVICE + "GetVerifierKey", actor=BODO_AUDITOR),
        )
        leaves = (
            await stub.GetLeaves(
                audit_pb2.GetLeavesRequest(start=0, end=7),
                metadata=asserted(settings, "audit", SERVICE + "GetLeaves", actor=BODO_AUDITOR),
            )
        ).leaves
        for sequence in (1, 4, 7):
            proof = await event_proof(stub, settings, sequence)
            assert proof.startswith("c2sp.org/tlog-proof@v1\nextra ")
            assert f"\nindex {sequence - 1}\n" in proof
            # Offline: nothing but the vkey and the origin.
            proven = verify_event_proof(proof, key.vkey, key.origin)
            assert proven.leaf == leaves[sequence - 1].data and proven.version == 2
            # The auditor's proof opens the commitments to the person number and justification.
            assert proven.opened == {"actor_pid": (NURSE if sequence < 7 else DOCTOR).pid, "justification": ""}
            with pytest.raises(EventProofError):
                verify_event_proof(proof.replace("\n\n", "\n\n\n", 1), key.vkey, key.origin)
        # The neighbour's event is the neighbour's auditor's to prove.
        code, reason, _ = await refused(event_proof(stub, settings, 6))
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "AUDIT_SCOPE_MISSING")
        baerum_proof = await event_proof(stub, settings, 6, BAERUM_AUDITOR)
        assert b'"idempotency_key":"baerum-read"' in verify_event_proof(baerum_proof, key.vkey, key.origin).leaf
        for sequence in (8, 1000):
            code, reason, _ = await refused(event_proof(stub, settings, sequence))
            assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "EVENT_NOT_FOUND")
        code, _, violations = await refused(event_proof(stub, settings, 0))
        assert (code, set(violations)) == (grpc.StatusCode.INVALID_ARGUMENT, {"sequence"})


def largest_events(days: int, per_day: int = 100, *, widest: bool = False) -> list[audit_pb2.AuditEvent]:
    """Emergency events of large size (~4.5 kB each): the texts an auditor reads at their limit in
    4-byte characters; `widest` also the rule ids and method (~10 kB each), so that even their
    version-2 leaves, which hold the justification only as a commitment, are large."""
    longest = "𝄞"
    big = common_pb2.Actor()
    big.CopyFrom(DOCTOR)
    big.name, big.client_name = longest * 200, longest * 200
    wide = {"decided_by": longest * 1000, "method": longest * 200} if widest else {}
    return [
        event(
            f"emergency-{day}-{i:03d}".ljust(100, "x"),
            big,
            minute=day * 24 * 60 + i,
            **(EMERGENCY | {"justification": longest * 500, "decision_id": f"d-{day}-{i}"} | wide),
        )
        for day in range(days)
        for i in range(per_day)
    ]


async def test_signals_of_maximum_size_come_in_pages_under_the_message_limit(settings):
    """A signal carries up to 100 events of up to ~4.5 kB: ListSignals pages them (AIP-158) and a
    page stops at the byte budget, so no answer reaches gRPC's 4 MiB limit (docs/limits.md)."""
    days = 5
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        await append(stub, settings, *largest_events(days))
        span = {
            "start_time": to_timestamp(T0 - timedelta(hours=8)),
            "end_time": to_timestamp(T0 + timedelta(days=days)),
        }
        seen, token, sizes = [], "", []
        while True:
            page = await list_signals(stub, settings, page_token=token, **span)
            sizes.append(page.ByteSize())
            seen += [(s.kind, s.day.day, len(s.events)) for s in page.signals]
            if not (token := page.next_page_token):
                break
        # emergency override, restricted access and unusual volume, each day
        assert len(seen) == len(set(seen)) == 3 * days and {n for _, _, n in seen} == {100}
        assert len(sizes) > 1 and max(sizes) < 4 * 1024 * 1024 > sum(sizes) / len(sizes)
        one = await list_signals(stub, settings, page_size=1, **span)
        assert [(s.kind, s.day.day) for s in one.signals] == [seen[0][:2]] and one.next_page_token
        for paging in ({"page_size": 51}, {"page_size": -1}, {"page_token": "djE6OTIyMzM3MjAzNjg1NDc3NTgwOA=="}):
            _, _, violations = await refused(list_signals(stub, settings, **paging, **span))
            assert set(violations) == set(paging)


@pytest.mark.parametrize("export_format", [audit_pb2.EXPORT_FORMAT_CSV, audit_pb2.EXPORT_FORMAT_FHIR_JSON])
async def test_an_export_of_maximum_size_events_stays_under_the_message_limit(settings, export_format):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        events = largest_events(3, 400)
        for start in range(0, len(events), 400):  # at most 500 events per AppendEvents
            await append(stub, settings, *events[start : start + 400])
        limit = 1200 if export_format == audit_pb2.EXPORT_FORMAT_CSV else 500
        exported = await stub.ExportEvents(
            audit_pb2.ExportEventsRequest(format=export_format, limit=limit),
            metadata=asserted(settings, "audit", SERVICE + "ExportEvents", actor=BODO_AUDITOR),
        )
        assert exported.truncated and 0 < exported.event_count < limit
        assert exported.ByteSize() < 4 * 1024 * 1024


async def test_leaves_of_maximum_size_events_come_as_many_as_fit(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        events = largest_events(2, 500, widest=True)
        for start in range(0, len(events), 250):  # an append's request stays under 4 MiB too
            await append(stub, settings, *events[start : start + 250])
        await checkpointed(stub, settings, len(events))
        leaves, start, counts = [], 0, []
        while start < len(events):
            answer = await stub.GetLeaves(
                audit_pb2.GetLeavesRequest(start=start, end=min(start + 1000, len(events))),
                metadata=asserted(settings, "audit", SERVICE + "GetLeaves", actor=BODO_AUDITOR),
            )
            assert answer.leaves and answer.ByteSize() < 4 * 1024 * 1024
            leaves += answer.leaves
            counts.append(len(answer.leaves))
            start = leaves[-1].index + 1
        assert [leaf.index for leaf in leaves] == list(range(len(events))) and all(leaf.data for leaf in leaves)
        assert counts[0] < 1000  # the first answer held fewer than the 1000 asked
