"""`samhandling audit verify` against a running suite: an intact log verifies, and a change,
a removal or a reordering made directly in the database is found."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.cli.audit_verify import VerifyOptions, audit_verify
from services.cli.token import Identity, obtain_token
from tests.fixtures import people
from tests.support import running_suite

PATIENT = people.ESKIL


def tamper(database_url: str, *statements: str) -> None:
    """What an attacker with database rights does: drop the guards, then edit."""
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
        for verb in ("update", "delete"):
            db.execute(f"DROP TRIGGER IF EXISTS audit_events_no_{verb}")
        for statement in statements:
            db.execute(statement)


async def all_checkpointed(database_url: str, timeout: float = 10.0) -> None:
    """Waits (bounded) until the latest checkpoint covers every stored event: the integrator
    signs about a second after an append at most."""
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
            head = db.execute("SELECT size FROM audit_log_head").fetchone()[0]
            signed = db.execute("SELECT coalesce(max(size), 0) FROM audit_checkpoints").fetchone()[0]
        if head and signed == head:
            return
        assert time.monotonic() < deadline, f"{signed} of {head} events checkpointed after {timeout} s"
        await asyncio.sleep(0.01)  # polls a condition, bounded by the deadline


async def verify(suite, **options) -> int:
    token = await obtain_token(suite.settings, Identity("demo-auditor"))
    return await asyncio.to_thread(audit_verify, suite.settings.addresses["gateway"], token, VerifyOptions(**options))


@pytest.mark.parametrize(
    "attack",
    [
        # a changed event: the purpose of use rewritten
        "UPDATE audit_events SET purpose_of_use = 'COC' WHERE sequence = 1",
        # a removed event
        "DELETE FROM audit_events WHERE sequence = 2",
        # two events swapped (their contents, keeping the sequence numbers)
        "UPDATE audit_events SET patient_id = CASE sequence WHEN 1 THEN (SELECT patient_id FROM audit_events "
        "WHERE sequence = 3) ELSE (SELECT patient_id FROM audit_events WHERE sequence = 1) END "
        "WHERE sequence IN (1, 3)",
        # an event moved to another organisation, so its own auditor would be shown only its hash
        "UPDATE audit_events SET actor_orgnr_parent = '910000047' WHERE sequence = 1",
    ],
    ids=["changed", "deleted", "reordered", "moved-to-another-organisation"],
)
async def test_verify_finds_what_was_done_to_the_database(tmp_path, attack, capsys):
    async with running_suite(tmp_path) as suite:
        reader = summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway)
        for patient in (PATIENT, people.GUNNAR):
            await reader.GetPatientSummary(
                summary_pb2.GetPatientSummaryRequest(patient_id=patient), metadata=await suite.auth("demo-ehr")
            )
        await all_checkpointed(suite.settings.database_url("audit"))
        saved = tmp_path / "checkpoint.txt"
        assert await verify(suite, save=saved) == 0
        tamper(suite.settings.database_url("audit"), attack)
        assert await verify(suite, since=saved) == 1
    assert "FAILED" in capsys.readouterr().err
