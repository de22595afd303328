"""Leaf version 2: the actor's person number and the justification only as salted commitments,
the decision's obligations added (services/audit/leaves.py docstring), pinned byte for byte;
commitments that hide and bind; the openings' encoding."""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields, replace
from datetime import UTC, datetime

import pytest

from services.audit.events import AuditRecord
from services.audit.leaves import (
    COMMITTED_FIELDS,
    V2,
    V2_RECORD_FIELDS,
    Opening,
    Salts,
    check_openings,
    commitment,
    format_openings,
    leaf_bytes,
    openings,
    parse_openings,
    read_leaf,
)
from services.audit.merkle import leaf_hash
from tests.fixtures import people
from tests.fixtures.samples import audit_record

RECORD = audit_record(
    occurred_at=datetime(2026, 1, 5, 8, 30, 0, 123456, tzinfo=UTC),
    justification="Bevisstløs pasient, akutt",
    flagged=True,
    obligations="FLAG_FOR_AUDIT,NOTIFY_PATIENT",
)
EVENT_ID = "0b9f8c1e-5c1a-4d38-9a53-7f0c2a9e1d11"
SALTS = Salts(bytes(range(32)), bytes(range(32, 64)))


def sha256_commitment(field: str, salt: bytes, value: str) -> str:
    """The construction spelled out independently of leaves.py."""
    label = b"samhandling.no/audit-leaf/v2/commitment/" + field.encode() + b"\x00"
    return hashlib.sha256(label + salt + value.encode("utf-8")).hexdigest()


PID_COMMITMENT = "e5a7b773fa80a9b689d3f58150edfc0ad1c11f33a515b5ce0533cddd63e582b2"
JUSTIFICATION_COMMITMENT = "61f4edcfcff4b5716b71a3e4967ba283aeed6cb0d4aef2b23575c5f105b23222"
# Version 2 of RECORD with SALTS, spelled out: changing it breaks every stored version-2 leaf.
GOLDEN_V2 = (
    b"\x02"
    + (
        '{"access_basis":"CARE_RELATIONSHIP","action":"READ","actor_authorization":"SP",'
        '"actor_client_id":"demo-ehr","actor_client_name":"Demo EHR Bodø","actor_hpr_number":"990000101",'
        '"actor_kind":"PERSONNEL","actor_name":"Sigrid Sykepleiersen","actor_orgnr_child":"910000020",'
        f'"actor_orgnr_parent":"910000012","actor_pid_commitment":"{PID_COMMITMENT}",'
        '"data_category":"VITAL_SIGNS","decided_by":"default","decision":"PERMIT","decision_id":"d-1",'
        '"event_id":"0b9f8c1e-5c1a-4d38-9a53-7f0c2a9e1d11","flagged":true,"idempotency_key":"k-1",'
        f'"justification_commitment":"{JUSTIFICATION_COMMITMENT}",'
        '"method":"/samhandling.summary.v1.PatientSummaryService/GetVitalSigns",'
        '"obligations":"FLAG_FOR_AUDIT,NOTIFY_PATIENT","occurred_at":"2026-01-05T08:30:00.123456Z","patient_id":"22750884907","purpose_of_use":"TREAT",'
        '"sequence":7,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}'
    ).encode()
)


def test_version_2_is_exactly_this():
    leaf = leaf_bytes(RECORD, event_id=EVENT_ID, sequence=7, salts=SALTS)
    assert leaf == GOLDEN_V2
    assert leaf_hash(leaf).hex() == "db638e2222e94e8b3b5572a90338ba3289a5f013db386998792259e7260ca6eb"
    assert PID_COMMITMENT == sha256_commitment("actor_pid", SALTS.actor_pid, people.SIGRID)
    assert JUSTIFICATION_COMMITMENT == sha256_commitment("justification", SALTS.justification, RECORD.justification)
    body = GOLDEN_V2[1:].decode("utf-8")
    assert json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False) == body


def test_version_2_holds_neither_the_person_number_nor_the_justification():
    leaf = leaf_bytes(RECORD, event_id=EVENT_ID, sequence=7, salts=SALTS)
    assert b"08847810026" not in leaf
    assert RECORD.justification.encode() not in leaf and b"Bevissl" not in leaf
    version, members = read_leaf(leaf)
    assert version == V2
    assert "actor_pid" not in members and "justification" not in members


def test_an_empty_value_is_committed_too():
    """Absence is not revealed: an empty justification has a commitment like any other."""
    leaf = leaf_bytes(replace(RECORD, justification=""), event_id=EVENT_ID, sequence=7, salts=SALTS)
    members = read_leaf(leaf)[1]
    assert members["justification_commitment"] == sha256_commitment("justification", SALTS.justification, "")
    assert len(members["justification_commitment"]) == 64


def test_commitments_hide_the_value_behind_a_fresh_salt():
    """Two draws of salts give unrelated commitments to the same value, so a guessed person number
    cannot be confirmed without the salt, nor two events linked by their actor."""
    first, second = Salts.draw(), Salts.draw()
    assert first.actor_pid != second.actor_pid and first.actor_pid != first.justification
    assert commitment("actor_pid", first.actor_pid, people.SIGRID) != commitment(
        "actor_pid", second.actor_pid, people.SIGRID
    )
    # The same salt and value under another field's label is another commitment.
    assert commitment("actor_pid", SALTS.actor_pid, "x") != commitment("justification", SALTS.actor_pid, "x")
    assert "Salts(<hidden>)" == repr(first) and SALTS.actor_pid.hex() not in repr(openings(RECORD, SALTS))


def test_commitments_bind_the_value():
    """An opening with another value or another salt does not match the leaf's commitment."""
    version, members = read_leaf(GOLDEN_V2)
    good = openings(RECORD, SALTS)
    assert check_openings(version, members, good) == {"actor_pid": people.SIGRID, "justification": RECORD.justification}
    other_salt = bytes(31) + b"\x01"
    for name in COMMITTED_FIELDS:
        for bad in (Opening(good[name].salt, good[name].value + "x"), Opening(other_salt, good[name].value)):
            with pytest.raises(ValueError, match="does not match"):
                check_openings(version, members, {**good, name: bad})


def test_openings_are_all_or_nothing_and_only_of_version_2():
    version, members = read_leaf(GOLDEN_V2)
    good = openings(RECORD, SALTS)
    assert check_openings(version, members, {}) == {}
    with pytest.raises(ValueError):
        check_openings(version, members, {"actor_pid": good["actor_pid"]})
    with pytest.raises(ValueError):
        check_openings(version, members, {**good, "actor_name": good["actor_pid"]})
    with pytest.raises(ValueError, match="version-1"):
        check_openings(1, members, good)


def test_openings_round_trip_as_canonical_json_without_a_line_feed():
    text = format_openings(openings(replace(RECORD, justification="linje 1\nlinje 2"), SALTS))
    assert b"\n" not in text
    assert parse_openings(text)["justification"].value == "linje 1\nlinje 2"
    assert parse_openings(text)["actor_pid"].salt == SALTS.actor_pid
    for bad in (
        b"[]",
        b"{",
        b'{"actor_pid":{"salt":"00","value":"x"}}',
        b'{"actor_pid":{"salt":"' + b"AB" * 32 + b'","value":"x"}}',  # not lowercase: not canonical
        b'{"actor_pid":{"salt":"' + b"ab" * 32 + b'","value":1}}',
        b'{"actor_pid": {"salt":"' + b"ab" * 32 + b'","value":"x"}}',
    ):
        with pytest.raises(ValueError):
            parse_openings(bad)


def test_salts_are_32_bytes_and_stored_both_or_neither():
    with pytest.raises(ValueError):
        Salts(bytes(31), bytes(32))
    assert Salts.stored(None, None) is None
    assert Salts.stored(SALTS.actor_pid, SALTS.justification) == SALTS
    with pytest.raises(ValueError):
        Salts.stored(SALTS.actor_pid, None)


def test_unknown_versions_are_refused_by_readers():
    with pytest.raises(ValueError):
        read_leaf(b"\x03" + GOLDEN_V2[1:])
    with pytest.raises(ValueError):
        read_leaf(b"\x02[]")
    with pytest.raises(ValueError):
        read_leaf(b"")


def test_version_2_covers_every_record_field_in_the_clear_or_committed():
    """A new AuditRecord field needs a new leaf version: this fails until one is made."""
    assert sorted(V2_RECORD_FIELDS + COMMITTED_FIELDS) == sorted(f.name for f in fields(AuditRecord))


@pytest.mark.parametrize("name", ["obligations", "flagged", "decided_by", "actor_name", "patient_id"])
def test_a_field_held_in_the_clear_changes_the_leaf(name):
    value = getattr(RECORD, name)
    changed = replace(RECORD, **{name: (not value) if isinstance(value, bool) else value[:-1] + "x"})
    assert leaf_bytes(changed, event_id=EVENT_ID, sequence=7, salts=SALTS) != GOLDEN_V2
