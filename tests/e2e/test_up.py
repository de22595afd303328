"""End to end: the real processes, started the way `samhandling up` starts them."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from tests.fixtures import people
from tests.fixtures.processes import assert_freed, children_of, port_taken
from tests.fixtures.up import COMPONENTS, samhandling
from tests.fixtures.up import running_up as up_running
from tests.fixtures.up import suite_env as up_env

pytestmark = pytest.mark.e2e

PATIENT = people.ESKIL


@pytest.fixture
def suite_env(tmp_path):
    return up_env(tmp_path / "var")


@pytest.fixture
def running_up(suite_env):
    with up_running(suite_env) as up:
        yield up


def test_up_serves_the_flow_and_stops_cleanly(running_up, suite_env):
    status = samhandling("status", env=suite_env)
    assert status.stdout.count("SERVING") == len(COMPONENTS)

    token = samhandling("token", "--client", "demo-ehr", env=suite_env).stdout.strip()
    assert token.count(".") == 2

    def ehr_reads(patient_id: str, check: bool = True) -> subprocess.CompletedProcess:
        return samhandling(
            "call",
            "--client",
            "demo-ehr",
            "samhandling.summary.v1.PatientSummaryService/GetPatientSummary",
            json.dumps({"patient_id": patient_id}),
            env=suite_env,
            check=check,
        )

    summary = json.loads(ehr_reads(PATIENT).stdout)
    assert summary["municipalServices"] and summary["latestNews2"]

    listed = samhandling(
        "call",
        "--client",
        "demo-auditor",
        "samhandling.audit.v1.AuditService/ListEvents",
        json.dumps({"patient_id": PATIENT}),
        env=suite_env,
    )
    events = [e for e in json.loads(listed.stdout)["events"] if e["actor"]["clientId"] == "demo-ehr"]
    assert events
    assert {e["decision"] for e in events} == {"DECISION_PERMIT"}
    assert all(e["purposeOfUse"] == "PURPOSE_OF_USE_TREAT" and len(e["traceId"]) == 32 for e in events)

    denied = ehr_reads("12345678901", check=False)
    assert denied.returncode == 1 and "INVALID_ARGUMENT" in denied.stderr and "patient_id" in denied.stderr

    # A health person through the real login, with a DPoP-bound token, from the command line.
    personnel = samhandling(
        "call",
        "--user",
        people.LARS,
        "--dpop",
        "--purpose",
        "TREAT",
        "samhandling.summary.v1.PatientSummaryService/GetPatientSummary",
        json.dumps({"patient_id": PATIENT}),
        env=suite_env,
    )
    assert json.loads(personnel.stdout)["patientId"] == PATIENT
    key_file = suite_env_path(suite_env) / "dpop.jwk"
    bound = samhandling("token", "--user", people.LARS, "--dpop", str(key_file), "--purpose", "TREAT", env=suite_env)
    assert bound.stdout.count(".") == 2 and "d" in json.loads(key_file.read_text())
    new_kid = samhandling("rotate-keys", env=suite_env).stdout.strip()
    assert new_kid

    # An auditor verifies the log with its public key alone, and later that it only grew.
    saved = suite_env_path(suite_env) / "checkpoint.txt"
    first = samhandling("audit", "verify", "--save", str(saved), env=suite_env)
    assert "the log verifies" in first.stdout and saved.read_text().count("\n") >= 4
    ehr_reads(PATIENT)
    assert "the log verifies" in samhandling("audit", "verify", "--since", str(saved), env=suite_env).stdout
    vkey = first.stdout.split("verifier key: ", 1)[1].split()[0]
    proof = suite_env_path(suite_env) / "event-1.proof"
    samhandling("audit", "prove", "1", "--out", str(proof), env=suite_env)
    assert "the proof verifies" in samhandling("audit", "check-proof", str(proof), "--vkey", vkey, env=suite_env).stdout
    proof.write_text(proof.read_text().replace("=", "A", 1) if "=" in proof.read_text() else proof.read_text() + "x")
    assert samhandling("audit", "check-proof", str(proof), "--vkey", vkey, env=suite_env, check=False).returncode == 1

    running_up.send_signal(signal.SIGINT)
    assert running_up.wait(30) == 0
    after = samhandling("status", env=suite_env, check=False)
    assert after.returncode == 1 and "SERVING" not in after.stdout.replace("NOT_SERVING", "")
    logs = "".join(p.read_text() for p in (suite_env_path(suite_env) / "log").glob("*.log"))
    assert PATIENT not in logs and "eyJ" not in logs


def test_a_killed_up_leaves_no_process_on_its_ports(running_up, suite_env):
    """SIGKILL gives `up` no chance to stop its children: their death signal must."""
    ports = [int(suite_env[f"SAMHANDLING_{c.upper()}_ADDR"].rsplit(":", 1)[1]) for c in (*COMPONENTS, "gateway_http")]
    pids = children_of(running_up.pid)
    assert len(pids) == len(COMPONENTS) and all(port_taken(p) for p in ports)
    running_up.send_signal(signal.SIGKILL)
    running_up.wait(5)
    assert_freed(ports, pids)


def suite_env_path(env: dict[str, str]):
    from pathlib import Path

    return Path(env["SAMHANDLING_VAR_DIR"])
