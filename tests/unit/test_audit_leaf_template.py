"""The leaf template the appender makes before taking the log's lock gives, with any sequence
spliced in, exactly the canonical JSON of its version (json.dumps of every member, keys sorted):
version 1 without salts, version 2 with them."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from services.audit.leaves import (
    COMMITTED_FIELDS,
    V1,
    V1_RECORD_FIELDS,
    V2,
    V2_RECORD_FIELDS,
    LeafTemplate,
    Salts,
    _member,
    commitment,
)
from tests.fixtures.samples import audit_record

TEXT = st.text(max_size=20)  # any Unicode, quotes, backslashes and escapes included


def canonical(record, event_id: str, sequence: int) -> bytes:
    """Version 1 as leaves.py's docstring defines it, in one json.dumps."""
    members = {name: _member(getattr(record, name)) for name in V1_RECORD_FIELDS}
    members |= {"event_id": event_id, "sequence": sequence}
    text = json.dumps(members, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return bytes([V1]) + text.encode("utf-8")


def canonical_v2(record, event_id: str, sequence: int, salts: Salts) -> bytes:
    """Version 2 as leaves.py's docstring defines it, in one json.dumps."""
    members = {name: _member(getattr(record, name)) for name in V2_RECORD_FIELDS}
    members |= {
        f"{name}_commitment": commitment(name, getattr(salts, name), getattr(record, name)) for name in COMMITTED_FIELDS
    }
    members |= {"event_id": event_id, "sequence": sequence}
    text = json.dumps(members, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return bytes([V2]) + text.encode("utf-8")


@given(
    key=TEXT,
    name=TEXT,
    justification=TEXT,
    trace_id=TEXT,
    event_id=TEXT.filter(bool),
    sequence=st.integers(min_value=1, max_value=2**63 - 1),
)
def test_the_template_with_its_sequence_is_the_canonical_leaf(key, name, justification, trace_id, event_id, sequence):
    record = audit_record(idempotency_key=key, actor_name=name, justification=justification, trace_id=trace_id)
    assert LeafTemplate.of(record, event_id=event_id).leaf(sequence) == canonical(record, event_id, sequence)


def test_one_template_serves_any_sequence():
    template = LeafTemplate.of(audit_record(), event_id="e-1")
    assert [template.leaf(n) for n in (1, 10, 12345)] == [canonical(audit_record(), "e-1", n) for n in (1, 10, 12345)]


@given(
    key=TEXT,
    name=TEXT,
    justification=TEXT,
    event_id=TEXT.filter(bool),
    sequence=st.integers(min_value=1, max_value=2**63 - 1),
    salt_a=st.binary(min_size=32, max_size=32),
    salt_b=st.binary(min_size=32, max_size=32),
)
def test_the_v2_template_with_its_sequence_is_the_canonical_leaf(
    key, name, justification, event_id, sequence, salt_a, salt_b
):
    record = audit_record(idempotency_key=key, actor_name=name, justification=justification)
    salts = Salts(salt_a, salt_b)
    assert LeafTemplate.of(record, event_id=event_id, salts=salts).leaf(sequence) == canonical_v2(
        record, event_id, sequence, salts
    )
