"""OKT records: the IPLOS table, when a service is active, what a valid record is."""

from dataclasses import replace
from datetime import date

import pytest

from services.summary.okt import (
    IPLOS_9151,
    StayType,
    is_active,
    normalise_iplos_code,
    record_violations,
)
from tests.fixtures.samples import HOME_NURSING


def test_iplos_table_holds_every_code_of_list_9151_as_the_code_list_writes_it() -> None:
    codes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 14, *range(15, 30)]
    codes.remove(16)
    assert sorted(IPLOS_9151, key=int) == [str(c) for c in codes]  # "6", never "06"
    assert all(IPLOS_9151.values())
    assert HOME_NURSING.iplos_display == "Helsetjenester i hjemmet"
    assert replace(HOME_NURSING, iplos_code="6").iplos_display == "Trygghetsalarm"


@pytest.mark.parametrize(
    ("given", "official"),
    [
        ("6", "6"),
        ("06", "6"),
        ("01", "1"),
        ("09", "9"),
        ("15", "15"),
        ("00", "00"),
        ("006", "006"),
        ("0", "0"),
        ("6 ", "6 "),
        ("", ""),
    ],
)
def test_the_padded_form_of_old_clients_is_read_as_the_official_code(given: str, official: str) -> None:
    assert normalise_iplos_code(given) == official
    record = replace(HOME_NURSING, iplos_code=given)
    assert record.iplos_code == official  # every record holds the official form, however it was made
    assert ("iplos_code" in record_violations(record)) is (official not in IPLOS_9151)


@pytest.mark.parametrize(
    ("changes", "today", "active"),
    [
        ({}, date(2025, 6, 1), False),  # not started yet
        ({}, date(2025, 6, 2), True),  # first day
        ({"end_date": date(2025, 6, 30)}, date(2025, 6, 30), True),  # last day still counts
        ({"end_date": date(2025, 6, 30)}, date(2025, 7, 1), False),  # ended
        ({"temporarily_ceased": True}, date(2025, 7, 1), False),  # on hold
        ({"start_date": None}, date(2025, 7, 1), False),  # never started
    ],
)
def test_is_active(changes: dict, today: date, active: bool) -> None:
    assert is_active(replace(HOME_NURSING, **changes), today) is active


def test_valid_record_has_no_violations() -> None:
    assert record_violations(HOME_NURSING) == {}
    for stay in StayType:
        assert record_violations(replace(HOME_NURSING, iplos_code="19", stay_type=stay.value)) == {}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"start_date": None}, "start_date"),
        ({"end_date": date(2025, 6, 1)}, "end_date"),
        ({"iplos_code": "16"}, "iplos_code"),
        ({"iplos_code": "006"}, "iplos_code"),
        ({"iplos_code": "00"}, "iplos_code"),
        ({"stay_type": "langtidsopphold"}, "stay_type"),
        ({"stay_type": "DAY"}, "stay_type"),
        ({"service_id": ""}, "service_id"),
        ({"provider_orgnr": "910000021"}, "provider_orgnr"),
        ({"description": "x" * 1001}, "description"),
    ],
)
def test_record_violations(changes: dict, field: str) -> None:
    assert set(record_violations(replace(HOME_NURSING, **changes))) == {field}


def test_end_on_start_day_is_valid() -> None:
    assert record_violations(replace(HOME_NURSING, end_date=HOME_NURSING.start_date)) == {}


def test_stay_maps_text_to_enum() -> None:
    assert replace(HOME_NURSING, stay_type="dagopphold").stay is StayType.DAY
    assert replace(HOME_NURSING, stay_type="korttidsopphold").stay is StayType.SHORT_TERM
    assert HOME_NURSING.stay is None
