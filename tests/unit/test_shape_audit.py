"""services.audit follows the one shape of a service (tests/fixtures/service_shape.py)."""

from tests.fixtures.service_shape import shape_violations

# Pure: the record and its leaf, the Merkle tree and its checkpoints and proofs, who reads what,
# searches and their filters, signals, and the export formats.
DOMAIN = [
    "checkpoints",
    "csv_export",
    "event_proof",
    "events",
    "fhir_export",
    "leaves",
    "merkle",
    "read_scope",
    "search",
    "signals",
    "verification",
]
# Threads, leader election, metrics and keys: the group commit, the integrator and its engine, the
# checkpoint lag gauges, and the log's signing key.
INFRASTRUCTURE = ["group_commit", "integrator", "leader_engine", "metrics", "signer"]


def test_the_audit_service_has_the_one_shape() -> None:
    assert shape_violations("services.audit", domain=DOMAIN, infrastructure=INFRASTRUCTURE) == []
