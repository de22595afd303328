"""Issue 17's acceptance, as the README's "Try an escalation" block walks it: the test reads the
block's commands from README.md and runs exactly them (with bash, from the repository, with a
suite's environment of its own) against `samhandling up`, checking each answer. The block's one
wait (`sleep`) is the only command not run: in its place the test sweeps the suite's summary
database at a time past the 30-minute deadline (`EscalationSweeper.sweep_once`), as the
suite's own sweeper would once the deadline came, then runs the block's "list again"."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from samhandling.summary.v1 import escalation_pb2
from services.platform.db import make_engine, make_sessions
from services.platform.settings import REPO_ROOT, Settings
from services.summary.escalation_store import EscalationStore
from services.summary.escalation_sweeper import EscalationSweeper
from services.summary.main import acknowledge_within
from tests.fixtures import people
from tests.fixtures.escalation import HOME_NURSING, LEGEVAKT
from tests.fixtures.up import running_up, suite_env

pytestmark = pytest.mark.e2e

HEADING = "## Try an escalation"
INGRID_NAME = ("Ingrid", "Innbiltsen")
# The fields an inbox item has (tests/unit/test_escalation_inbox_fields.py holds them to an allow-list).
INBOX_FIELDS = {f.json_name for f in escalation_pb2.EscalationInboxItem.DESCRIPTOR.fields}
ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=\$\(")


def readme_commands(readme: Path = REPO_ROOT / "README.md") -> list[str]:
    """The commands of the fenced block under HEADING, each as one shell text (continuation lines and
    quoted line breaks joined as the shell reads them), without the comment lines between them."""
    text = readme.read_text(encoding="utf-8")
    after = text[text.index(HEADING) :]
    block = after[after.index("```sh\n") + len("```sh\n") :]
    block = block[: block.index("\n```")]
    commands: list[str] = []
    pending: list[str] = []
    for line in block.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending.append(line)
        joined = "\n".join(pending)
        if joined.rstrip().endswith("\\"):
            continue
        try:
            shlex.split(joined, comments=True)
        except ValueError:  # a quotation still open: the command goes on
            continue
        commands.append(joined)
        pending = []
    assert not pending, f"the README's block ends inside a command: {pending}"
    return commands


class Walk:
    """Runs the README's commands in order with bash, keeping what an assignment (`NAME=$(...)`) sets
    in the environment of the commands after it, as the reader's shell does."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        assignment = ASSIGNMENT.match(command)
        script = command + (f'\nprintf %s "${assignment.group(1)}"' if assignment else "")
        done = subprocess.run(
            ["bash", "-c", "set -o pipefail\n" + script],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"{command}\nfailed: {done.stderr}"
        if assignment:
            self.env[assignment.group(1)] = done.stdout
        return done


def answer(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return json.loads(done.stdout)


@pytest.fixture
def suite(tmp_path) -> Iterator[dict[str, str]]:
    env = suite_env(tmp_path / "var")
    with running_up(env):
        yield env


def test_the_readme_walks_an_escalation_from_home_nursing_to_the_legevakt_and_up_the_chain(suite) -> None:
    commands = readme_commands()
    methods = [re.search(r"(\w+Service/\w+)|^sleep", c) for c in commands]
    assert [m.group(0) if m else None for m in methods] == [
        "PatientSummaryService/RecordVitalSigns",
        "EscalationService/ListEscalations",
        "EscalationService/GetEscalation",
        "AuditService/ListEvents",
        "EscalationService/AcknowledgeEscalation",
        "PatientSummaryService/RecordVitalSigns",
        "sleep",
        "EscalationService/ListEscalations",
    ]
    record, inbox, open_it, log, acknowledge, record_urgent_review, wait, list_again = commands
    walk = Walk(suite)

    # 1. Home nursing's EHR records a NEWS2 of 8 for Ingrid: an EMERGENCY, "phone 113" first.
    recorded = walk.run(record)
    escalation_id = walk.env["ESC"]
    shown = json.loads(recorded.stderr)  # what `tee /dev/stderr` showed the reader
    assert shown["escalationId"] == escalation_id and escalation_id.startswith("esc-")
    assert shown["news2"]["total"] == 8 and shown["escalationLevel"] == "ESCALATION_LEVEL_EMERGENCY"
    assert [n["kind"] for n in shown["recorderNotices"]] == ["RECORDER_NOTICE_KIND_PHONE_113"]

    # 2. The legevakt's inbox: the escalation, without any patient data.
    listed = walk.run(inbox)
    (item,) = answer(listed)["escalations"]
    assert set(item) <= INBOX_FIELDS
    assert (item["escalationId"], item["level"], item["state"], item["role"]) == (
        escalation_id,
        "ESCALATION_LEVEL_EMERGENCY",
        "ESCALATION_STATE_OPEN",
        "ESCALATION_ROLE_RESPONSIBLE",
    )
    for patient_data in (people.INGRID, *INGRID_NAME, "respiration", "news2", "vitalSigns"):
        assert patient_data.lower() not in listed.stdout.lower()

    # 3. Lars opens it: the patient and the measurement.
    opened = answer(walk.run(open_it))["escalation"]
    assert opened["escalationId"] == escalation_id and opened["patientId"] == people.INGRID
    assert [m["news2"]["total"] for m in opened["measurements"]] == [8]
    assert [t["orgnr"] for t in opened["targets"]] == [LEGEVAKT]

    # 4. Ingrid's own log holds Lars's read of her vital signs.
    events = answer(walk.run(log))["events"]
    reads = [
        e
        for e in events
        if e["actor"].get("hprNumber") == people.LARS_HPR
        and (e["action"], e["dataCategory"], e["decision"])
        == ("ACTION_READ", "DATA_CATEGORY_VITAL_SIGNS", "DECISION_PERMIT")
    ]
    assert len(reads) == 1 and reads[0]["actor"]["orgnrChild"] == LEGEVAKT

    # 5. Lars acknowledges it, named as he gave his name.
    acknowledged = answer(walk.run(acknowledge))["escalation"]
    assert acknowledged["state"] == "ESCALATION_STATE_ACKNOWLEDGED"
    (taken,) = [e for e in acknowledged["events"] if e["kind"] == "ESCALATION_EVENT_KIND_ACKNOWLEDGED"]
    assert taken["orgnr"] == LEGEVAKT
    assert taken["person"] == {"hprNumber": people.LARS_HPR, "name": "Lars Legevaktsen"}

    # 6. The hospital records a 3 in one parameter for Eskil: URGENT_REVIEW to home nursing only.
    urgent_review = answer(walk.run(record_urgent_review))
    assert urgent_review["escalationLevel"] == "ESCALATION_LEVEL_URGENT_REVIEW"
    second_id = urgent_review["escalationId"]
    assert second_id and second_id != escalation_id
    before = answer(walk.run(list_again))["escalations"]
    assert [i["escalationId"] for i in before] == [escalation_id]  # not the legevakt's yet

    # The wait, without waiting: a sweep past the deadline of the suite's settings (30 min).
    assert shlex.split(wait, comments=True)[0] == "sleep"
    settings = Settings.from_env(suite)
    engine = make_engine(settings.database_url("summary"))
    try:
        store = EscalationStore(make_sessions(engine), acknowledge_within(settings))
        waiting = store.open_episode(people.ESKIL)
        assert waiting is not None and waiting.episode_id == second_id
        assert [t.orgnr for t in waiting.targets] == [HOME_NURSING] and [t.orgnr for t in waiting.pending] == [LEGEVAKT]
        EscalationSweeper(store).sweep_once(datetime.now(UTC) + timedelta(minutes=31))
    finally:
        engine.dispose()

    # ...and the list again: Eskil's escalation has moved up to the legevakt.
    after = {i["escalationId"]: i for i in answer(walk.run(list_again))["escalations"]}
    assert set(after) == {escalation_id, second_id}
    moved = after[second_id]
    assert (moved["level"], moved["state"], moved["role"], moved["lastNoticeReason"]) == (
        "ESCALATION_LEVEL_URGENT_REVIEW",
        "ESCALATION_STATE_OPEN",
        "ESCALATION_ROLE_RESPONSIBLE",
        "ESCALATION_NOTICE_REASON_TIMEOUT",
    )
    assert after[escalation_id]["state"] == "ESCALATION_STATE_ACKNOWLEDGED"
