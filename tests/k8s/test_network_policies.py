"""Issue 14 point 4 over the rendered NetworkPolicies of every overlay: everything is denied
unless a policy allows it, and the connections the policies allow between the namespace's pods
are exactly the ones the suite makes. Outside the namespace only DNS, the ingress controller,
the token issuer (HelseID, by address: NetworkPolicy cannot name a host) and the PostgreSQL
operator are reachable. The pods are the rendered workloads' pods, and in production the
CloudNativePG instances (labelled as the Cluster's inheritedMetadata says)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.k8s.rendered import OVERLAYS, WORKLOAD_KINDS, Doc, containers, of_kind, pod_labels, render, selects

BACKEND_PORTS = {"consent": 50051, "audit": 50052, "summary": 50053, "capacity": 50054}
SERVERS = ("gateway", *BACKEND_PORTS)
MIGRATIONS = tuple(f"migrate-{d}" for d in ("consent", "audit", "summary", "capacity", "gateway"))


def _expected(overlay: str) -> set[tuple[str, str, int]]:
    """(from, to, port) by the pods' app.kubernetes.io/name: what the suite's processes call."""
    allowed = {("gateway", backend, port) for backend, port in BACKEND_PORTS.items()}
    clients = (*SERVERS, *MIGRATIONS, *(("seed",) if overlay == "dev" else ()))
    allowed |= {(client, "postgresql", 5432) for client in clients}
    allowed |= {(server, "otel-collector", 4317) for server in SERVERS}
    if overlay == "dev":
        allowed.add(("gateway", "sts", 8090))
    else:
        allowed.add(("postgresql", "postgresql", 5432))  # CloudNativePG's streaming replication
    return allowed


def _pods(docs: tuple[Doc, ...]) -> list[tuple[dict[str, str], set[int]]]:
    """Every pod's labels and the ports it listens on."""
    pods = [
        (pod_labels(w), {p["containerPort"] for c in containers(w) for p in c.get("ports", [])})
        for w in of_kind(docs, *WORKLOAD_KINDS)
    ]
    for cluster in of_kind(docs, "Cluster"):
        labels = {**cluster["spec"]["inheritedMetadata"]["labels"], "cnpg.io/cluster": cluster["metadata"]["name"]}
        pods.append((labels, {5432, 8000}))
    return pods


def _rules(docs: tuple[Doc, ...], labels: dict[str, str], direction: str) -> tuple[bool, list[dict[str, Any]]]:
    """Whether the pod is isolated in this direction, and the rules that apply to it."""
    policy_type, key = ("Ingress", "ingress") if direction == "ingress" else ("Egress", "egress")
    applying = [
        p
        for p in of_kind(docs, "NetworkPolicy")
        if selects(p["spec"]["podSelector"], labels) and policy_type in p["spec"]["policyTypes"]
    ]
    return bool(applying), [rule for p in applying for rule in p["spec"].get(key, [])]


def _port_matches(rule: dict[str, Any], port: int) -> bool:
    return "ports" not in rule or any(
        p.get("port") == port and p.get("protocol", "TCP") == "TCP" for p in rule["ports"]
    )


def _allows(rules: list[dict[str, Any]], peers_key: str, peer: dict[str, str], port: int) -> bool:
    for rule in rules:
        if not _port_matches(rule, port):
            continue
        if peers_key not in rule:
            return True  # no peers named: every peer
        for entry in rule[peers_key]:
            if set(entry) == {"podSelector"} and selects(entry["podSelector"], peer):
                return True
    return False


def _allowed_in_namespace(docs: tuple[Doc, ...]) -> set[tuple[str, str, int]]:
    allowed = set()
    pods = _pods(docs)
    for source, _ in pods:
        egress_isolated, egress = _rules(docs, source, "egress")
        for target, ports in pods:
            ingress_isolated, ingress = _rules(docs, target, "ingress")
            for port in ports:
                out = not egress_isolated or _allows(egress, "to", target, port)
                into = not ingress_isolated or _allows(ingress, "from", source, port)
                if out and into:
                    allowed.add((source["app.kubernetes.io/name"], target["app.kubernetes.io/name"], port))
    return allowed


def _beyond_the_namespace(docs: tuple[Doc, ...]) -> Iterator[tuple[str, str, str, tuple[int, ...]]]:
    """(policy, direction, peer, ports) for every peer outside the namespace's pods."""
    for policy in of_kind(docs, "NetworkPolicy"):
        for direction, peers_key in (("ingress", "from"), ("egress", "to")):
            for rule in policy["spec"].get(direction, []):
                ports = tuple(sorted(p["port"] for p in rule.get("ports", [])))
                for entry in rule.get(peers_key, [{"anywhere": True}]):
                    if set(entry) == {"podSelector"}:
                        continue
                    if "ipBlock" in entry:
                        peer = f"ipBlock {entry['ipBlock']['cidr']} except {entry['ipBlock'].get('except', [])}"
                    elif "namespaceSelector" in entry:
                        peer = f"namespace {entry['namespaceSelector']['matchLabels']} pods {entry.get('podSelector')}"
                    else:
                        peer = f"anything {entry}"
                    yield policy["metadata"]["name"], direction, peer, ports


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_everything_is_denied_by_default(overlay: str):
    deny = [p["spec"] for p in of_kind(render(overlay), "NetworkPolicy") if p["metadata"]["name"] == "default-deny-all"]
    assert deny == [{"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_reach_exactly_what_the_suite_calls(overlay: str):
    assert _allowed_in_namespace(render(overlay)) == _expected(overlay)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_beyond_the_namespace_only_dns_ingress_issuer_and_operator(overlay: str):
    dns = (
        "allow-dns",
        "egress",
        "namespace {'kubernetes.io/metadata.name': 'kube-system'} pods {'matchLabels': {'k8s-app': 'kube-dns'}}",
        (53, 53),
    )
    ingress = (
        "gateway-from-ingress",
        "ingress",
        "namespace {'samhandling.no/ingress': 'true'} pods None",
        (8080, 50050),
    )
    expected = {dns, ingress}
    if overlay == "production":
        private = "['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '100.64.0.0/10']"
        expected |= {
            ("gateway-to-token-issuer", "egress", f"ipBlock 0.0.0.0/0 except {private}", (443,)),
            (
                "postgresql-instances",
                "ingress",
                "namespace {'kubernetes.io/metadata.name': 'cnpg-system'} pods None",
                (5432, 8000),
            ),
            ("postgresql-instances", "egress", "ipBlock 0.0.0.0/0 except []", (443, 6443)),
        }
    assert set(_beyond_the_namespace(render(overlay))) == expected


def test_the_model_sees_a_policy_that_opens_too_much():
    """A policy letting every pod reach the backends shows up as extra connections."""
    docs = render("production")
    widened = dict(next(p for p in of_kind(docs, "NetworkPolicy") if p["metadata"]["name"] == "backends-from-gateway"))
    widened = {**widened, "spec": {**widened["spec"], "ingress": [{"from": [{"podSelector": {}}]}]}}
    others = tuple(p for p in docs if p["metadata"]["name"] != "backends-from-gateway")
    extra = _allowed_in_namespace((*others, widened)) - _expected("production")
    assert extra == set()  # egress of the other pods still stops them
    everything_out = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "all-out"},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]},
    }
    extra = _allowed_in_namespace((*others, widened, everything_out)) - _expected("production")
    assert ("migrate-audit", "audit", 50052) in extra
