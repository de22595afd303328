"""services/consent keeps the one shape of a service (tests/fixtures/service_shape.py)."""

from __future__ import annotations

from tests.fixtures.service_shape import shape_violations

# Pure: what rules, representations and access requests are (domain), the decision (decision),
# what the patient is told (notifications), receipts' content and signature (receipts), the
# compiled rules kept per patient (compiled_policies), the lease book's rules (lease_book).
DOMAIN = ["domain", "decision", "notifications", "receipts", "compiled_policies", "lease_book"]
# The decision caches' change feed and lease book in the database (policy_feed), its streams to
# the gateways (watch), the seeds loaded at start-up (seed).
INFRASTRUCTURE = ["policy_feed", "watch", "seed"]


def test_consent_has_the_one_shape() -> None:
    assert shape_violations("services.consent", domain=DOMAIN, infrastructure=INFRASTRUCTURE) == []
