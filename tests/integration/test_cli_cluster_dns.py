"""`status` expands a DNS target into its replicas' addresses with the system's resolver."""

from __future__ import annotations

from services.cli.health import replica_addresses


def test_a_dns_target_is_resolved_into_addresses() -> None:
    assert "127.0.0.1:50051" in replica_addresses("dns:///localhost:50051")
    assert replica_addresses("dns:///no-such-host.invalid:50051") == []
