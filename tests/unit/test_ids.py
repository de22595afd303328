"""Identifier validation (docs/architecture.md "The request path", step 3) and the honesty of the seed data.

Only synthetic numbers appear here. The ordinary, D- and H-number examples are born in
2039 (individual number 9xx), a date no real person has been given a number for; they are
validated on a day after that (AFTER_2039), as a number born in the future is refused.
"""

import datetime as dt
import json
from pathlib import Path

import pytest

from services.platform.ids import (
    InvalidIdentifier,
    PersonNumberKind,
    person_number_violations,
    validate_hpr_number,
    validate_org_number,
    validate_person_number,
)
from tests.fixtures import people

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
AFTER_2039 = dt.date(2040, 1, 1)


def _seed(name: str) -> list[dict]:
    return json.loads((SEEDS / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("value", "kind", "birth_date"),
    [
        # Published synthetic examples.
        (people.ESKIL, PersonNumberKind.SYNTHETIC_NHN, dt.date(2008, 10, 22)),
        (people.RAGNHILD, PersonNumberKind.SYNTHETIC_NHN, dt.date(1999, 12, 19)),
        (people.TOR, PersonNumberKind.SYNTHETIC_NHN, dt.date(1985, 10, 16)),
        (people.FRIDA, PersonNumberKind.SYNTHETIC_TENOR, dt.date(2022, 1, 26)),
        # Constructed examples.
        ("15043990044", PersonNumberKind.FNR, dt.date(2039, 4, 15)),
        ("55043990038", PersonNumberKind.DNR, dt.date(2039, 4, 15)),
        ("15443990027", PersonNumberKind.HNR, dt.date(2039, 4, 15)),
        (people.MIKKEL, PersonNumberKind.SYNTHETIC_TENOR, dt.date(1990, 6, 5)),  # Tenor D-number
        ("29820060006", PersonNumberKind.SYNTHETIC_TENOR, dt.date(2000, 2, 29)),  # leap day
        ("10856060042", PersonNumberKind.SYNTHETIC_TENOR, dt.date(1860, 5, 10)),  # 500–749, YY >= 54
    ],
)
def test_valid_person_numbers(value: str, kind: PersonNumberKind, birth_date: dt.date) -> None:
    number = validate_person_number(value, today=AFTER_2039)
    assert number.value == value
    assert number.kind is kind
    assert number.birth_date == birth_date
    assert number.is_synthetic is kind.name.startswith("SYNTHETIC")


@pytest.mark.parametrize("value", [people.ESKIL, people.RAGNHILD, people.TOR, people.FRIDA, "55043990038"])
def test_every_single_digit_change_is_refused(value: str) -> None:
    # K1 (weights non-zero mod 11) changes with any substitution in the first nine digits,
    # and a changed K1 or K2 no longer matches: no variant may pass, whatever its date says.
    for position, digit in enumerate(value):
        for replacement in "0123456789":
            if replacement == digit:
                continue
            changed = value[:position] + replacement + value[position + 1 :]
            with pytest.raises(InvalidIdentifier):
                validate_person_number(changed, today=AFTER_2039)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "11 digits"),
        ("2275088490", "11 digits"),
        ("227508849070", "11 digits"),
        ("2275088490a", "11 digits"),
        ("227508 84907", "11 digits"),
        (" 22750884907", "11 digits"),
        ("22750884907\n", "11 digits"),
        ("٢٢٧٥٠٨٨٤٩٠٧", "11 digits"),  # Arabic-Indic digits are digits to str.isdigit
        ("22750884908", "check digits"),
        ("29820160027", "real date"),  # 29 February 2001
        ("30820060055", "real date"),  # 30 February 2000
        ("10788010007", "month"),  # 78: between the NHN and Tenor ranges
        ("10938010043", "month"),  # 93: past the Tenor range
        ("55443990010", "D-number and an H-number"),
        ("10854580006", "individual number"),  # 800 with YY 45 is never allocated
        ("10854552029", "individual number"),  # 520 with YY 45 is never allocated
    ],
)
def test_invalid_person_numbers(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        validate_person_number(value)


def test_non_string_is_refused() -> None:
    with pytest.raises(InvalidIdentifier):
        validate_person_number(22750884907)  # type: ignore[arg-type]


def test_invalid_identifier_is_a_value_error() -> None:
    assert issubclass(InvalidIdentifier, ValueError)


def test_synthetic_numbers_can_be_refused() -> None:
    with pytest.raises(InvalidIdentifier, match="synthetic"):
        validate_person_number(people.ESKIL, allow_synthetic=False)
    with pytest.raises(InvalidIdentifier, match="synthetic"):
        validate_person_number(people.FRIDA, allow_synthetic=False)
    assert validate_person_number("15043990044", allow_synthetic=False, today=AFTER_2039).kind is PersonNumberKind.FNR


def _with_check_digits(first_nine: str) -> str:
    """A number with the check digits its first nine digits call for (None if K1 or K2 would be 10)."""
    k1 = (11 - sum(int(d) * w for d, w in zip(first_nine, (3, 7, 6, 1, 8, 9, 4, 5, 2), strict=True)) % 11) % 11
    k2 = (
        11 - sum(int(d) * w for d, w in zip(first_nine + str(k1), (5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
    ) % 11
    assert k1 < 10 and k2 < 10, first_nine
    return first_nine + str(k1) + str(k2)


@pytest.mark.parametrize(
    "value",
    [
        "15043990044",  # ordinary, born 15 April 2039
        "55043990038",  # D-number, likewise
        "15443990027",  # H-number, likewise
        _with_check_digits("268230500"),  # Tenor synthetic, born 26 February 2030
        _with_check_digits("266730503"),  # NHN synthetic, born 26 February 2030
    ],
)
def test_a_birth_date_after_today_is_refused(value: str) -> None:
    born = validate_person_number(value, today=AFTER_2039).birth_date
    with pytest.raises(InvalidIdentifier, match="birth date in the future"):
        validate_person_number(value, today=born - dt.timedelta(days=1))
    assert validate_person_number(value, today=born).birth_date == born  # born today is born


def test_the_future_rule_is_checked_by_every_caller_through_person_number_violations() -> None:
    assert person_number_violations("15043990044", allow_synthetic=True, today=dt.date(2039, 4, 14)) == {
        "patient_id": "person number has a birth date in the future"
    }
    assert person_number_violations("15043990044", allow_synthetic=True, today=dt.date(2039, 4, 15)) == {}


@pytest.mark.parametrize("value", ["910000012", "910000020", "910000039", "910000128"])
def test_valid_org_numbers(value: str) -> None:
    assert validate_org_number(value) == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("910000013", "check digit"),
        ("910000080", "check digit"),  # weighted sum 45: check would be 10
        ("910000081", "check digit"),
        ("910000089", "check digit"),
        ("91000001", "9 digits"),
        ("9100000120", "9 digits"),
        ("91000001x", "9 digits"),
        ("910 000 012", "9 digits"),
    ],
)
def test_invalid_org_numbers(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        validate_org_number(value)


@pytest.mark.parametrize("value", ["1", "1234567", people.SIGRID_HPR, "000000001"])
def test_valid_hpr_numbers(value: str) -> None:
    assert validate_hpr_number(value) == value


@pytest.mark.parametrize("value", ["", "1234567890", "12345a", "-123", "12 345"])
def test_invalid_hpr_numbers(value: str) -> None:
    with pytest.raises(InvalidIdentifier, match="HPR"):
        validate_hpr_number(value)


# --- seeds stay honest -------------------------------------------------------------------


def test_seeded_person_numbers_are_valid_synthetic_and_match_birth_dates() -> None:
    patients = _seed("patients.json")
    assert len(patients) == 11
    for patient in patients:
        number = validate_person_number(patient["patient_id"])
        assert number.is_synthetic, patient["patient_id"]
        assert patient["birth_date"] == number.birth_date.isoformat()
    for person in _seed("personnel.json"):
        assert validate_person_number(person["pid"]).is_synthetic
        validate_hpr_number(person["hpr_number"])
    auditors = _seed("auditors.json")
    assert len(auditors) == 1
    for person in auditors:
        assert validate_person_number(person["pid"]).is_synthetic
        assert "hpr_number" not in person  # an auditor logs in as a person without an HPR number
    for representation in _seed("representatives.json"):
        for pid in (representation["patient_id"], representation["representative_pid"]):
            assert validate_person_number(pid).is_synthetic
    for rule in _seed("rules.json"):
        validate_person_number(rule["patient_id"])
        if rule["hpr_number"] is not None:
            validate_hpr_number(rule["hpr_number"])
    seeded_hpr = {person["hpr_number"] for person in _seed("personnel.json")}
    for enrolment in _seed("follow_up_enrolments.json"):
        assert enrolment["patient_id"] in {p["patient_id"] for p in patients}
        assert enrolment["enrolled_by_hpr"] in seeded_hpr


def test_seeded_org_numbers_are_valid_and_known() -> None:
    organisations = _seed("organisations.json")
    known = {validate_org_number(o["orgnr"]) for o in organisations}
    assert len(known) == len(organisations) == 11
    referenced = [o["parent_orgnr"] for o in organisations if o["parent_orgnr"]]
    referenced += [
        p[k]
        for name in ("personnel.json", "auditors.json")
        for p in _seed(name)
        for k in ("orgnr_parent", "orgnr_child")
    ]
    referenced += [s["orgnr_child"] for p in _seed("patients.json") for s in p["municipal_services"]]
    referenced += [u["orgnr"] for u in _seed("units.json")]
    referenced += [lv["orgnr"] for lv in _seed("legevakts.json")]
    referenced += [e["team_orgnr"] for e in _seed("follow_up_enrolments.json")]
    for orgnr in referenced:
        assert validate_org_number(orgnr) in known


def test_seeded_staff_and_patients_are_distinct_people_and_staff_work_inside_their_legal_entity() -> None:
    staff = _seed("personnel.json") + _seed("auditors.json")
    assert len({p["pid"] for p in staff}) == len(staff)
    parents = {o["orgnr"]: o["parent_orgnr"] for o in _seed("organisations.json")}
    for person in staff:
        assert parents[person["orgnr_child"]] == person["orgnr_parent"] and parents[person["orgnr_parent"]] is None


def test_the_guardian_cases_a_child_under_12_and_one_who_has_turned_12() -> None:
    # Mikkel is the guardian of Frida (born 2022, under 12 until 2034) and of Jonas (born
    # 14 March 2014, 12 since 14 March 2026): one he may act for, one he no longer may.
    patients = {p["patient_id"]: p for p in _seed("patients.json")}
    guardianships = {r["representation_id"]: r for r in _seed("representatives.json") if r["kind"] == "GUARDIAN"}
    frida, jonas = guardianships["rep-seed-0001"], guardianships["rep-seed-0003"]
    assert frida["representative_pid"] == jonas["representative_pid"] == people.MIKKEL  # Mikkel
    assert validate_person_number(frida["patient_id"]).birth_date == dt.date(2022, 1, 26)
    assert validate_person_number(jonas["patient_id"]).birth_date == dt.date(2014, 3, 14)
    assert patients[jonas["patient_id"]]["name"] == "Jonas Jubileumsen"
    assert jonas["valid_from"] == "2014-03-14T00:00:00Z" and jonas["valid_until"] == "2032-03-14T00:00:00Z"


def test_seeded_rules_point_at_seeded_people() -> None:
    patient_ids = {p["patient_id"] for p in _seed("patients.json")}
    hpr_numbers = {p["hpr_number"] for p in _seed("personnel.json")}
    for representation in _seed("representatives.json"):
        assert representation["patient_id"] in patient_ids
    for rule in _seed("rules.json"):
        assert rule["patient_id"] in patient_ids
        if rule["rule_type"] == "BLOCK_PERSON":
            assert rule["hpr_number"] in hpr_numbers
