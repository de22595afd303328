"""Who may search the audit log, what a search filter may say, and how much an export holds."""

from datetime import UTC, datetime

import pytest

from services.audit.search import (
    DEFAULT_EXPORT_LIMIT,
    MAX_EXPORT_LIMIT,
    EventFilter,
    EventQuery,
    event_query,
    export_limit,
    filter_violations,
)
from services.platform.vocabulary import AccessBasis, ActorKind, Decision, PurposeOfUse
from tests.fixtures import people

BODO = "910000012"
EVERYTHING = EventFilter()
FULL = EventFilter(
    patient_id=people.ESKIL,
    actor_hpr_number=people.SIGRID_HPR,
    actor_pid=people.SIGRID,
    actor_orgnr_child="910000020",
    start=datetime(2026, 1, 1, tzinfo=UTC),
    end=datetime(2026, 2, 1, tzinfo=UTC),
    purpose_of_use=PurposeOfUse.ETREAT,
    decision=Decision.PERMIT,
    access_basis=AccessBasis.EMERGENCY,
    flagged_only=True,
)


def test_an_auditor_searches_only_their_own_organisation():
    assert event_query(ActorKind.AUDITOR, BODO, FULL) == EventQuery(BODO, FULL)


@pytest.mark.parametrize(
    ("kind", "orgnr_parent"),
    [
        (ActorKind.AUDITOR, ""),  # an auditor bound to no organisation
        (ActorKind.PERSONNEL, BODO),
        (ActorKind.PATIENT, ""),
        (ActorKind.SYSTEM, BODO),
        (None, BODO),
    ],
)
def test_no_one_else_searches(kind, orgnr_parent):
    assert event_query(kind, orgnr_parent, EVERYTHING) is None


def test_empty_and_complete_filters_are_valid():
    assert filter_violations(EVERYTHING, allow_synthetic=True) == {}
    assert filter_violations(FULL, allow_synthetic=True) == {}


def test_each_bad_field_is_named_by_its_proto_path():
    bad = EventFilter(
        patient_id="22750884908",  # wrong check digit
        actor_pid="0884781002",  # ten digits
        actor_hpr_number="12345678901",
        actor_orgnr_child="910000021",
        start=datetime(2026, 2, 1, tzinfo=UTC),
        end=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert set(filter_violations(bad, allow_synthetic=True)) == {
        "filter.patient_id",
        "filter.actor_pid",
        "filter.actor_hpr_number",
        "filter.actor_orgnr_child",
        "filter.end_time",
    }


def test_a_window_must_not_be_empty():
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    assert set(filter_violations(EventFilter(start=moment, end=moment), allow_synthetic=True)) == {"filter.end_time"}
    assert filter_violations(EventFilter(start=moment), allow_synthetic=True) == {}
    assert filter_violations(EventFilter(end=moment), allow_synthetic=True) == {}


def test_synthetic_person_numbers_are_refused_where_the_deployment_refuses_them():
    problems = filter_violations(EventFilter(patient_id=people.ESKIL, actor_pid=people.SIGRID), allow_synthetic=False)
    assert set(problems) == {"filter.patient_id", "filter.actor_pid"}


@pytest.mark.parametrize(
    ("requested", "limit"), [(0, DEFAULT_EXPORT_LIMIT), (1, 1), (MAX_EXPORT_LIMIT, MAX_EXPORT_LIMIT)]
)
def test_export_limits(requested, limit):
    assert export_limit(requested) == (limit, {})


@pytest.mark.parametrize("requested", [-1, MAX_EXPORT_LIMIT + 1])
def test_export_limits_out_of_range_are_refused(requested):
    assert set(export_limit(requested)[1]) == {"limit"}


def test_a_fhir_export_is_capped_below_grpcs_default_message_size():
    from services.audit.search import MAX_FHIR_EXPORT_LIMIT

    assert export_limit(0, MAX_FHIR_EXPORT_LIMIT) == (MAX_FHIR_EXPORT_LIMIT, {})
    assert "limit" in export_limit(MAX_FHIR_EXPORT_LIMIT + 1, MAX_FHIR_EXPORT_LIMIT)[1]
