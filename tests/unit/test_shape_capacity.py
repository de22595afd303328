"""services/capacity keeps the one shape of a service (tests/fixtures/service_shape.py)."""

from __future__ import annotations

from tests.fixtures.service_shape import shape_violations

DOMAIN = ["domain", "alerts"]
# Following the change sequences (watch), waking this replica's watchers (wakeups), loading the
# seeds' units and organisations at start-up (seed).
INFRASTRUCTURE = ["wakeups", "seed"]


def test_capacity_has_the_one_shape() -> None:
    assert shape_violations("services.capacity", domain=DOMAIN, infrastructure=INFRASTRUCTURE) == []
