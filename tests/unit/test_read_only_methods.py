"""Which backend methods have their assertion claimed beside the handler (Backend.read_only):
only methods declared next to the service's handlers, each one with one request and one
response; a misspelt or streaming name stops the backend from being built."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.backend_lookup import backend
from services.platform.settings import BACKENDS


@pytest.mark.parametrize("component", BACKENDS)
def test_each_backend_declares_its_reads_among_its_own_unary_methods(component):
    spec = backend(component)
    assert spec.read_only
    for served in spec.services:
        methods = served.service.methods_by_name
        assert served.read_only <= set(methods.keys())
        assert all(not methods[m].client_streaming and not methods[m].server_streaming for m in served.read_only)
    assert spec.read_only_methods() == {
        f"/{served.service.full_name}/{m}" for served in spec.services for m in served.read_only
    }


def test_writes_and_decisions_that_record_are_not_declared_reads():
    assert not {"AppendEvents"} & backend("audit").read_only
    assert not {"ReportCapacity", "RaiseAlert", "AcknowledgeAlert"} & backend("capacity").read_only
    # A decision that opens a restriction records a notification for the patient.
    assert not {"CheckAccess", "BatchCheckAccess", "CreateRule", "RevokeRule"} & backend("consent").read_only
    assert not {"RecordVitalSigns", "SetSpo2Scale", "CreateMunicipalService"} & backend("summary").read_only
    (escalations,) = backend("summary").more_services
    # Every change of an escalation claims its assertion before it runs.
    changes = {"AcknowledgeEscalation", "DeclineEscalation", "PlanReassessment", "ResolveEscalation", "RaiseConcern"}
    assert not (changes | {"EnrolFollowUp", "EndFollowUp"}) & escalations.read_only


@pytest.mark.parametrize("name", ["GetPatientSumary", "WatchCapacity"], ids=["unknown", "streaming"])
def test_a_read_only_name_that_is_no_unary_method_is_refused(name):
    capacity = backend("capacity")
    with pytest.raises(ValueError, match=name):
        replace(capacity, read_only=frozenset({name}))


def test_only_the_audit_append_claims_in_its_handler():
    assert backend("audit").claimed_in_handler == {"AppendEvents"}
    assert all(not backend(component).claimed_in_handler for component in BACKENDS if component != "audit")


@pytest.mark.parametrize("name", ["GetPatientSumary", "WatchCapacity"], ids=["unknown", "streaming"])
def test_a_name_claimed_in_its_handler_that_is_no_unary_method_is_refused(name):
    with pytest.raises(ValueError, match=name):
        replace(backend("capacity"), claimed_in_handler=frozenset({name}))


def test_a_method_is_never_both_a_read_and_claimed_in_its_handler():
    audit = backend("audit")
    with pytest.raises(ValueError, match="ListEvents"):
        replace(audit, claimed_in_handler=frozenset({"AppendEvents", "ListEvents"}))
