"""services.capacity.domain: valid reports, filters, history ranges and overview sums."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.capacity.domain import (
    Change,
    Report,
    Status,
    Unit,
    UnitCapacity,
    UnitFilter,
    UnitType,
    filter_violations,
    history_violations,
    report_violations,
    totals,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
REPORT = Report("bodo-kad", "bed", 8, 1, 7, Status.STRAINED, "", NOW, "demo-ehr")
UNIT = Unit("bodo-kad", "KAD", UnitType.KAD, "910000039", "910000012", "1804", "Nordland")


def test_a_full_and_consistent_report_is_valid():
    assert report_violations(REPORT) == {}
    assert report_violations(replace(REPORT, available=0, occupied=0, total=0)) == {}
    assert report_violations(replace(REPORT, available=0, status=Status.FULL)) == {}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"unit_id": ""}, "unit_id"),
        ({"resource_type": "Bed"}, "resource_type"),
        ({"resource_type": "x" * 41}, "resource_type"),
        ({"total": -1}, "total"),
        ({"available": -1}, "available"),
        ({"occupied": -1}, "occupied"),
        ({"total": 100_001, "available": 0, "occupied": 0}, "total"),
        ({"available": 9, "occupied": 0}, "available"),  # more available than there are
        ({"available": 2, "occupied": 7}, "available"),  # together more than there are
        ({"note": "x" * 501}, "note"),
        ({"status": Status.FULL}, "status"),  # full, yet one available
    ],
)
def test_a_report_breaking_a_rule_has_a_violation_on_its_field(changes, field):
    assert field in report_violations(replace(REPORT, **changes))


def test_sums_are_not_checked_against_a_negative_count():
    assert report_violations(replace(REPORT, total=-1)) == {"total": "must not be negative"}


def test_a_filter_names_a_municipality_by_its_four_digits():
    assert filter_violations(UnitFilter("1804", "Nordland", UnitType.KAD)) == {}
    assert filter_violations(UnitFilter(municipality_number="18")) == {"municipality_number": "4 digits, e.g. '1804'"}


def test_a_history_range_needs_a_start_and_at_most_366_days():
    assert history_violations(NOW, NOW + timedelta(days=366)) == {}
    assert "from_time" in history_violations(None, NOW)
    assert "to_time" in history_violations(NOW, NOW)
    assert "to_time" in history_violations(NOW, NOW + timedelta(days=366, seconds=1))


def test_totals_sum_each_resource_type_over_the_units_that_report_it():
    other = replace(UNIT, unit_id="bodo-legevakt")
    units = [
        UnitCapacity(
            UNIT,
            (
                Change(1, REPORT),
                Change(2, replace(REPORT, resource_type="isolation_bed", total=1, available=0, occupied=1)),
            ),
        ),
        UnitCapacity(other, (Change(3, replace(REPORT, unit_id=other.unit_id, total=6, available=2, occupied=4)),)),
        UnitCapacity(replace(UNIT, unit_id="empty"), ()),
    ]
    assert [(t.resource_type, t.total, t.available, t.occupied, t.unit_count) for t in totals(units)] == [
        ("bed", 14, 3, 11, 2),
        ("isolation_bed", 1, 0, 1, 1),
    ]
