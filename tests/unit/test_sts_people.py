"""The people of the development STS: clinicians, auditors (no HPR number) and patients, and who
may log in where, for which scope."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from services.sts.client_registry import load_clients
from services.sts.people import PeopleError, load_people
from tests.fixtures import people

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
KEY = b"k" * 32
AUDIT = "nhn:samhandling/audit.read"


def test_the_auditor_is_staff_without_an_hpr_number() -> None:
    petra = load_people(SEEDS, KEY).personnel[people.PETRA]

    assert (petra.kind, petra.role, petra.name, petra.title) == (
        "personnel",
        "auditor",
        "Petra Personvernsen",
        "personvernombud",
    )
    assert (petra.orgnr_parent, petra.orgnr_child, petra.hpr_number, petra.authorization) == (
        "910000012",
        "910000020",
        None,
        None,
    )


def test_clinicians_carry_their_point_of_care() -> None:
    lars = load_people(SEEDS, KEY).personnel[people.LARS]

    assert (lars.role, lars.hpr_number, lars.orgnr_parent, lars.orgnr_child) == (
        "clinician",
        people.LARS_HPR,
        "910000012",
        "910000039",
    )


def test_who_may_log_in_follows_the_client_and_the_scope() -> None:
    seeded, clients = load_people(SEEDS, KEY), load_clients(SEEDS)
    clinicians = {p.pid for p in seeded.personnel.values() if p.hpr_number}

    def offered(client_id: str, scope: str) -> set[str]:
        return {p.pid for p in seeded.who_may_log_in(clients[client_id], scope)}

    assert offered("samhandling-ansatt", f"openid {AUDIT}") == {people.PETRA}
    assert offered("samhandling-ansatt", "openid nhn:samhandling/capacity.read") == clinicians
    assert offered("demo-legevakt", "nhn:samhandling/summary.read") == {people.SIGRID, people.LARS}  # Bodø's clinicians
    # A single-tenant client offers its own organisation's auditors (were it registered for the scope).
    assert offered("demo-legevakt", AUDIT) == {people.PETRA}
    assert offered("samhandling-portal", "openid samhandling:patient") == set(seeded.patients)


def _seeds(tmp_path: Path, name: str, change: Any) -> Path:
    for seed in ("personnel.json", "auditors.json", "patients.json"):
        shutil.copy(SEEDS / seed, tmp_path / seed)
    entries = json.loads((tmp_path / name).read_text())
    (tmp_path / name).write_text(json.dumps(change(entries)))
    return tmp_path


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        pytest.param(
            "auditors.json",
            lambda e: [{**e[0], "hpr_number": "990000199"}],
            "without an HPR number",
            id="auditor-with-hpr",
        ),
        pytest.param("auditors.json", lambda e: [{**e[0], "pid": "11747910017"}], "check digits", id="auditor-bad-pid"),
        pytest.param(
            "auditors.json", lambda e: [{**e[0], "orgnr_child": "910000021"}], "check digit", id="auditor-bad-org"
        ),
        pytest.param(
            "auditors.json", lambda e: [{k: v for k, v in e[0].items() if k != "title"}], "title", id="auditor-no-title"
        ),
        pytest.param("auditors.json", lambda e: {"pid": people.PETRA}, "JSON array", id="auditors-not-a-list"),
        pytest.param(
            "auditors.json", lambda e: [{**e[0], "pid": people.SIGRID}], "seeded twice", id="auditor-also-clinician"
        ),
        pytest.param(
            "personnel.json",
            lambda e: [{k: v for k, v in e[0].items() if k != "orgnr_child"}],
            "orgnr_child",
            id="clinician-without-point-of-care",
        ),
    ],
)
def test_malformed_people_are_refused_without_person_numbers_in_the_message(
    tmp_path: Path, name: str, change: Any, message: str
) -> None:
    with pytest.raises(PeopleError, match=message) as refused:
        load_people(_seeds(tmp_path, name, change), KEY)

    assert people.PETRA not in str(refused.value) and people.SIGRID not in str(refused.value)


def test_a_missing_auditors_file_is_an_error(tmp_path: Path) -> None:
    seeds = _seeds(tmp_path, "auditors.json", lambda e: e)
    (seeds / "auditors.json").unlink()

    with pytest.raises(PeopleError, match="auditors.json"):
        load_people(seeds, KEY)
