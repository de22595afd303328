"""The Merkle leaf of an audit event: one canonical byte string per event, fixed by version 1 (events
stored before version 2) and version 2 (salted commitments instead of the actor's person number and
the justification)."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum

import pytest

from services.audit.events import (
    AuditRecord,
)
from services.audit.leaves import LEAF_VERSION, V1, V1_RECORD_FIELDS, V2_ADDED_FIELDS, leaf_bytes
from services.audit.merkle import leaf_hash
from tests.fixtures.samples import audit_record

RECORD = audit_record(occurred_at=datetime(2026, 1, 5, 8, 30, 0, 123456, tzinfo=UTC))
EVENT_ID = "0b9f8c1e-5c1a-4d38-9a53-7f0c2a9e1d11"

# Version 1 of RECORD, spelled out: changing it breaks every stored leaf.
GOLDEN = (
    b"\x01"
    + (
        '{"access_basis":"CARE_RELATIONSHIP","action":"READ","actor_authorization":"SP",'
        '"actor_client_id":"demo-ehr","actor_client_name":"Demo EHR Bodø","actor_hpr_number":"990000101",'
        '"actor_kind":"PERSONNEL","actor_name":"Sigrid Sykepleiersen","actor_orgnr_child":"910000020",'
        '"actor_orgnr_parent":"910000012","actor_pid":"08847810026","data_category":"VITAL_SIGNS",'
        '"decided_by":"default","decision":"PERMIT","decision_id":"d-1",'
        '"event_id":"0b9f8c1e-5c1a-4d38-9a53-7f0c2a9e1d11","flagged":false,"idempotency_key":"k-1",'
        '"justification":"","method":"/samhandling.summary.v1.PatientSummaryService/GetVitalSigns",'
        '"occurred_at":"2026-01-05T08:30:00.123456Z","patient_id":"22750884907","purpose_of_use":"TREAT",'
        '"sequence":7,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}'
    ).encode()
)


def test_version_1_is_exactly_this():
    assert leaf_bytes(RECORD, event_id=EVENT_ID, sequence=7) == GOLDEN
    assert GOLDEN[0] == V1 == 1
    assert LEAF_VERSION == 2  # new events are written as version 2 (test_leaves_v2.py)
    body = GOLDEN[1:].decode("utf-8")
    assert json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False) == body


def test_version_1_covers_every_record_field_but_those_version_2_added():
    """A new AuditRecord field needs a new leaf version: version 2 added the obligations."""
    assert sorted(V1_RECORD_FIELDS + V2_ADDED_FIELDS) == sorted(f.name for f in fields(AuditRecord))
    assert leaf_bytes(replace(RECORD, obligations="NOTIFY_PATIENT"), event_id=EVENT_ID, sequence=7) == GOLDEN


def test_equal_events_give_equal_leaves():
    copy = replace(RECORD, occurred_at=RECORD.occurred_at.astimezone(timezone(timedelta(hours=1))))
    assert copy == RECORD  # the same instant in another zone
    assert leaf_bytes(copy, event_id=EVENT_ID, sequence=7) == GOLDEN
    assert leaf_bytes(replace(RECORD), event_id=str(EVENT_ID), sequence=7) == GOLDEN


def _changed(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, datetime):
        return value + timedelta(microseconds=1)
    if isinstance(value, Enum):
        return next(member for member in type(value) if member is not value)
    raise AssertionError(f"no change defined for {value!r}")


@pytest.mark.parametrize("name", V1_RECORD_FIELDS)
def test_any_field_change_changes_the_leaf(name):
    changed = replace(RECORD, **{name: _changed(getattr(RECORD, name))})
    assert leaf_bytes(changed, event_id=EVENT_ID, sequence=7) != GOLDEN


@pytest.mark.parametrize("name", ["actor_kind", "purpose_of_use", "access_basis"])
def test_an_absent_optional_enum_is_null_not_missing(name):
    leaf = leaf_bytes(replace(RECORD, **{name: None}), event_id=EVENT_ID, sequence=7)
    assert leaf != GOLDEN
    assert json.loads(leaf[1:])[name] is None


def test_the_server_assigned_fields_are_part_of_the_leaf():
    leaves = {
        leaf_bytes(RECORD, event_id=EVENT_ID, sequence=7),
        leaf_bytes(RECORD, event_id=EVENT_ID, sequence=8),
        leaf_bytes(RECORD, event_id=EVENT_ID.replace("0b", "0c"), sequence=7),
    }
    assert len(leaves) == 3


def test_events_that_cannot_be_stored_have_no_leaf():
    for record in (replace(RECORD, occurred_at=None), replace(RECORD, occurred_at=datetime(2026, 1, 5, 8, 30))):
        with pytest.raises(ValueError):
            leaf_bytes(record, event_id=EVENT_ID, sequence=7)
    for event_id, sequence in ((EVENT_ID, 0), (EVENT_ID, True), ("", 7)):
        with pytest.raises(ValueError):
            leaf_bytes(RECORD, event_id=event_id, sequence=sequence)
    with pytest.raises(ValueError):
        leaf_bytes(replace(RECORD, justification="lone \ud800"), event_id=EVENT_ID, sequence=7)


def test_the_leaf_hash_is_pinned():
    """A second pin on version 1: the hash the tree stores for RECORD as event 7."""
    leaf = leaf_bytes(RECORD, event_id=EVENT_ID, sequence=7)
    assert leaf_hash(leaf).hex() == "52f419a6dd6897b01647ffa6394b9b2817ef85f0788ccaa01512ef26545e484b"
