"""tests/fixtures/people.py names the seeds' people as the seeds have them: every name there is a
person (or an HPR number) of seeds/, by the first name the constant carries."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from tests.fixtures import people

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def ascii_upper(first_name: str) -> str:
    folded = first_name.replace("ø", "o").replace("æ", "ae").replace("å", "a")
    return unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode().upper()


def seeded() -> dict[str, str]:
    """Constant name -> number, from the seeds."""
    load = lambda name: json.loads((SEEDS / name).read_text())
    names: dict[str, str] = {}
    for patient in load("patients.json"):
        names[ascii_upper(patient["name"].split()[0])] = patient["patient_id"]
    for person in load("personnel.json"):
        first = ascii_upper(person["name"].split()[0])
        names[first], names[f"{first}_HPR"] = person["pid"], person["hpr_number"]
    for auditor in load("auditors.json"):
        names[ascii_upper(auditor["name"].split()[0])] = auditor["pid"]
    return names


def numbers() -> dict[str, str]:
    """The constants of tests/fixtures/people.py that name one person or HPR number."""
    return {name: value for name, value in vars(people).items() if name.isupper() and isinstance(value, str)}


def test_every_named_person_is_the_seeds_person_of_that_name() -> None:
    assert numbers() == seeded()


def test_no_two_names_share_a_number() -> None:
    assert len(numbers()) == len(set(numbers().values()))


def test_patients_are_every_seeded_patient_in_the_seeds_order() -> None:
    patients = json.loads((SEEDS / "patients.json").read_text())
    assert people.PATIENTS == tuple(patient["patient_id"] for patient in patients)
