"""The cluster harness: real replicas of every component on one throwaway PostgreSQL behind a real
HAProxy, on free ports, in a temporary var dir (`services.cli.cluster.Cluster`, the engine of
`samhandling cluster`).

For cross-replica tests:

    pytestmark = pytest.mark.cluster

    def test_something(cluster: RunningCluster) -> None:
        cluster.grpc_address             # the load balancer (h2c): what clients call
        cluster.http_url                 # the load balancer's JSON API, e.g. http://127.0.0.1:PORT
        cluster.replicas("audit")        # [ReplicaInfo(index, address, http_address, pid), ...]
        cluster.kill("audit", 0)         # SIGKILL (or any signal), returns once it has exited
        cluster.restart("audit", 0)      # same port, waits until SERVING (a gateway: until HAProxy uses it)
        cluster.token("demo-ehr")        # a real STS token (client credentials; patient=PID, user=PID: a login)
        cluster.token_for(Identity(user="23898220028"), dpop=True)  # with its DPoP key, for proofs
        cluster.postgres_urls["audit"]   # SQLAlchemy URL of each component's database
        cluster.env                      # environment for `samhandling` commands against this cluster
        cluster.lb_stats()               # HAProxy's per-server counters

The cluster starts once per test module (~10-30 s, depending on the machine's load); a replica a
test leaves dead is restarted after it (`heal`). `start_cluster` gives a test a cluster of its
own, e.g. with other settings for every process via `env` or another number of replicas. Kill
and restart from the test's main thread (the death signal that ties every replica to this
process follows the thread that started it).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.cli.cluster import HAPROXY_HINT, Cluster, find_haproxy
from services.cli.cluster_plan import make_plan
from services.cli.dev_postgres import INSTALL_HINT, find_bin_dir, free_port
from services.cli.token import Identity, Token, obtain_token
from services.platform.settings import Settings


@dataclass(frozen=True)
class ReplicaInfo:
    index: int
    address: str
    http_address: str | None
    pid: int | None  # None while it is not running


@dataclass
class RunningCluster:
    cluster: Cluster
    env: dict[str, str]

    @property
    def grpc_address(self) -> str:
        return self.cluster.plan.grpc_address

    @property
    def http_url(self) -> str:
        return f"http://{self.cluster.plan.http_address}"

    @property
    def sts_url(self) -> str:
        return f"http://{self.cluster.plan.sts_address}"

    @property
    def postgres_urls(self) -> Mapping[str, str]:
        return self.cluster.database_urls

    def replicas(self, component: str) -> list[ReplicaInfo]:
        return [
            ReplicaInfo(
                r.index,
                r.address,
                r.http_address,
                self.cluster.pid(component, r.index) if self.cluster.running(component, r.index) else None,
            )
            for r in self.cluster.plan.replicas[component]
        ]

    def kill(self, component: str, index: int, sig: int = signal.SIGKILL) -> int | None:
        return self.cluster.kill(component, index, sig)

    def restart(self, component: str, index: int) -> int:
        return self.cluster.restart(component, index)

    def lb_stats(self) -> list[dict[str, str]]:
        return self.cluster.lb_stats()

    def token(self, client_id: str | None = None, **identity: str) -> str:
        """An access token from the cluster's STS: client credentials, or a login (user=PID or
        patient=PID, the client then defaults to the seeded one for that login); purpose=, scope=."""
        return self.token_for(Identity(client_id, **identity)).access_token

    def token_for(self, identity: Identity, *, dpop: bool = False) -> Token:
        """The token with its DPoP key (`dpop=True`), to make proofs (`htu` = the load balancer's URL)."""
        return asyncio.run(obtain_token(Settings.from_env(self.env), identity, dpop=dpop))

    def heal(self) -> list[str]:
        """Restarts every replica that is not running; returns their names."""
        healed = []
        for replica in self.cluster.plan.all_replicas():
            if not self.cluster.running(replica.component, replica.index):
                self.cluster.restart(replica.component, replica.index)
                healed.append(replica.name)
        return healed

    def samhandling(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Runs `samhandling ARGS` against this cluster; does not check the exit code."""
        return subprocess.run(
            [sys.executable, "-m", "services.cli.main", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def require_cluster_binaries() -> None:
    """Skips without HAProxy or PostgreSQL locally; fails instead in CI (SAMHANDLING_REQUIRE_*)."""
    missing = [hint for found, hint in ((find_haproxy(), HAPROXY_HINT), (find_bin_dir(), INSTALL_HINT)) if not found]
    if not missing:
        return
    required = (
        os.environ.get("SAMHANDLING_REQUIRE_POSTGRES") == "1" or os.environ.get("SAMHANDLING_REQUIRE_HAPROXY") == "1"
    )
    if required:
        pytest.fail("; ".join(missing), pytrace=False)
    pytest.skip("; ".join(missing))


def public_env(var_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment with the cluster's var dir and free public ports."""
    env = {**os.environ, "SAMHANDLING_VAR_DIR": str(var_dir), **(extra or {})}
    env.pop("OTEL_TRACES_EXPORTER", None)
    for name in ("GATEWAY", "GATEWAY_HTTP", "STS"):
        env[f"SAMHANDLING_{name}_ADDR"] = f"127.0.0.1:{free_port()}"
    return env


@contextmanager
def start_cluster(
    var_dir: Path, *, replicas: int = 2, env: Mapping[str, str] | None = None
) -> Iterator[RunningCluster]:
    """A cluster of its own: `replicas` of each component; `env` adds settings for every process."""
    require_cluster_binaries()
    environment = public_env(var_dir, env)
    settings = Settings.from_env(environment)
    plan = make_plan(settings.addresses, replicas, free_port=free_port)
    cluster = Cluster(plan, var_dir=var_dir, base_env=environment, say=lambda _line: None)
    cluster.start()
    try:
        yield RunningCluster(cluster, environment)
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def module_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCluster]:
    with start_cluster(tmp_path_factory.mktemp("cluster") / "var") as running:
        yield running


LOG_TAIL_LINES = 40


@pytest.fixture
def cluster(module_cluster: RunningCluster) -> Iterator[RunningCluster]:
    """The module's cluster; any replica a test left dead is restarted after it, so the next test
    starts with every replica running."""
    yield module_cluster
    module_cluster.heal()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed cluster test's report carries the tail of every process's log, so a failure in
    CI can be read without the (deleted) var dir. The processes log no tokens, keys or person
    numbers."""
    report = yield
    running = getattr(item, "funcargs", {}).get("module_cluster")
    if report.when == "call" and report.failed and isinstance(running, RunningCluster):
        for log in sorted(running.cluster.log_dir.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
            report.sections.append((f"log {log.name}", "\n".join(tail)))
    return report
