"""`samhandling serve` drains on SIGTERM (services/cli/serve.py): a real backend process,
polled from outside as a balancer would, reports NOT_SERVING before it refuses, then exits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.cli.database_setup import migrate_all
from services.platform.settings import Settings
from tests.fixtures.postgres import free_port
from tests.support import HEALTH_NO_ANSWER

START_SECONDS = 30.0  # upper bound on the process coming up, so a broken start fails instead of hanging
DRAIN_SECONDS = 1.0


def status(channel: grpc.Channel) -> str | None:
    """The health answer, the code of a refusal, or None when the check got no answer."""
    try:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1.0)
    except grpc.RpcError as exc:
        return None if exc.code() in HEALTH_NO_ANSWER else exc.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)


def test_serve_drains_on_sigterm_before_it_refuses(tmp_path) -> None:
    address = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "SAMHANDLING_VAR_DIR": str(tmp_path),
        "SAMHANDLING_CAPACITY_ADDR": address,
        "SAMHANDLING_DRAIN_SECONDS": str(DRAIN_SECONDS),
    }
    env.pop("OTEL_TRACES_EXPORTER", None)
    migrate_all(Settings.from_env(env), ("capacity",))  # serve refuses a database not at head
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "serve", "capacity"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with grpc.insecure_channel(address) as channel:
            deadline = time.monotonic() + START_SECONDS
            while status(channel) != "SERVING":
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "not SERVING in time"
                time.sleep(0.05)  # the poller's period, not synchronisation
            process.send_signal(signal.SIGTERM)
            seen = ["SERVING"]
            changed: dict[str, float] = {}
            stopped_at = time.monotonic() + START_SECONDS
            while seen[-1] != "UNAVAILABLE":
                assert time.monotonic() < stopped_at, f"never refused: {seen}"
                if (now := status(channel)) is not None and now != seen[-1]:
                    seen.append(now)
                    changed[now] = time.monotonic()
                time.sleep(0.05)  # the poller's period, not synchronisation
        assert seen == ["SERVING", "NOT_SERVING", "UNAVAILABLE"]
        # NOT_SERVING for the drain, less however late the poller saw it (without a drain the
        # change is over within a poll period or two).
        assert changed["UNAVAILABLE"] - changed["NOT_SERVING"] >= DRAIN_SECONDS / 2
        assert process.wait(START_SECONDS) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
