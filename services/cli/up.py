"""`samhandling up`: migrate, seed and start the whole suite on loopback, one process per
component, and stop every process cleanly on Ctrl-C or SIGTERM. Each child is tied to this
process (`services.cli.children`): if `up` is killed outright, they stop too, and free their ports."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from services.platform.settings import COMPONENTS, Settings

from . import children
from .database_setup import migrate_all, seed_all
from .health import component_status

STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0


def up(settings: Settings) -> int:
    migrate_all(settings)
    seed_all(settings)
    log_dir = settings.var_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    running: dict[str, subprocess.Popen] = {}
    stopping = False

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGHUP, request_stop)  # a closed terminal: stop in order too
    try:
        for component in COMPONENTS:
            running[component] = _spawn(component, log_dir)
            if not _wait_serving(component, settings, running[component], lambda: stopping):
                print(f"{component} did not start; see {log_dir / component}.log", file=sys.stderr)
                return 1
        _print_welcome(settings, log_dir)
        while not stopping:
            dead = [c for c, p in running.items() if p.poll() is not None]
            if dead:
                print(f"{', '.join(dead)} stopped unexpectedly; see {log_dir}", file=sys.stderr)
                return 1
            time.sleep(0.2)
        return 0
    finally:
        _stop(running)


def _spawn(component: str, log_dir: Path) -> subprocess.Popen:
    # In its own session (Ctrl-C reaches only `up`, which stops children in order), with a death signal.
    return children.spawn(
        [sys.executable, "-m", "services.cli.main", "serve", component],
        log_path=log_dir / f"{component}.log",
        death_signal=signal.SIGTERM,
    )


def _wait_serving(component: str, settings: Settings, child: subprocess.Popen, stopping: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline and child.poll() is None and not stopping():
        if asyncio.run(component_status(component, settings)) == "SERVING":
            return True
        time.sleep(0.1)
    return False


def _stop(running: dict[str, subprocess.Popen]) -> None:
    """Gateway first, STS last: the reverse of start-up, so nothing serves half a suite."""
    for component in reversed(list(running)):
        children.stop(running[component], signal.SIGTERM, STOP_TIMEOUT_SECONDS)
    if running:
        print("all components stopped", file=sys.stderr)


def _print_welcome(settings: Settings, log_dir: Path) -> None:
    a = settings.addresses
    indent = " " * len(f"http://{a['gateway_http']}/pasient             patient portal: ")  # under Eskil, any port
    print(
        f"""
Samhandling is up (synthetic data only; logs in {log_dir}).

  gateway   grpc://{a["gateway"]}   (the only public door; serves reflection)
            http://{a["gateway_http"]}/api/v1   (JSON API for patients; /api/v1/openapi.json describes it)
  sts       http://{a["sts"]}   (development stand-in for HelseID)
  consent {a["consent"]}  audit {a["audit"]}  summary {a["summary"]}  capacity {a["capacity"]}  (backends: gateway only)

Try it (in another terminal):

  TOKEN=$(.venv/bin/samhandling token --client demo-ehr)
  grpcurl -plaintext -H "authorization: Bearer $TOKEN" -d '{{"patient_id": "22750884907"}}' \\
    {a["gateway"]} samhandling.summary.v1.PatientSummaryService/GetPatientSummary

  # or without grpcurl, through the same server reflection:
  .venv/bin/samhandling call --client demo-ehr samhandling.summary.v1.PatientSummaryService/GetPatientSummary '{{"patient_id": "22750884907"}}'
  .venv/bin/samhandling call --client demo-auditor samhandling.audit.v1.AuditService/ListEvents '{{"patient_id": "22750884907"}}'

  # a patient managing their sharing rules through the JSON API:
  PTOKEN=$(.venv/bin/samhandling token --patient 22750884907)
  curl -H "authorization: Bearer $PTOKEN" http://{a["gateway_http"]}/api/v1/patients/22750884907/rules

The web pages (open in a browser; log in by picking the person on the STS's page):

  http://{a["gateway_http"]}/                    landing page, language switch
  http://{a["gateway_http"]}/pasient             patient portal: Eskil Eksempelsen 22750884907;
  {indent}Mikkel Midlertidigsen 45869005006 (guardian of Frida, under 12, and of Jonas, 12)
  http://{a["gateway_http"]}/revisor             auditor console: Petra Personvernsen 11747910016
  http://{a["gateway_http"]}/ansatt/kapasitet    capacity page: Marte Mottaksen 19919110034 (hospital, Bodø)
  http://{a["gateway_http"]}/ansatt/eskaleringer escalation inbox: Lars Legevaktsen 23898220028 (doctor, Bodø legevakt)
  Sigrid Sykepleiersen 08847810026 (nurse) and Lars Legevaktsen 23898220028 (doctor, legevakt) are the
  health personnel of the gRPC side (.venv/bin/samhandling call --user ... --dpop --purpose TREAT ...).
  docs/web-pages.md, "Trying the flows by hand", walks through blocking, an emergency opening, a guardian and an audit.

Ctrl-C stops every component.
""",
        flush=True,
    )
