"""Several workers of one component on one port (SAMHANDLING_WORKERS, services/cli/worker_supervisor.py,
docs/workers.md): a real `samhandling serve capacity` with two workers. Which worker serves a
connection is read from /proc (the worker whose file descriptors hold the connection's
server-side socket), so nothing in the servers has to say who they are."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from services.cli.children import alive
from services.cli.database_setup import migrate_all
from services.platform.errors import error_info
from services.platform.settings import Settings
from tests.fixtures.postgres import free_port
from tests.support import BindsAssertions, asserted, settings_for

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT spreading and /proc are Linux's")

START_SECONDS = 60.0  # upper bound on two workers coming up on a loaded machine
STOP_SECONDS = 30.0
CONNECTIONS = 24  # all on one worker by chance: 2 * 2**-24
OVERVIEW = "/samhandling.capacity.v1.CapacityService/GetCapacityOverview"
ESTABLISHED, LISTEN = "01", "0A"


def sockets(pid: int, port: int, state: str) -> int:
    """How many TCP sockets of `pid` are in `state` with local port `port`."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state and fields[9] in inodes:
                count += 1
    return count


def workers_of(parent: int) -> list[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return sorted(int(pid) for pid in children)


class Served:
    def __init__(self, process: subprocess.Popen[bytes], ports: list[int], settings: Settings) -> None:
        self.process, self.ports, self.settings = process, ports, settings
        self.port = ports[0]
        self.workers: list[int] = []

    def wait_listening(self) -> None:
        """Until two workers listen on every port (each binds them itself)."""
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert self.process.poll() is None, f"the supervisor exited with {self.process.returncode}"
            self.workers = workers_of(self.process.pid)
            if len(self.workers) == 2 and all(sockets(w, p, LISTEN) for w in self.workers for p in self.ports):
                return
            assert time.monotonic() < deadline, "two workers never listened on every port"
            time.sleep(0.1)  # polling /proc, with a deadline


@contextlib.contextmanager
def two_workers(
    tmp_path: Path, component: str, addresses: dict[str, int], database_url: str | None = None
) -> Iterator[Served]:
    """`samhandling serve component` with SAMHANDLING_WORKERS=2, its database (default: SQLite
    in tmp_path) migrated; each variable of `addresses` set to 127.0.0.1 and its port."""
    env = {
        **os.environ,
        "SAMHANDLING_VAR_DIR": str(tmp_path / "var"),
        "SAMHANDLING_WORKERS": "2",
        **{variable: f"127.0.0.1:{port}" for variable, port in addresses.items()},
        **({f"SAMHANDLING_{component.upper()}_DATABASE_URL": database_url} if database_url else {}),
    }
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        env.pop(name, None)
    migrate_all(Settings.from_env(env), (component,))
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "serve", component],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    running = Served(process, list(addresses.values()), settings_for(tmp_path))
    try:
        running.wait_listening()
        yield running
    finally:
        for pid in running.workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def served(tmp_path) -> Iterator[Served]:
    """Two workers of capacity on SQLite, on its port and on a health port."""
    ports = {"SAMHANDLING_CAPACITY_ADDR": free_port(), "SAMHANDLING_HEALTH_LISTEN": free_port()}
    with two_workers(tmp_path, "capacity", ports) as running:
        yield running


@pytest.fixture
def served_on(tmp_path, db_url) -> Iterator[Served]:
    """The same on each database the stores support (a SQLite file, PostgreSQL)."""
    ports = {"SAMHANDLING_CAPACITY_ADDR": free_port(), "SAMHANDLING_HEALTH_LISTEN": free_port()}
    with two_workers(tmp_path, "capacity", ports, db_url) as running:
        yield running


def separate_channels(port: int, count: int) -> list[grpc.Channel]:
    """Channels with a connection each (a local subchannel pool: no sharing between them)."""
    return [
        grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(count)
    ]


def serving(channel: grpc.Channel) -> None:
    """Until this channel's worker answers SERVING (it may have bound before it started)."""
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2.0)
            if answer.status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.RpcError:
            pass
        assert time.monotonic() < deadline, "never SERVING"
        time.sleep(0.05)  # the poller's period, not synchronisation


def test_two_workers_serve_one_port_an_assertion_is_used_once_and_sigterm_stops_both(served_on: Served) -> None:
    served = served_on
    channels = separate_channels(served.port, CONNECTIONS)
    try:
        for channel in channels:
            serving(channel)
        per_worker = {pid: sockets(pid, served.port, ESTABLISHED) for pid in served.workers}
        assert all(per_worker.values()) and sum(per_worker.values()) >= CONNECTIONS, per_worker
        # One assertion on every connection: accepted once, a replay on every other connection,
        # those of the worker that did not accept it among them (both workers hold connections).
        request = capacity_pb2.GetCapacityOverviewRequest(region="Nordland")
        metadata = BindsAssertions(served.settings).bind(asserted(served.settings, "capacity", OVERVIEW), request)
        stubs = [capacity_pb2_grpc.CapacityServiceStub(c) for c in channels]
        stubs[0].GetCapacityOverview(request, metadata=metadata, timeout=10)
        for stub in stubs[1:]:
            with pytest.raises(grpc.RpcError) as refused:
                stub.GetCapacityOverview(request, metadata=metadata, timeout=10)
            assert (refused.value.code(), error_info(refused.value)[0]) == (
                grpc.StatusCode.UNAUTHENTICATED,
                "ASSERTION_REPLAYED",
            )
    finally:
        for channel in channels:
            channel.close()
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(STOP_SECONDS) == 0
    assert not any(alive(pid) for pid in served.workers)


def test_a_worker_that_dies_stops_the_other_and_the_supervisor_fails(served: Served) -> None:
    dead, other = served.workers
    os.kill(dead, signal.SIGKILL)
    assert served.process.wait(STOP_SECONDS) == 1
    assert not alive(other)


def test_a_killed_supervisor_leaves_no_worker(served: Served) -> None:
    served.process.kill()
    served.process.wait()
    deadline = time.monotonic() + STOP_SECONDS
    while any(alive(pid) for pid in served.workers):
        assert time.monotonic() < deadline, "a worker outlived its supervisor"
        time.sleep(0.05)  # the kernel's death signal is asynchronous: polled, with a deadline


def test_the_gateways_workers_share_its_grpc_and_json_api_ports(tmp_path) -> None:
    ports = {"SAMHANDLING_GATEWAY_ADDR": free_port(), "SAMHANDLING_GATEWAY_HTTP_ADDR": free_port()}
    with two_workers(tmp_path, "gateway", ports) as running:  # both workers listen on both ports
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(STOP_SECONDS) == 0
        assert not any(alive(pid) for pid in running.workers)
