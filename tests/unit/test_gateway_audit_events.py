"""The audit events the gateway writes for a call's decisions (gateway/enforcement.py)."""

from __future__ import annotations

from gateway.enforcement import _audited_obligations
from samhandling.audit.v1 import audit_pb2
from samhandling.consent.v1 import consent_pb2


def test_a_decisions_obligations_are_audited_by_their_names_each_once():
    obligations = [
        consent_pb2.OBLIGATION_NOTIFY_PATIENT,
        0,
        999,
        consent_pb2.OBLIGATION_FLAG_FOR_AUDIT,
        consent_pb2.OBLIGATION_NOTIFY_PATIENT,
    ]
    assert _audited_obligations(obligations) == [
        audit_pb2.OBLIGATION_NOTIFY_PATIENT,
        audit_pb2.OBLIGATION_FLAG_FOR_AUDIT,
    ]
