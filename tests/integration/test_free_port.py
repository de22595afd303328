"""free_port: ports the kernel never picks for a port-0 bind, never the same one twice in a row
of calls, and within SAMHANDLING_FREE_PORTS when it is set (each pytest-xdist worker's slice)."""

from __future__ import annotations

import socket

import pytest

from services.cli import dev_postgres
from services.cli.dev_postgres import FREE_PORTS_ENV, free_port, free_port_range


def test_the_range_lies_below_the_kernels_ephemeral_range() -> None:
    span = free_port_range({})
    ephemeral_low = int(dev_postgres.EPHEMERAL_RANGE.read_text().split()[0])
    assert span is not None and span[0] >= dev_postgres.FREE_PORT_FLOOR and span[1] < ephemeral_low


def test_a_named_range_is_used_and_a_bad_one_refused() -> None:
    assert free_port_range({FREE_PORTS_ENV: "20000-20999"}) == (20000, 20999)
    for bad in ("20000", "999-2000", "3000-2000", "20000-70000", "a-b"):
        with pytest.raises(ValueError):
            free_port_range({FREE_PORTS_ENV: bad})


def test_ports_are_distinct_free_and_in_range(monkeypatch: pytest.MonkeyPatch) -> None:
    # Fifty ports at the top of this worker's own slice (no other worker hands them out), with
    # this process's memory of ports it handed out before cleared: earlier tests in the same
    # worker may have walked through any fixed range already.
    span = free_port_range()
    assert span is not None and span[1] - span[0] >= 49
    low, high = span[1] - 49, span[1]
    monkeypatch.setenv(FREE_PORTS_ENV, f"{low}-{high}")
    monkeypatch.setattr(dev_postgres, "_issued", {})
    monkeypatch.setattr(dev_postgres, "_cursor", [])
    ports = [free_port() for _ in range(20)]
    assert len(set(ports)) == 20 and all(low <= p <= high for p in ports)


def test_a_port_in_use_is_never_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        taken = holder.getsockname()[1]
        holder.listen()
        monkeypatch.setenv(FREE_PORTS_ENV, f"{taken}-{taken}")
        monkeypatch.setattr(dev_postgres, "_issued", {})
        with pytest.raises(OSError, match="no free port"):
            free_port()
