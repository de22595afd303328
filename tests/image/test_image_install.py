"""The container image's install steps (Dockerfile), reproduced in a clean virtual environment,
and every component started from it in production mode.

No container engine is needed: the wheel is built from exactly what the Dockerfile copies
(pyproject.toml, README.md, protos/, services/, gateway/), and installed the way the image
installs it: requirements.lock with --require-hashes and --no-deps (wheels only), then the wheel
with --no-deps, no dev extras, nothing from the repository's own venv. Every component then runs
as `<venv>/bin/samhandling serve <component>` from an empty directory with production settings and
throwaway keys made here, on PostgreSQL databases migrated by that venv's `samhandling migrate`, and
must answer grpc.health.v1 SERVING. So a runtime dependency missing from pyproject.toml or the lock,
or a package-data file missing from the wheel (migrations, templates, i18n catalogues, static
files), fails here. pip's cache keeps the install at seconds when the wheels were fetched before.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from grpc_health.v1 import health_pb2, health_pb2_grpc
from joserfc.jwk import ECKey
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from services.audit.checkpoints import NoteSigner
from services.cli.health import grpc_status
from services.platform.health import READINESS
from services.platform.settings import BACKENDS
from services.platform.tls import TlsFiles
from tests.fixtures.postgres import PostgresServer, free_port
from tests.fixtures.tls import Authority
from tests.image.overlay_env import REWRITTEN, Machine, processes
from tests.k8s.rendered import render

pytestmark = [pytest.mark.image, pytest.mark.postgres]

REPO = Path(__file__).resolve().parents[2]
# What the Dockerfile copies into its builder stage (and .dockerignore admits), and nothing else.
BUILD_SOURCES = ("pyproject.toml", "README.md", "protos", "services", "gateway")
SERVED = (*BACKENDS, "gateway")
START_TIMEOUT_S = 60.0
AUDIT_ORIGIN = "samhandling.example.no/audit"
# The issuer is named, never called: `.invalid` cannot resolve (RFC 6761), so nothing leaves the machine.
ISSUER = "https://sts.samhandling.invalid"
PUBLIC_URL = "https://samhandling.example.no"


@dataclass(frozen=True)
class Installed:
    venv: Path
    wheel: Path

    def samhandling(self) -> str:
        return str(self.venv / "bin" / "samhandling")


def run(
    command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=cwd)
    assert done.returncode == 0, f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


def base_python() -> str:
    """The interpreter the repository's venv was made from: a clean venv must not inherit it."""
    return getattr(sys, "_base_executable", None) or sys.executable


def install_environment() -> dict[str, str]:
    """The environment without the repository venv's traces (pip's configuration and cache kept)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The Dockerfile's builder stage, step by step, in a temporary directory."""
    root = tmp_path_factory.mktemp("image")
    source = root / "src"
    source.mkdir()
    for name in BUILD_SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, source / name)
    venv = root / "venv"
    env = install_environment()
    # The venv without pip of its own (ensurepip alone takes seconds): pip runs from here, with
    # --python installing into the clean venv, the way the image's venv pip installs into itself.
    run([base_python(), "-m", "venv", "--without-pip", str(venv)], env=env)
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    run([*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", str(root / "dist"), str(source)], env=env, cwd=root)
    run(
        [
            *pip,
            "install",
            "--quiet",
            "--require-hashes",
            "--no-deps",
            "--only-binary=:all:",
            "-r",
            str(REPO / "requirements.lock"),
        ],
        env=env,
        cwd=root,
    )
    (wheel,) = (root / "dist").glob("samhandling-*.whl")
    run([*pip, "install", "--quiet", "--no-deps", str(wheel)], env=env, cwd=root)
    run([*pip, "check"], env=env, cwd=root)
    return Installed(venv, wheel)


def test_the_lock_holds_every_dependency_and_no_dev_extra(installed: Installed) -> None:
    """`pip check` passed in the fixture (every dependency the wheels declare is installed);
    and none of the dev extras came along."""
    listed = run(
        [sys.executable, "-m", "pip", "--python", str(installed.venv / "bin" / "python"), "list", "--format=json"]
    ).stdout
    names = {p["name"].lower() for p in json.loads(listed)}
    assert "samhandling" in names
    assert not names & {"pytest", "ruff", "mypy", "hypothesis", "playwright", "schemathesis", "grpcio-tools", "uv"}


def test_the_wheel_holds_every_source_file_and_no_seeds(installed: Installed) -> None:
    """Every file of the packages (code, migrations, templates, i18n, static) is in the wheel;
    seeds/ and its development keys are not, nor any other file marked dev-only."""
    in_wheel = set(zipfile.ZipFile(installed.wheel).namelist())
    wanted = {
        str(path.relative_to(base))
        for base, top in ((REPO, "services"), (REPO, "gateway"), (REPO / "protos", "samhandling"))
        for path in (base / top).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".proto")
    }
    assert sorted(wanted - in_wheel) == []
    assert any(n.startswith("services/consent/migrations/versions/") for n in in_wheel)
    assert not [n for n in in_wheel if n.startswith("seeds/") or "dev-only" in n or "dev_only" in n]


def test_every_module_of_the_wheel_imports(installed: Installed, tmp_path: Path) -> None:
    """Code no component starts (the CLI's commands, the OTLP exporter) needs its dependencies too."""
    probe = (
        "import importlib, pkgutil\n"
        "for top in ('samhandling', 'services', 'gateway'):\n"
        "    package = importlib.import_module(top)\n"
        "    for module in pkgutil.walk_packages(package.__path__, top + '.'):\n"
        "        if '.migrations' not in module.name:\n"
        "            importlib.import_module(module.name)\n"
        "import opentelemetry.exporter.otlp.proto.grpc.trace_exporter\n"
    )
    run(
        [str(installed.venv / "bin" / "python"), "-c", probe],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
    )


@dataclass(frozen=True)
class Production:
    env: dict[str, str]  # what every component is given
    ca_file: Path
    certificates: dict[str, tuple[Path, Path]]  # each backend's certificate and key

    def address(self, component: str) -> str:
        return self.env[f"SAMHANDLING_{component.upper()}_ADDR"]

    def env_of(self, component: str) -> dict[str, str]:
        """A backend serves TLS with its own certificate; the gateway verifies them with the CA."""
        if component not in BACKENDS:
            return self.env
        cert, key = self.certificates[component]
        return self.env | {"SAMHANDLING_TLS_CERT_FILE": str(cert), "SAMHANDLING_TLS_KEY_FILE": str(key)}


@pytest.fixture
def production(tmp_path: Path, postgres_server: PostgresServer) -> Iterator[Production]:
    """The settings production requires (services/platform/production.py), with keys made here."""
    keys = tmp_path / "keys"
    keys.mkdir()

    def jwk(name: str) -> ECKey:
        key = ECKey.generate_key("P-256", parameters={"kid": name}, private=True)
        (keys / f"{name}.jwk.json").write_text(json.dumps(key.as_dict(private=True)))
        return key

    assertion = jwk("gateway-assertion")
    (keys / "gateway-assertion.pub.jwk.json").write_text(json.dumps(assertion.as_dict(private=False)))
    for name in ("consent-receipts", "web-patient", "web-personnel", "web-dpop"):
        jwk(name)
    audit_pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (keys / "audit-log.pem").write_bytes(audit_pem)
    (keys / "log-pseudonym.key").write_text(os.urandom(32).hex() + "\n")
    (keys / "database-password").write_text("ignored-by-the-trusting-test-server\n")
    ca = Authority("samhandling", keys)
    databases = {c: postgres_server.create_database() for c in SERVED}
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "SAMHANDLING_ENV": "production",
        "SAMHANDLING_VAR_DIR": str(tmp_path / "var"),
        "SAMHANDLING_DRAIN_SECONDS": "0",
        "SAMHANDLING_TOKEN_ISSUER": ISSUER,
        "SAMHANDLING_CUSTOM_ISSUER_ALLOWED": "1",
        "SAMHANDLING_GATEWAY_PUBLIC_URL": PUBLIC_URL,
        "SAMHANDLING_GATEWAY_HTTP_PUBLIC_URL": PUBLIC_URL,
        # Secrets as the manifests give them: files (the test server trusts and ignores the password).
        "SAMHANDLING_LOG_PSEUDONYM_KEY_FILE": str(keys / "log-pseudonym.key"),
        "SAMHANDLING_DATABASE_PASSWORD_FILE": str(keys / "database-password"),
        "SAMHANDLING_ASSERTION_KEY_FILE": str(keys / "gateway-assertion.jwk.json"),
        "SAMHANDLING_ASSERTION_PUBLIC_KEY_FILE": str(keys / "gateway-assertion.pub.jwk.json"),
        "SAMHANDLING_CONSENT_RECEIPT_KEY_FILE": str(keys / "consent-receipts.jwk.json"),
        "SAMHANDLING_AUDIT_LOG_KEY_FILE": str(keys / "audit-log.pem"),
        "SAMHANDLING_AUDIT_LOG_ORIGIN": AUDIT_ORIGIN,
        "SAMHANDLING_AUDIT_LOG_VKEY": NoteSigner.from_pem(AUDIT_ORIGIN, audit_pem).verifier.vkey,
        "SAMHANDLING_WEB_PATIENT_CLIENT_KEY_FILE": str(keys / "web-patient.jwk.json"),
        "SAMHANDLING_WEB_PERSONNEL_CLIENT_KEY_FILE": str(keys / "web-personnel.jwk.json"),
        "SAMHANDLING_WEB_DPOP_KEY_FILE": str(keys / "web-dpop.jwk.json"),
        "SAMHANDLING_TLS_CA_FILE": str(ca.ca_file),
    }
    env |= {f"SAMHANDLING_{c.upper()}_ADDR": f"127.0.0.1:{free_port()}" for c in (*SERVED, "gateway_http", "sts")}
    env |= {f"SAMHANDLING_{c.upper()}_DATABASE_URL": postgres_server.url(name) for c, name in databases.items()}
    issued = {c: ca.issue(c, server=True) for c in BACKENDS}
    try:
        yield Production(env, ca.ca_file, {c: (i.cert, i.key) for c, i in issued.items()})
    finally:
        for name in databases.values():
            postgres_server.drop_database(name)


def tree(path: Path) -> dict[str, tuple[int, int]]:
    """Every file under `path` with its size and modification time."""
    return {str(p.relative_to(path)): (p.stat().st_size, p.stat().st_mtime_ns) for p in path.rglob("*") if p.is_file()}


async def wait_serving(production: Production, processes: dict[str, subprocess.Popen[bytes]]) -> dict:
    """Polls every component's grpc.health.v1 until all are SERVING, one has exited, or the time is
    up; returns the last answers and the exit codes."""
    tls = TlsFiles(ca_file=production.ca_file)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        statuses = dict(
            zip(
                SERVED,
                await asyncio.gather(
                    *(grpc_status(production.address(c), None if c == "gateway" else tls) for c in SERVED)
                ),
                strict=True,
            )
        )
        exited = {c: p.returncode for c, p in processes.items() if p.poll() is not None}
        if all(s == "SERVING" for s in statuses.values()) or exited or time.monotonic() > deadline:
            return {"statuses": statuses, "exited": exited}
        await asyncio.sleep(0.2)


def test_every_component_serves_in_production_mode_from_the_installed_wheel(
    installed: Installed, production: Production, tmp_path: Path
) -> None:
    workdir = tmp_path / "empty"  # not the repository: nothing may be imported from a checkout
    workdir.mkdir()
    run([installed.samhandling(), "migrate"], env=production.env, cwd=workdir)
    before = tree(installed.venv)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    logs = {c: tmp_path / f"{c}.log" for c in SERVED}
    try:
        for component in SERVED:
            with logs[component].open("wb") as log:
                processes[component] = subprocess.Popen(
                    [installed.samhandling(), "serve", component],
                    env=production.env_of(component),
                    cwd=workdir,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        answer = asyncio.run(wait_serving(production, processes))
        tails = {c: logs[c].read_text()[-1500:] for c in SERVED}
        assert answer == {"statuses": dict.fromkeys(SERVED, "SERVING"), "exited": {}}, tails
        http = f"http://{production.address('gateway_http')}"
        assert httpx.get(f"{http}/healthz/ready", timeout=5).status_code == 200
        page = httpx.get(f"{http}/", timeout=5)
        assert page.status_code == 200 and "<html" in page.text  # a template and its i18n catalogue rendered
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = {c: p.wait(timeout=30) for c, p in processes.items()}
    assert codes == dict.fromkeys(SERVED, 0), {c: logs[c].read_text()[-1500:] for c in SERVED}
    # Nothing was written where the image's read-only root would be: no bytecode, no var dir.
    assert tree(installed.venv) == before
    assert not (tmp_path / "var").exists()


def test_the_development_sts_refuses_production_mode(installed: Installed, tmp_path: Path) -> None:
    done = subprocess.run(
        [installed.samhandling(), "serve", "sts"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONDONTWRITEBYTECODE": "1",
            "SAMHANDLING_ENV": "production",
            "SAMHANDLING_VAR_DIR": str(tmp_path / "var"),
            "SAMHANDLING_STS_ADDR": f"127.0.0.1:{free_port()}",
        },
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "samhandling: the development STS refuses to run in production mode (SAMHANDLING_ENV=production)"
    )


@contextmanager
def otlp_sink() -> Iterator[str]:
    """An OTLP/gRPC endpoint that takes every export and keeps nothing (the collector's place)."""

    class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
        def Export(self, request: object, context: object) -> metrics_service_pb2.ExportMetricsServiceResponse:
            return metrics_service_pb2.ExportMetricsServiceResponse()

    class Traces(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request: object, context: object) -> trace_service_pb2.ExportTraceServiceResponse:
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop(0)


def readiness(address: str) -> str:
    """What the server at `address` answers for grpc.health.v1 `readiness` (the kubelet's probe)."""
    with grpc.insecure_channel(address) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=READINESS), timeout=1.0
            )
        except grpc.RpcError as error:
            return error.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)


def test_the_rendered_production_overlay_runs_as_processes(
    installed: Installed, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """Issue 14's acceptance: the production overlay runs nothing the tests have not run as
    processes. Every suite container of `kubectl kustomize k8s/overlays/production` runs here
    from the installed wheel with the environment it is rendered with (tests/image/overlay_env.py
    rewrites only addresses, database URLs, Secret files, the var dir, the collector and the
    audit verifier key): the migration Jobs' commands first, then every Deployment's `serve`,
    until each reports `readiness` SERVING (the gateway: database, consent lease and audit,
    reached through their `dns:///` targets), and each stops cleanly on SIGTERM after its drain."""
    docs = render("production")
    ports: dict[int, int] = {}
    databases: dict[str, str] = {}

    def database_url(database: str) -> str:
        if database not in databases:
            databases[database] = postgres_server.create_database()
        return postgres_server.url(databases[database])

    workdir = tmp_path / "empty"
    workdir.mkdir()
    base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    running: dict[str, subprocess.Popen[bytes]] = {}
    logs: dict[str, Path] = {}
    try:
        with otlp_sink() as collector:
            machine = Machine(
                lambda _host, port: ports.setdefault(port, free_port()), database_url, collector, tmp_path
            )
            found = processes(docs, machine)
            for process in found:
                kept = {k: v for k, v in process.rendered.items() if not REWRITTEN.fullmatch(k)}
                assert {k: process.env[k] for k in kept} == kept, process.workload
                assert kept["SAMHANDLING_ENV"] == "production" and kept["SAMHANDLING_TLS_BY_MESH"] == "1"
            migrations = [p for p in found if p.args[0] == "migrate"]
            servers = [p for p in found if p.args[0] == "serve"]
            assert sorted(p.args[1] for p in migrations) == sorted(p.args[1] for p in servers) == sorted(SERVED)
            assert len(found) == len(migrations) + len(servers)
            # The Jobs run at once, as a cluster starts them (each migration takes the advisory lock).
            jobs = {
                p.workload: subprocess.Popen(
                    [installed.samhandling(), *p.args],
                    env=base | p.env,
                    cwd=workdir,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
                for p in migrations
            }
            outputs = {name: job.communicate(timeout=120)[0].decode() for name, job in jobs.items()}
            assert {name: job.returncode for name, job in jobs.items()} == dict.fromkeys(jobs, 0), outputs
            for process in servers:
                component = process.args[1]
                logs[component] = tmp_path / f"{component}.log"
                with logs[component].open("wb") as log:
                    running[component] = subprocess.Popen(
                        [installed.samhandling(), *process.args],
                        env=base | process.env,
                        cwd=workdir,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
            listen = {p.args[1]: p.env["SAMHANDLING_LISTEN"] for p in servers}
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                statuses = {c: readiness(address) for c, address in listen.items()}
                exited = {c: p.returncode for c, p in running.items() if p.poll() is not None}
                if all(s == "SERVING" for s in statuses.values()) or exited or time.monotonic() > deadline:
                    break
                time.sleep(0.2)  # polling the servers' own health, with a deadline
            tails = {c: logs[c].read_text()[-1500:] for c in running}
            assert (statuses, exited) == (dict.fromkeys(SERVED, "SERVING"), {}), tails
            (gateway,) = [p for p in servers if p.args[1] == "gateway"]
            assert (
                httpx.get(f"http://{gateway.env['SAMHANDLING_GATEWAY_HTTP_ADDR']}/healthz/ready", timeout=5).status_code
                == 200
            )
            for process in running.values():
                process.send_signal(signal.SIGTERM)
            codes = {c: p.wait(timeout=60) for c, p in running.items()}
            assert codes == dict.fromkeys(SERVED, 0), {c: logs[c].read_text()[-1500:] for c in running}
    finally:
        for process in running.values():
            if process.poll() is None:
                process.kill()
                process.wait()
        for name in databases.values():
            postgres_server.drop_database(name)
