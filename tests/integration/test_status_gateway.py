"""`samhandling status --gateway URL`: a deployment checked through its public gateway only.

A real suite (every component on port 0) with a real HAProxy in front of its gateway that
terminates TLS with a certificate from a throwaway CA, as the Kubernetes ingress does; the
command runs as its own process, as an operator runs it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.cli.status import collect
from services.platform.health import READINESS, HealthServicer
from services.platform.settings import REPO_ROOT, Settings
from tests.fixtures.ingress import running_ingress
from tests.fixtures.postgres import free_port
from tests.fixtures.tls import Authority
from tests.support import Suite, running_suite

pytestmark = pytest.mark.asyncio(loop_scope="module")

# The gateway's readiness checks run this often here (2 s by default), so it is ready sooner.
FAST_READINESS = {"readiness_interval_seconds": 0.2}
NO_READINESS_NOTE = "the gateway has no `readiness` health service: only its overall health was checked"


@dataclass(frozen=True)
class Deployment:
    suite: Suite
    grpc_url: str  # through the TLS ingress
    http_url: str
    ca_file: Path
    other_ca_file: Path
    grpc_port: int  # the ingress's
    plain_grpc: str  # the gateway's own plaintext ports
    plain_http: str


async def ready(channel: grpc.aio.Channel) -> None:
    """Returns once the gateway reports its `readiness` SERVING: its checks (database, consent
    lease, audit) run in rounds from its start."""
    stub, deadline = health_pb2_grpc.HealthStub(channel), time.monotonic() + 30
    while (
        await stub.Check(health_pb2.HealthCheckRequest(service=READINESS))
    ).status != health_pb2.HealthCheckResponse.SERVING:
        assert time.monotonic() < deadline, "the gateway was not ready within 30 s"
        await asyncio.sleep(0.1)  # polling the condition itself


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def deployment(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Deployment]:
    directory = tmp_path_factory.mktemp("status-gateway")
    ca, other = Authority("samhandling", directory), Authority("other", directory)
    cert = ca.issue("ingress", server=True, names=["localhost"])  # not 127.0.0.1: a name to mismatch
    async with running_suite(directory, **FAST_READINESS) as suite:
        await ready(suite.gateway)
        grpc_address, http_address = suite.settings.addresses["gateway"], suite.settings.addresses["gateway_http"]
        with running_ingress(directory, cert, grpc=grpc_address, http=http_address) as ingress:
            yield Deployment(
                suite,
                f"https://localhost:{ingress.grpc_port}",
                f"https://localhost:{ingress.http_port}",
                ca.ca_file,
                other.ca_file,
                ingress.grpc_port,
                grpc_address,
                http_address,
            )


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


async def samhandling(*args: str, env: dict[str, str] | None = None) -> Run:
    """`samhandling ARGS` as its own process, without blocking the servers in this loop."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli.main",
        *args,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Run(process.returncode, stdout.decode(), stderr.decode())


def by_check(run: Run) -> dict[str, str]:
    return {e["check"]: e["status"] for e in run.json()["gateway"]}


def assert_one_line_error(run: Run, expected: str) -> None:
    assert run.code == 1, run
    assert "Traceback" not in run.stderr, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], run.stderr


async def test_every_check_through_the_tls_ingress_is_serving(deployment: Deployment) -> None:
    run = await samhandling(
        "status",
        "--gateway",
        deployment.grpc_url,
        "--http",
        deployment.http_url,
        "--ca",
        str(deployment.ca_file),
        "--json",
    )
    assert run.code == 0, run
    answer = run.json()
    assert answer["serving"] is True
    assert by_check(run) == {"health": "SERVING", "readiness": "SERVING", "http readiness": "SERVING"}
    assert answer["notes"] == []
    port = deployment.grpc_port
    assert {e["address"] for e in answer["gateway"]} == {f"localhost:{port}", f"{deployment.http_url}/healthz/ready"}
    assert run.stderr == ""

    text = await samhandling("status", "--gateway", deployment.grpc_url, "--ca", str(deployment.ca_file))
    assert text.code == 0, text
    assert text.stdout.splitlines()[0].split() == ["gateway", "health", f"localhost:{port}", "SERVING"]
    assert "note: the JSON API was not checked: give its URL with --http" in text.stdout


async def test_a_certificate_from_another_ca_is_refused_naming_the_cause(deployment: Deployment) -> None:
    for ca in (["--ca", str(deployment.other_ca_file)], []):  # another CA; the system's roots
        run = await samhandling("status", "--gateway", deployment.grpc_url, *ca)
        assert_one_line_error(
            run,
            f"samhandling: localhost:{deployment.grpc_port}: TLS: the certificate is not issued by a trusted CA (unknown CA:",
        )
        assert "gateway health" in run.stdout and "UNREACHABLE" in run.stdout


async def test_a_certificate_for_another_name_is_refused_naming_the_cause(deployment: Deployment) -> None:
    url = deployment.grpc_url.replace("localhost", "127.0.0.1")  # the certificate names localhost only
    run = await samhandling("status", "--gateway", url, "--ca", str(deployment.ca_file), "--json")
    assert_one_line_error(run, "TLS: the certificate does not name 127.0.0.1 (name mismatch:")
    assert run.json()["serving"] is False
    assert by_check(run) == {"health": "UNREACHABLE"}


async def test_the_gateways_plaintext_ports_are_checked_too(deployment: Deployment) -> None:
    run = await samhandling(
        "status", "--gateway", f"http://{deployment.plain_grpc}", "--http", f"http://{deployment.plain_http}", "--json"
    )
    assert run.code == 0, run
    assert by_check(run)["health"] == "SERVING" and by_check(run)["http readiness"] == "SERVING"


async def test_tls_to_a_plaintext_port_says_so(deployment: Deployment) -> None:
    run = await samhandling("status", "--gateway", f"https://{deployment.plain_grpc}", "--timeout", "5")
    assert_one_line_error(run, "TLS: the handshake failed")
    assert "plaintext port (http://)?" in run.stderr


async def test_a_closed_port_is_unreachable_in_one_line() -> None:
    port = free_port()
    run = await samhandling("status", "--gateway", f"http://127.0.0.1:{port}")
    assert_one_line_error(run, f"samhandling: 127.0.0.1:{port}: the connection was refused")


async def test_a_host_that_never_answers_times_out_within_the_bound() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (the kernel does) but never answers the TLS handshake
    try:
        port = silent.getsockname()[1]
        started = time.monotonic()
        run = await samhandling("status", "--gateway", f"https://127.0.0.1:{port}", "--timeout", "0.5")
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert_one_line_error(run, f"samhandling: 127.0.0.1:{port}: no answer within 0.5 s")
    assert elapsed < 10  # the process's start-up included; without a bound it would hang


async def serve_health(statuses: dict[str, int]) -> tuple[grpc.aio.Server, int]:
    """A real gRPC server with only the health service, answering `statuses`."""
    servicer = HealthServicer()
    for name, status in statuses.items():
        await servicer.set(name, status)
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def test_readiness_not_serving_fails_the_check_and_a_missing_one_is_noted() -> None:
    serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
    unready, unready_port = await serve_health({"": serving, "readiness": not_serving})
    plain, plain_port = await serve_health({"": serving})
    try:
        run = await samhandling("status", "--gateway", f"http://127.0.0.1:{unready_port}", "--json")
        assert run.code == 1, run
        assert by_check(run) == {"health": "SERVING", "readiness": "NOT_SERVING"}
        assert run.json()["notes"] == ["the JSON API was not checked: give its URL with --http"]

        run = await samhandling("status", "--gateway", f"http://127.0.0.1:{plain_port}", "--json")
        assert run.code == 0, run
        assert by_check(run) == {"health": "SERVING"}
        assert NO_READINESS_NOTE in run.json()["notes"]
    finally:
        await unready.stop(0)
        await plain.stop(0)


async def test_without_gateway_production_mode_does_not_list_the_sts(tmp_path: Path) -> None:
    addresses = {**Settings().addresses, **{c: f"127.0.0.1:{free_port()}" for c in Settings().addresses}}
    settings = replace(Settings(), var_dir=tmp_path, addresses=addresses)
    development = {e.component for e in await collect(settings)}
    production = {e.component for e in await collect(replace(settings, env="production"))}
    assert development == {"sts", "consent", "audit", "summary", "capacity", "gateway"}
    assert production == development - {"sts"}


async def test_a_gateway_whose_backend_is_down_is_not_serving(tmp_path: Path) -> None:
    """A suite of its own, ready first, whose audit backend is then stopped."""
    async with running_suite(tmp_path, **FAST_READINESS) as suite:
        await ready(suite.gateway)  # so that what turns readiness off below is the audit's stop
        await suite.backends["audit"].stop(0)  # type: ignore[attr-defined]
        url = f"http://{suite.settings.addresses['gateway']}"
        run = await samhandling("status", "--gateway", url, "--json")
        deadline = time.monotonic() + 30  # the gateway's readiness round notices within its interval
        while run.code == 0:
            assert time.monotonic() < deadline, run
            run = await samhandling("status", "--gateway", url, "--json")
        assert run.code == 1, run
        assert by_check(run) == {"health": "SERVING", "readiness": "NOT_SERVING"}
