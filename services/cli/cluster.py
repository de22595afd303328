"""The local cluster behind `samhandling cluster` (the command: `cluster_command.py`): N replicas
of every component on one throwaway PostgreSQL, behind a real L7 load balancer (HAProxy), on one
machine.

Start order: the STS (it needs no database) and a fresh PostgreSQL, one database per component,
migrations and seeds (once, before any replica runs), every replica of every backend and of the
gateway, then HAProxy once all of them are SERVING (polled, with a deadline): nothing is offered
to clients before what it depends on answers. Stop order is the
reverse: load balancer, gateways, backends, STS, PostgreSQL.

Every process is a child of this one, started through `services.cli.children`: Ctrl-C stops
them in order, and if this process is killed outright each child gets its death signal, so no
orphan keeps a port. `Cluster` is also the test harness's engine (`tests/cluster/conftest.py`):
it can kill and restart one replica while the others serve.

`var/cluster/cluster.json` (the manifest) says what runs where while the cluster is up;
`samhandling status` reads it to list every replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from services.platform.settings import BACKENDS, Settings

from . import children
from .cluster_plan import DATABASES, ClusterPlan, Replica
from .dev_postgres import (
    INSTALL_HINT,
    PostgresServer,
    find_bin_dir,
    running_server,
    scratch_dir,
)
from .haproxy_config import render
from .health import grpc_status, http_status, replica_status

STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
POLL_SECONDS = 0.1  # between two health polls while waiting for SERVING
MANIFEST = "cluster.json"
HAPROXY_HINT = (
    "HAProxy not found (looked for haproxy on PATH and /usr/sbin/haproxy); install it with "
    "`sudo apt-get install haproxy` (Debian/Ubuntu) or `brew install haproxy` (macOS)"
)
# Ten replicas with their pools, migrations and tests' own connections; the default 100 is tight.
POSTGRES_OPTIONS = {"max_connections": "400"}


class ClusterError(RuntimeError):
    """The cluster cannot start or keep running; the message says why and where to look."""


def find_haproxy() -> Path | None:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None)
    return Path(found) if found else None


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on host:port (a connection in TIME_WAIT does not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def manifest_path(var_dir: Path) -> Path:
    return var_dir / "cluster" / MANIFEST


class Cluster:
    """The processes of one local cluster. Use as a context manager, or `start()` and `stop()`.

    `base_env` is the environment the replicas inherit (the caller's); the plan's wiring
    overrides every address, listen and database variable in it. Start and stop, kill and
    restart from the main thread only (see `services.cli.children`).
    """

    def __init__(
        self,
        plan: ClusterPlan,
        *,
        var_dir: Path,
        base_env: Mapping[str, str] | None = None,
        say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
        interrupted: Callable[[], bool] = lambda: False,
    ) -> None:
        self.plan = plan
        self.var_dir = var_dir
        self.dir = var_dir / "cluster"
        self.log_dir = self.dir / "log"
        self._base_env = dict(os.environ if base_env is None else base_env)
        self._base_env.pop("SAMHANDLING_LISTEN", None)
        self._say = say
        self._interrupted = interrupted
        self._stack = contextlib.ExitStack()
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self.postgres: PostgresServer | None = None
        self.database_urls: dict[str, str] = {}
        self.env: dict[str, str] = {}

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        haproxy = find_haproxy()
        if haproxy is None:
            raise ClusterError(HAPROXY_HINT)
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise ClusterError(INSTALL_HINT)
        taken = [port for port in self.plan.ports() if port_in_use(port)]
        if taken:
            raise ClusterError(
                f"ports already in use: {', '.join(map(str, taken))} (is `make run` or another cluster running?)"
            )
        try:
            self._start(haproxy, bin_dir)
        except BaseException:
            self.stop()
            raise

    def _start(self, haproxy: Path, bin_dir: Path) -> None:
        from .database_setup import migrate_all, seed_all

        started = time.monotonic()

        def step(what: str) -> None:
            self._say(f"{what} ({time.monotonic() - started:.1f} s)")

        self.dir.mkdir(parents=True, exist_ok=True)
        # The STS needs no database: it starts while PostgreSQL is prepared.
        self._processes["sts"] = self._spawn_server("sts", self._sts_env())
        self.postgres = self._stack.enter_context(
            running_server(
                bin_dir,
                base=self._postgres_dir(),
                port=self.plan.postgres_port,
                options=POSTGRES_OPTIONS,
                log=self.log_dir / "postgres.log",
            )
        )
        for name in DATABASES:
            self.postgres.create_database(name)
        self.database_urls = {name: self.postgres.url(name) for name in DATABASES}
        step(f"PostgreSQL ready on port {self.postgres.port} with databases {', '.join(DATABASES)}")
        self.env = {
            **self._base_env,
            "SAMHANDLING_VAR_DIR": str(self.var_dir),
            **self.plan.shared_env(self.database_urls),
        }
        settings = Settings.from_env(self.env)
        migrate_all(settings)  # once, before any replica runs
        seed_all(settings)
        step("migrated and seeded")
        # BackendChannels and gateways start together (a gateway reaches its backends lazily and asks
        # consent for every decision until its policy watch holds a lease); clients reach the
        # gateways only through the load balancer, which starts once every replica is SERVING.
        for replica in self.plan.all_replicas():
            self._processes[replica.name] = self._spawn_replica(replica)
        self._wait_serving([("sts", "sts", self.plan.sts_address)] + self._checks(lambda r: True))
        step(f"STS and {len(self.plan.all_replicas())} replicas SERVING")

        config = self.dir / "haproxy.cfg"
        config.write_text(render(self.plan))
        self._processes["haproxy"] = children.spawn(
            [str(haproxy), "-db", "-f", str(config)],
            log_path=self.log_dir / "haproxy.log",
            env=self.env,
            death_signal=signal.SIGTERM,
        )
        self.wait_balanced()
        self._write_manifest()
        step("load balancer serving")

    def stop(self) -> None:
        """Load balancer, gateways, backends, STS, then PostgreSQL; idempotent."""
        tiers = [
            ["haproxy"],
            [r.name for r in self.plan.replicas["gateway"]],
            [r.name for c in reversed(BACKENDS) for r in self.plan.replicas[c]],
            ["sts"],
        ]
        for tier in tiers:  # in order; the processes of one tier stop together
            stopping = [p for p in (self._processes.pop(name, None) for name in tier) if p is not None]
            children.stop_all(stopping, signal.SIGTERM, STOP_TIMEOUT_SECONDS)
        with contextlib.suppress(FileNotFoundError):
            manifest_path(self.var_dir).unlink()
        self._stack.close()
        self.postgres = None

    def _sts_env(self) -> dict[str, str]:
        sts = {key: value for key, value in self.plan.shared_env({}).items() if "DATABASE" not in key}
        return {**self._base_env, "SAMHANDLING_VAR_DIR": str(self.var_dir), **sts}

    def _postgres_dir(self) -> Path:
        """In RAM when there is room (`scratch_dir`): thousands of small files, created and deleted
        each run, which take seconds on a loaded disk; reachable by the `postgres` user."""
        return scratch_dir("samhandling-cluster-pg-")

    # -- replicas ---------------------------------------------------------------------------

    def _spawn_server(self, name: str, env: Mapping[str, str], component: str | None = None) -> subprocess.Popen[bytes]:
        return children.spawn(
            [sys.executable, "-m", "services.cli.main", "serve", component or name],
            log_path=self.log_dir / f"{name}.log",
            env=env,
            death_signal=signal.SIGTERM,
        )

    def _spawn_replica(self, replica: Replica) -> subprocess.Popen[bytes]:
        return self._spawn_server(replica.name, {**self.env, **self.plan.replica_env(replica)}, replica.component)

    def _checks(self, which: Callable[[Replica], bool]) -> list[tuple[str, str, str]]:
        return [(r.name, r.component, r.address) for r in self.plan.all_replicas() if which(r)]

    def pid(self, component: str, index: int) -> int:
        name = self.plan.replica(component, index).name
        return self._processes[name].pid

    def running(self, component: str, index: int) -> bool:
        process = self._processes.get(self.plan.replica(component, index).name)
        return process is not None and process.poll() is None

    def kill(self, component: str, index: int, sig: int = signal.SIGKILL, *, wait: bool = True) -> int | None:
        """Sends `sig` to one replica; with `wait`, returns its exit code once it has exited."""
        process = self._processes[self.plan.replica(component, index).name]
        if process.poll() is None:
            process.send_signal(sig)
        if not wait:
            return None
        code = process.wait(STOP_TIMEOUT_SECONDS)
        self._write_manifest()
        return code

    def restart(self, component: str, index: int) -> int:
        """Stops the replica if it runs (SIGTERM: a graceful stop), starts it again with the same
        address and environment, waits until it is SERVING (a gateway: until the load balancer
        sends to it again). Returns the new pid."""
        replica = self.plan.replica(component, index)
        old = self._processes.get(replica.name)
        if old is not None:
            children.stop(old, signal.SIGTERM, STOP_TIMEOUT_SECONDS)
        self._processes[replica.name] = self._spawn_replica(replica)
        self._wait_serving([(replica.name, component, replica.address)])
        if component == "gateway" and "haproxy" in self._processes:
            self.wait_balanced()
        self._write_manifest()
        return self._processes[replica.name].pid

    def exited(self) -> list[str]:
        """Names of the processes that have stopped on their own (PostgreSQL as `postgres`)."""
        dead = [name for name, p in self._processes.items() if p.poll() is not None]
        if self.postgres is not None and self.postgres.pid is not None and not children.alive(self.postgres.pid):
            dead.append("postgres")
        return dead

    # -- waiting ----------------------------------------------------------------------------

    def _wait_serving(self, checks: list[tuple[str, str, str]]) -> None:
        """Polls every (name, component, address) until all are SERVING; fails at once when one
        of their processes exits, and after STARTUP_TIMEOUT_SECONDS."""

        async def poll() -> list[str]:
            return list(await asyncio.gather(*(replica_status(c, a) for _, c, a in checks)))

        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            for name, _, _ in checks:
                if self._processes[name].poll() is not None:
                    raise ClusterError(f"{name} exited during start-up; see {self.log_dir / name}.log")
            answers = asyncio.run(poll())
            if all(a == "SERVING" for a in answers):
                return
            if self._interrupted():
                raise ClusterError("interrupted")
            if time.monotonic() > deadline:
                waiting = [n for (n, _, _), a in zip(checks, answers, strict=True) if a != "SERVING"]
                raise ClusterError(f"not SERVING after {STARTUP_TIMEOUT_SECONDS:.0f}s: {', '.join(waiting)}")
            time.sleep(POLL_SECONDS)

    def wait_balanced(self) -> None:
        """Until the load balancer answers on both public ports and counts every gateway UP."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        expected = {(b, g.name) for g in self.plan.replicas["gateway"] for b in ("gateways_grpc", "gateways_http")}
        while True:
            haproxy = self._processes["haproxy"]
            if haproxy.poll() is not None:
                raise ClusterError(f"haproxy exited; see {self.log_dir / 'haproxy.log'}")
            up = {key for key, state in self._lb_states().items() if state == "UP"}
            if expected <= up and asyncio.run(self._public_status()) == ("SERVING", "SERVING"):
                return
            if self._interrupted():
                raise ClusterError("interrupted")
            if time.monotonic() > deadline:
                raise ClusterError(f"the load balancer is not serving after {STARTUP_TIMEOUT_SECONDS:.0f}s")
            time.sleep(POLL_SECONDS)

    async def _public_status(self) -> tuple[str, str]:
        return (
            await grpc_status(self.plan.grpc_address),
            await http_status(f"http://{self.plan.http_address}/api/v1/openapi.json"),
        )

    def lb_stats(self) -> list[dict[str, str]]:
        """HAProxy's statistics (`/stats;csv`): one row per frontend, server and backend."""
        answer = httpx.get(f"http://{self.plan.stats_address}/stats;csv", timeout=2.0)
        answer.raise_for_status()
        return list(csv.DictReader(io.StringIO(answer.text.lstrip("# "))))

    def _lb_states(self) -> dict[tuple[str, str], str]:
        try:
            rows = self.lb_stats()
        except httpx.HTTPError:
            return {}
        return {(r["pxname"], r["svname"]): r["status"] for r in rows if r["svname"] not in ("FRONTEND", "BACKEND")}

    # -- what runs where ----------------------------------------------------------------------

    def manifest(self) -> dict[str, object]:
        plan = self.plan
        return {
            "pid": os.getpid(),
            "load_balancer": {"grpc": plan.grpc_address, "http": plan.http_address, "stats": plan.stats_address},
            "sts": plan.sts_address,
            "postgres": {"host": self.postgres.host, "port": self.postgres.port} if self.postgres else None,
            "replicas": [
                {
                    "component": r.component,
                    "index": r.index,
                    "address": r.address,
                    "http_address": r.http_address,
                    "pid": self._processes[r.name].pid if self.running(r.component, r.index) else None,
                }
                for r in plan.all_replicas()
            ],
            "targets": {c: plan.target(c) for c in plan.replicas},
        }

    def _write_manifest(self) -> None:
        path = manifest_path(self.var_dir)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.manifest(), indent=2))
        temporary.replace(path)
