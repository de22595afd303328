"""`samhandling status`: a target that names no replica is listed as UNREACHABLE (never left
out), and a replica found through DNS is checked over TLS against its DNS name."""

from __future__ import annotations

import contextlib
import json
import socket
from dataclasses import replace
from pathlib import Path

import grpc

from services.cli import health
from services.cli.status import as_json, collect, serving
from services.platform.settings import COMPONENTS, Settings

NOWHERE = "dns:///consent-headless.invalid:50051"


async def test_a_target_that_resolves_to_nothing_is_unreachable_not_missing(tmp_path: Path, monkeypatch) -> None:
    def unresolvable(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(health.socket, "getaddrinfo", unresolvable)
    settings = replace(
        Settings(), var_dir=tmp_path, addresses={**Settings().addresses, **dict.fromkeys(COMPONENTS, NOWHERE)}
    )
    entries = await collect(settings)
    assert {e.component for e in entries} == set(COMPONENTS)
    assert all(e.status == "UNREACHABLE" and e.address == NOWHERE for e in entries)
    assert not serving(entries) and json.loads(as_json(entries))["serving"] is False


async def test_an_empty_address_list_is_unreachable(tmp_path: Path) -> None:
    settings = replace(
        Settings(), var_dir=tmp_path, addresses={**Settings().addresses, **dict.fromkeys(COMPONENTS, "ipv4:")}
    )
    entries = await collect(settings)
    assert [e.component for e in entries] == list(COMPONENTS) and not serving(entries)


async def test_a_replica_found_through_dns_is_verified_against_the_dns_name(tmp_path: Path, monkeypatch) -> None:
    opened: list[tuple[str, dict]] = []

    @contextlib.asynccontextmanager
    async def channel(address, *, tls=None, health_checked=True, options=()):
        opened.append((address, dict(options)))
        async with grpc.aio.insecure_channel("127.0.0.1:1") as refused:  # nothing listens on port 1
            yield refused

    monkeypatch.setattr(health, "open_channel", channel)
    monkeypatch.setattr(
        health.socket,
        "getaddrinfo",
        lambda *a, **k: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 50051)),
        ],
    )
    with_tls = replace(Settings(), var_dir=tmp_path, tls_ca_file=tmp_path / "ca.pem")
    target = "dns:///consent.samhandling.svc:50051"
    assert await health.replica_status("consent", "10.1.2.3:50051", with_tls, health.tls_name(target)) == "UNREACHABLE"
    assert opened[-1] == ("10.1.2.3:50051", {"grpc.ssl_target_name_override": "consent.samhandling.svc"})
    # Plaintext, or a literal address: no override (the address's own host is checked).
    await health.replica_status("consent", "10.1.2.3:50051", Settings(), health.tls_name(target))
    await health.replica_status("consent", "10.1.2.3:50051", with_tls, health.tls_name("10.1.2.3:50051"))
    assert [o for _, o in opened[-2:]] == [{}, {}]
