"""`samhandling cluster`: two replicas of every component on one PostgreSQL behind HAProxy."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import httpx
import pytest

from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.cli.children import alive
from services.cli.cluster import Cluster, ClusterError, manifest_path
from services.cli.cluster_plan import make_plan, port_of
from services.cli.dev_postgres import OWNER_FILE, SHM, free_port, remove_abandoned
from services.platform.settings import Settings
from tests.cluster.conftest import RunningCluster, public_env, require_cluster_binaries
from tests.fixtures import people
from tests.fixtures.processes import assert_freed, children_of, port_taken

pytestmark = pytest.mark.cluster

PATIENT = people.ESKIL
BACKENDS = ("consent", "audit", "summary", "capacity")


def test_status_json_lists_every_replica_serving(cluster: RunningCluster) -> None:
    done = cluster.samhandling("status", "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["serving"] is True

    listed = {(r["component"], r["address"]) for r in report["replicas"]}
    expected = {(c, r.address) for c in (*BACKENDS, "gateway") for r in cluster.replicas(c)}
    assert listed == expected | {("sts", cluster.sts_url.removeprefix("http://"))}
    assert all(r["status"] == "SERVING" for r in report["replicas"])
    assert {(b["protocol"], b["address"], b["status"]) for b in report["load_balancer"]} == {
        ("grpc", cluster.grpc_address, "SERVING"),
        ("http", cluster.http_url.removeprefix("http://"), "SERVING"),
    }


def test_status_through_the_load_balancer_alone(cluster: RunningCluster) -> None:
    """`status --gateway`: the gateway's health, readiness and JSON API through HAProxy only."""
    done = cluster.samhandling(
        "status", "--gateway", f"http://{cluster.grpc_address}", "--http", cluster.http_url, "--json"
    )
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["serving"] is True, done
    assert [(e["check"], e["status"]) for e in report["gateway"]] == [
        ("health", "SERVING"),
        ("readiness", "SERVING"),
        ("http readiness", "SERVING"),
    ]
    assert report["notes"] == []


def test_status_names_a_dead_replica_until_it_is_restarted(cluster: RunningCluster) -> None:
    dead = cluster.replicas("audit")[1]
    cluster.kill("audit", 1)
    assert not alive(dead.pid)
    try:
        done = cluster.samhandling("status")
        assert done.returncode == 1
        lines = {line.split()[1]: line.split()[2] for line in done.stdout.splitlines()}
        assert lines[dead.address] == "UNREACHABLE"
        assert lines[cluster.replicas("audit")[0].address] == "SERVING"
    finally:
        new_pid = cluster.restart("audit", 1)
    assert new_pid != dead.pid and cluster.samhandling("status").returncode == 0


def test_a_summary_read_through_the_load_balancer_on_grpc_and_json(cluster: RunningCluster) -> None:
    token = cluster.token("demo-ehr")
    with grpc.insecure_channel(cluster.grpc_address) as channel:
        answer = summary_pb2_grpc.PatientSummaryServiceStub(channel).GetPatientSummary(
            summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT),
            metadata=[("authorization", f"Bearer {token}")],
            timeout=10,
        )
    assert answer.patient_id == PATIENT and answer.municipal_services

    read = httpx.get(
        f"{cluster.http_url}/api/v1/patients/{PATIENT}/summary",
        headers={"authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert read.status_code == 200, read.text
    assert read.json()["patientId"] == PATIENT and read.json()["municipalServices"]


def summary_status(http: httpx.Client, cluster: RunningCluster, token: str) -> int:
    """The HTTP status of the patient's summary read over the JSON API, through HAProxy."""
    return http.get(
        f"{cluster.http_url}/api/v1/patients/{PATIENT}/summary", headers={"authorization": f"Bearer {token}"}
    ).status_code


def test_both_gateways_answer_through_haproxy(cluster: RunningCluster) -> None:
    before = _answered(cluster)
    token = cluster.token("demo-ehr")
    calls = 6
    with grpc.insecure_channel(cluster.grpc_address) as channel:  # one connection, calls balanced per stream
        stub = summary_pb2_grpc.PatientSummaryServiceStub(channel)
        for _ in range(calls):
            stub.GetPatientSummary(
                summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT),
                metadata=[("authorization", f"Bearer {token}")],
                timeout=10,
            )
    with httpx.Client(timeout=10) as http:  # one keep-alive connection
        for _ in range(calls):
            assert summary_status(http, cluster, token) == 200
    after = _answered(cluster)
    for backend in ("gateways_grpc", "gateways_http"):
        served = {g: after[backend, g] - before.get((backend, g), 0) for g in ("gateway-0", "gateway-1")}
        # Round robin: each gateway answered some of the calls, and together all of them.
        assert all(n >= 1 for n in served.values()) and sum(served.values()) >= calls, (backend, served)


def test_a_dead_gateway_is_taken_out_and_a_restarted_one_taken_back(cluster: RunningCluster) -> None:
    token = cluster.token("demo-ehr")
    cluster.kill("gateway", 1)
    deadline = time.monotonic() + 15
    while _states(cluster)["gateway-1"] != {"DOWN"}:  # its health check fails twice, a second apart
        assert time.monotonic() < deadline, _states(cluster)
        time.sleep(0.2)
    before = _answered(cluster)
    with httpx.Client(timeout=10) as http:
        for _ in range(4):
            assert summary_status(http, cluster, token) == 200
    after = _answered(cluster)
    assert after["gateways_http", "gateway-0"] - before["gateways_http", "gateway-0"] == 4

    cluster.restart("gateway", 1)  # returns once HAProxy counts it UP again
    assert _states(cluster)["gateway-1"] == {"UP"}
    with httpx.Client(timeout=10) as http:
        for _ in range(4):
            assert summary_status(http, cluster, token) == 200
    assert _answered(cluster)["gateways_http", "gateway-1"] > after["gateways_http", "gateway-1"]


def _states(cluster: RunningCluster) -> dict[str, set[str]]:
    """Each gateway's state in HAProxy, over both backends (gRPC and JSON API)."""
    states: dict[str, set[str]] = {}
    for row in cluster.lb_stats():
        if row["svname"].startswith("gateway-"):
            states.setdefault(row["svname"], set()).add(row["status"].split()[0])
    return states


def test_no_log_of_the_cluster_holds_a_person_number_or_a_token(cluster: RunningCluster) -> None:
    """After the reads above (and a refused one, which PostgreSQL or HAProxy might be tempted to log)."""
    token = cluster.token("demo-ehr")
    refused = httpx.get(
        f"{cluster.http_url}/api/v1/patients/{PATIENT}/summary",
        headers={"authorization": f"Bearer {token}x"},
        timeout=10,
    )
    assert refused.status_code == 401
    logs = {p.name: p.read_text(errors="replace") for p in cluster.cluster.log_dir.glob("*.log")}
    assert {"postgres.log", "haproxy.log", "gateway-0.log", "sts.log"} <= set(logs)
    assert not [name for name, text in logs.items() if PATIENT in text or token[:40] in text or "eyJ" in text]


def _answered(cluster: RunningCluster) -> dict[tuple[str, str], int]:
    """2xx responses each gateway gave through HAProxy, by (backend, server)."""
    return {
        (r["pxname"], r["svname"]): int(r["hrsp_2xx"] or 0)
        for r in cluster.lb_stats()
        if r["svname"].startswith("gateway-")
    }


def test_a_cluster_does_not_start_on_a_port_in_use(tmp_path: Path) -> None:
    require_cluster_binaries()
    env = public_env(tmp_path / "var")
    plan = make_plan(Settings.from_env(env).addresses, 1, free_port=free_port)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port_of(plan.grpc_address)))
        holder.listen()
        with pytest.raises(ClusterError, match=f"ports already in use: {port_of(plan.grpc_address)}"):
            Cluster(plan, var_dir=tmp_path / "var", base_env=env, say=lambda _line: None).start()
    assert not (tmp_path / "var" / "cluster" / "log").exists()  # refused before anything started


def test_a_killed_cluster_command_leaves_no_process_on_its_ports(tmp_path: Path) -> None:
    require_cluster_binaries()
    env = public_env(tmp_path / "var")
    parent = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "cluster", "--replicas", "1", "--free-ports"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        manifest = _wait_for_manifest(parent, tmp_path / "var")
        pids = [r["pid"] for r in manifest["replicas"]] + children_of(parent.pid)
        ports = _ports(manifest)
        assert all(port_taken(p) for p in ports)
        (scratch,) = _scratch_dirs_of(parent.pid)  # its PostgreSQL's data directory, in RAM if it fits
        parent.send_signal(signal.SIGKILL)
        parent.wait(5)
        assert_freed(ports, pids)
        # Nothing could remove the directory at the kill; the next one made removes it (here, or
        # a cluster another test starts meanwhile, which removes abandoned ones the same way).
        removed = remove_abandoned(scratch.parent, CLUSTER_SCRATCH)
        assert removed in ([scratch], []) and not scratch.exists()
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


CLUSTER_SCRATCH = "samhandling-cluster-pg-"


def _scratch_dirs_of(pid: int) -> list[Path]:
    places = (SHM, Path(tempfile.gettempdir()))
    return [
        d
        for place in places
        for d in place.glob(f"{CLUSTER_SCRATCH}*")
        if (d / OWNER_FILE).is_file() and (d / OWNER_FILE).read_text(encoding="ascii") == str(pid)
    ]


def _wait_for_manifest(parent: subprocess.Popen[str], var_dir: Path) -> dict:
    deadline = time.monotonic() + 60
    path = manifest_path(var_dir)
    while not path.exists():
        assert parent.poll() is None, parent.stderr.read() if parent.stderr else ""
        assert time.monotonic() < deadline, "cluster not up within 60 s"
        time.sleep(0.2)
    return json.loads(path.read_text())


def _ports(manifest: dict) -> list[int]:
    addresses = [*manifest["load_balancer"].values(), manifest["sts"]]
    for replica in manifest["replicas"]:
        addresses += [a for a in (replica["address"], replica["http_address"]) if a]
    return [int(a.rsplit(":", 1)[1]) for a in addresses] + [manifest["postgres"]["port"]]
