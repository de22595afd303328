"""The leaf template the appender makes before taking the log's lock gives, with any sequence
spliced in, exactly the canonical JSON of version 1 (json.dumps of every member, keys sorted)."""
from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from services.audit.leaves import LEAF_VERSION, V1_RECORD_FIELDS, LeafTemplate, _member
from tests.fixtures.samples import audit_record

TEXT = st.text(max_size=20)  # any Unicode, quotes, backslashes and escapes included


def canonical(record, event_id: str, sequence: int) -> bytes:
    """Version 1 as leaves.py's docstring defines it, in one json.dumps."""
    members = {name: _member(getattr(record, name)) for name in V1_RECORD_FIELDS}
    members |= {"event_id": event_id, "sequence": sequence}
    text = json.dumps(members, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return bytes([LEAF_VERSION]) + text.encode("utf-8")


@given(
    key=TEXT, name=TEXT, justification=TEXT, trace_id=TEXT, event_id=TEXT.filter(bool),
    sequence=st.integers(min_value=1, max_value=2**63 - 1),
)
def test_the_template_with_its_sequence_is_the_canonical_leaf(key, name, justification, trace_id, event_id, sequence):
    record = audit_record(idempotency_key=key, actor_name=name, justification=justification, trace_id=trace_id)
    assert LeafTemplate.of(record, event_id=event_id).leaf(sequence) == canonical(record, event_id, sequence)


def test_one_template_serves_any_sequence():
    template = LeafTemplate.of(audit_record(), event_id="e-1")
    assert [template.leaf(n) for n in (1, 10, 12345)] == [canonical(audit_record(), "e-1", n) for n in (1, 10, 12345)]
