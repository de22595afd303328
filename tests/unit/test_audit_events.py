"""Audit records: what may be appended to the log."""

from dataclasses import replace

import pytest

from services.audit.events import (
    record_violations,
)
from tests.fixtures.samples import SIGRID_READS_VITALS

VALID = SIGRID_READS_VITALS


def test_a_complete_record_is_valid():
    assert record_violations(VALID) == {}


def test_a_system_record_needs_only_the_required_fields():
    minimal = replace(
        VALID,
        actor_kind=None,
        actor_client_id="",
        actor_client_name="",
        actor_pid="",
        actor_name="",
        actor_hpr_number="",
        actor_authorization="",
        actor_orgnr_parent="",
        actor_orgnr_child="",
        purpose_of_use=None,
        access_basis=None,
        decided_by="",
        decision_id="",
        trace_id="",
        method="",
    )
    assert record_violations(minimal) == {}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "x" * 101}, "idempotency_key"),
        ({"occurred_at": None}, "occur_time"),
        ({"patient_id": ""}, "patient_id"),
        ({"patient_id": "22750884908"}, "patient_id"),  # wrong check digit
        ({"patient_id": "2275088490x"}, "patient_id"),
        ({"action": None}, "action"),
        ({"data_category": None}, "data_category"),
        ({"decision": None}, "decision"),
        ({"trace_id": "4BF92F3577B34DA6A3CE929D0E0E4736"}, "trace_id"),  # upper case
        ({"trace_id": "4bf92f3577b34da6a3ce929d0e0e473"}, "trace_id"),  # 31 digits
        ({"trace_id": "0" * 32}, "trace_id"),  # invalid per W3C
        ({"actor_orgnr_parent": "910000013"}, "actor.orgnr_parent"),
        ({"actor_orgnr_child": "91000002"}, "actor.orgnr_child"),
        ({"actor_pid": "08847810027"}, "actor.pid"),
        ({"actor_hpr_number": "99000010a"}, "actor.hpr_number"),
        ({"actor_client_name": "x" * 201}, "actor.client_name"),
        ({"method": "/" * 201}, "method"),
    ],
)
def test_each_violation_names_its_field(change, field):
    assert set(record_violations(replace(VALID, **change))) == {field}


def test_limits_are_inclusive():
    assert record_violations(replace(VALID, idempotency_key="x" * 100, actor_client_name="x" * 200)) == {}


def test_all_violations_are_reported_together():
    bad = replace(VALID, idempotency_key="", patient_id="", action=None, trace_id="nope")
    assert set(record_violations(bad)) == {"idempotency_key", "patient_id", "action", "trace_id"}
