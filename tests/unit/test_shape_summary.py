"""services/summary keeps the one shape of a service (tests/fixtures/service_shape.py)."""

from __future__ import annotations

from tests.fixtures.service_shape import shape_violations

DOMAIN = [
    "okt",
    "news2",
    "vitals",
    "trend",
    "patients",
    "fhir",
    "escalation_rules",
    "escalation_routing",
    "escalation_episodes",
    "escalation_isbar",
    "escalation_views",
    "escalation_statistics",
    "responsibility",
    "escalation_deliveries",
    "escalation_fhir",
    "escalation_signals",
]
INFRASTRUCTURE = ["seed", "escalation_sweeper"]  # seeds at start-up; the escalation timers fired when due


def test_summary_has_the_one_shape() -> None:
    assert shape_violations("services.summary", domain=DOMAIN, infrastructure=INFRASTRUCTURE) == []
