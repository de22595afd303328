"""The local cluster's plan, the targets `status` expands, and the status report: pure parts."""

from __future__ import annotations

import itertools
import threading

import pytest

from services.cli.children import tied_to_parent
from services.cli.cluster_plan import ClusterPlan, make_plan
from services.cli.status import Entry, as_json, as_text, serving
from services.platform.replica_set import Target, parse_target
from services.platform.settings import Settings

PUBLIC = Settings().addresses  # gateway 50050, gateway_http 8080, sts 8090


def test_targets_name_their_replicas() -> None:
    assert parse_target("ipv4:127.0.0.1:50151,127.0.0.1:50251") == Target(("127.0.0.1:50151", "127.0.0.1:50251"))
    assert parse_target("ipv6:[::1]:50151,[::1]:50251") == Target(("[::1]:50151", "[::1]:50251"))
    assert parse_target("consent.samhandling.svc:50051") == Target(("consent.samhandling.svc:50051",))
    assert parse_target("dns:///consent-headless:50051") == Target(dns_name="consent-headless", dns_port=50051)
    assert parse_target("dns://10.0.0.10:53/consent:50051") == Target(dns_name="consent", dns_port=50051)
    with pytest.raises(ValueError):
        parse_target("dns:///consent")


def test_default_ports_follow_the_documented_blocks() -> None:
    plan = make_plan(PUBLIC)
    assert plan.target("consent") == "ipv4:127.0.0.1:50151,127.0.0.1:50251"
    assert [(g.address, g.http_address) for g in plan.replicas["gateway"]] == [
        ("127.0.0.1:50150", "127.0.0.1:8180"),
        ("127.0.0.1:50250", "127.0.0.1:8280"),
    ]
    assert (plan.grpc_address, plan.http_address, plan.sts_address) == (
        "127.0.0.1:50050",
        "127.0.0.1:8080",
        "127.0.0.1:8090",
    )
    assert len(set(plan.ports())) == len(plan.ports()) == 4 + 5 * 2 + 2 + 1


def test_the_wiring_contract() -> None:
    plan = make_plan(PUBLIC)
    env = plan.shared_env(
        {
            c: f"postgresql+psycopg://postgres@127.0.0.1:55432/{c}"
            for c in ("consent", "audit", "summary", "capacity", "gateway")
        }
    )
    assert env["SAMHANDLING_AUDIT_ADDR"] == "ipv4:127.0.0.1:50152,127.0.0.1:50252"
    assert env["SAMHANDLING_GATEWAY_ADDR"] == "127.0.0.1:50050"
    assert env["SAMHANDLING_GATEWAY_PUBLIC_URL"] == "http://127.0.0.1:50050"
    assert env["SAMHANDLING_GATEWAY_HTTP_PUBLIC_URL"] == "http://127.0.0.1:8080"
    assert env["SAMHANDLING_GATEWAY_DATABASE_URL"].endswith("/gateway")
    assert plan.replica_env(plan.replica("gateway", 1)) == {
        "SAMHANDLING_LISTEN": "127.0.0.1:50250",
        "SAMHANDLING_GATEWAY_HTTP_ADDR": "127.0.0.1:8280",
    }
    assert plan.replica_env(plan.replica("consent", 0)) == {"SAMHANDLING_LISTEN": "127.0.0.1:50151"}
    # What a replica reads back from that environment.
    settings = Settings.from_env({**env, **plan.replica_env(plan.replica("gateway", 1))})
    assert settings.listen_address("gateway") == "127.0.0.1:50250"
    assert settings.addresses["gateway_http"] == "127.0.0.1:8280"
    assert settings.gateway_public_url == "http://127.0.0.1:50050"


def test_free_ports_come_from_the_allocator() -> None:
    counter = itertools.count(40000)
    plan: ClusterPlan = make_plan(PUBLIC, 3, free_port=lambda: next(counter))
    ports = plan.ports()
    assert len(plan.replicas["summary"]) == 3 and len(set(ports)) == len(ports)
    assert all(p >= 40000 for p in ports if p not in (50050, 8080, 8090))


@pytest.mark.parametrize("replicas", [0, 10])
def test_replicas_are_bounded(replicas: int) -> None:
    with pytest.raises(ValueError):
        make_plan(PUBLIC, replicas)


def test_a_public_address_is_one_host_and_port() -> None:
    with pytest.raises(ValueError):
        make_plan({**PUBLIC, "gateway": "ipv4:127.0.0.1:1,127.0.0.1:2"})


def test_status_is_serving_only_when_every_entry_is() -> None:
    entries = [
        Entry("consent", "127.0.0.1:50151", "SERVING"),
        Entry("consent", "127.0.0.1:50251", "UNREACHABLE"),
        Entry("load_balancer", "127.0.0.1:50050", "SERVING"),
    ]
    assert not serving(entries) and serving(entries[:1]) and not serving([])
    assert as_text(entries).splitlines()[1] == f"{'consent':<9} {'127.0.0.1:50251':<22} UNREACHABLE"
    assert "lb grpc" in as_text(entries)
    assert '"serving": false' in as_json(entries)


def test_children_are_started_from_the_main_thread_only() -> None:
    failures: list[BaseException] = []

    def elsewhere() -> None:
        try:
            tied_to_parent(15)
        except RuntimeError as exc:
            failures.append(exc)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert len(failures) == 1


def test_the_balancer_checks_readiness_and_the_drain_outlasts_its_detection() -> None:
    from gateway.http.readiness import READY_PATH
    from services.cli import cluster_plan
    from services.cli.haproxy_config import render

    plan = make_plan(PUBLIC)
    config = render(plan)
    assert f"http-check send meth GET uri {READY_PATH}" in config and "openapi.json" not in config
    for gateway in plan.replicas["gateway"]:  # both backends of each gateway follow its readiness
        assert (
            f"server {gateway.name} {gateway.address} proto h2 check port {gateway.http_address.split(':')[1]}"
            in config
        )
        assert f"server {gateway.name} {gateway.http_address} check inter 1000ms fastinter 500ms fall 2" in config
    detection = cluster_plan.CHECK_INTER_SECONDS + cluster_plan.CHECK_FASTINTER_SECONDS * cluster_plan.CHECK_FALL
    drain = float(plan.shared_env({})["SAMHANDLING_DRAIN_SECONDS"])
    assert drain >= detection + 0.5
