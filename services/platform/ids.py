"""The one place that validates Norwegian identifiers (docs/architecture.md "The request path", step 3). Pure: no I/O.

Person numbers (11 digits, DDMMYY + individual number III + check digits K1 K2):

- day 01–31 is an ordinary number, day 41–71 a D-number (day + 40);
- month 01–12 is ordinary, 41–52 an H-number (month + 40), 66–77 a synthetic NHN test
  number (month + 65), 81–92 a synthetic Tenor / Test-Norge number (month + 80);
- a synthetic month may be combined with a D-number day (Tenor issues synthetic
  D-numbers); an H-number month may not be combined with a D-number day;
- the check digits are computed over the digits as written, offsets included.

Century: settled from the individual number with the Skatteetaten allocation rules:

    individual 000–499                 -> 1900–1999
    individual 500–749 and YY >= 54    -> 1854–1899
    individual 500–999 and YY <= 39    -> 2000–2039
    individual 900–999 and YY >= 40    -> 1940–1999

Other combinations (500–749 with YY 40–53, 750–899 with YY >= 40) are never allocated and
are refused. The same rule is applied to synthetic numbers. A birth date after today (the
date in Norway, services/platform/norway_date.py) is refused: no one is numbered before birth. From 2032 new numbers may
carry other check values; when that happens only this module changes.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import re
from dataclasses import dataclass

from services.platform.norway_date import today_in_norway

__all__ = [
    "InvalidIdentifier",
    "PersonNumber",
    "PersonNumberKind",
    "pseudonymise",
    "validate_hpr_number",
    "validate_org_number",
    "validate_person_number",
]

_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ORG_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)

_D_NUMBER_DAY_OFFSET = 40
_H_NUMBER_MONTH_OFFSET = 40
_NHN_MONTH_OFFSET = 65
_TENOR_MONTH_OFFSET = 80

# ASCII digits only: `\d` and str.isdigit also accept other scripts' digits.
_PERSON_NUMBER = re.compile(r"[0-9]{11}")
_ORG_NUMBER = re.compile(r"[0-9]{9}")
_HPR_NUMBER = re.compile(r"[0-9]{1,9}")

# Domain separation: the same key used for anything else gives unrelated values.
_PSEUDONYM_PREFIX = b"samhandling/log-pseudonym/v2\x00"
MIN_PSEUDONYM_KEY_BYTES = 32


class InvalidIdentifier(ValueError):
    """An identifier failed validation; the message is short and safe to show to a user."""


class PersonNumberKind(enum.Enum):
    FNR = "FNR"  # fødselsnummer
    DNR = "DNR"  # D-number: day + 40
    HNR = "HNR"  # H-number: month + 40
    SYNTHETIC_NHN = "SYNTHETIC_NHN"  # month + 65
    SYNTHETIC_TENOR = "SYNTHETIC_TENOR"  # month + 80 (possibly also day + 40)


@dataclass(frozen=True, slots=True)
class PersonNumber:
    value: str
    kind: PersonNumberKind
    birth_date: dt.date

    @property
    def is_synthetic(self) -> bool:
        return self.kind in (PersonNumberKind.SYNTHETIC_NHN, PersonNumberKind.SYNTHETIC_TENOR)

    def __str__(self) -> str:
        return self.value


def _weighted_check(digits: str, weights: tuple[int, ...]) -> int:
    """Mod 11 check digit: 11 becomes 0; 10 is returned as is and so never matches a digit."""
    return (11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11) % 11


def _century_year(yy: int, individual: int) -> int | None:
    if individual <= 499:
        return 1900 + yy
    if individual <= 749 and yy >= 54:
        return 1800 + yy
    if yy <= 39:
        return 2000 + yy
    if individual >= 900:
        return 1900 + yy
    return None


def _person_number_kind(day: int, month: int) -> tuple[PersonNumberKind, int, int]:
    """Kind plus the real day and month, or InvalidIdentifier if the offsets do not fit."""
    is_d_number = day > _D_NUMBER_DAY_OFFSET
    real_day = day - _D_NUMBER_DAY_OFFSET if is_d_number else day
    for offset, kind in (
        (_TENOR_MONTH_OFFSET, PersonNumberKind.SYNTHETIC_TENOR),
        (_NHN_MONTH_OFFSET, PersonNumberKind.SYNTHETIC_NHN),
        (_H_NUMBER_MONTH_OFFSET, PersonNumberKind.HNR),
    ):
        if offset < month <= offset + 12:
            if kind is PersonNumberKind.HNR and is_d_number:
                raise InvalidIdentifier("person number cannot be both a D-number and an H-number")
            return kind, real_day, month - offset
    if 1 <= month <= 12:
        return (PersonNumberKind.DNR if is_d_number else PersonNumberKind.FNR), real_day, month
    raise InvalidIdentifier("person number has an invalid month")


def validate_person_number(value: str, *, allow_synthetic: bool = True, today: dt.date | None = None) -> PersonNumber:
    """Validate a fødselsnummer, D-number, H-number or (if allowed) synthetic test number.

    `today` is the date in Norway (default: now, by norway_date); a later birth date is refused.
    """
    if not isinstance(value, str) or not _PERSON_NUMBER.fullmatch(value):
        raise InvalidIdentifier("person number must be exactly 11 digits")
    k1 = _weighted_check(value[:9], _K1_WEIGHTS)
    k2 = _weighted_check(value[:10], _K2_WEIGHTS)
    if (k1, k2) != (int(value[9]), int(value[10])):
        raise InvalidIdentifier("person number has wrong check digits")
    kind, day, month = _person_number_kind(int(value[0:2]), int(value[2:4]))
    year = _century_year(int(value[4:6]), int(value[6:9]))
    if year is None:
        raise InvalidIdentifier("person number has an individual number unused for its year")
    try:
        birth_date = dt.date(year, month, day)
    except ValueError:
        raise InvalidIdentifier("person number does not contain a real date") from None
    if birth_date > (today_in_norway() if today is None else today):
        raise InvalidIdentifier("person number has a birth date in the future")
    result = PersonNumber(value=value, kind=kind, birth_date=birth_date)
    if result.is_synthetic and not allow_synthetic:
        raise InvalidIdentifier("synthetic test person numbers are not accepted here")
    return result


def validate_org_number(value: str) -> str:
    """Validate a 9-digit organisation number (mod 11) and return it unchanged."""
    if not isinstance(value, str) or not _ORG_NUMBER.fullmatch(value):
        raise InvalidIdentifier("organisation number must be exactly 9 digits")
    if _weighted_check(value[:8], _ORG_WEIGHTS) != int(value[8]):
        raise InvalidIdentifier("organisation number has a wrong check digit")
    return value


def validate_hpr_number(value: str) -> str:
    """Validate an HPR number: 1–9 digits. No checksum rule is published, so none is enforced."""
    if not isinstance(value, str) or not _HPR_NUMBER.fullmatch(value):
        raise InvalidIdentifier("HPR number must be 1 to 9 digits")
    return value


def pseudonymise(person_number: str, key: bytes) -> str:
    """A short tag for correlating log lines about the same person, e.g. "p:3f9a0c11d2e4a7b8".

    HMAC-SHA-256 under a secret key (services/platform/log_pseudonyms.py): without the key
    the 11-digit space cannot be enumerated against a tag. With the key it can, so the key is
    as secret as the person numbers; a tag is for operations only, never an identifier.
    """
    if len(key) < MIN_PSEUDONYM_KEY_BYTES:
        raise ValueError(f"a log pseudonym key has at least {MIN_PSEUDONYM_KEY_BYTES} bytes")
    digest = hmac.new(key, _PSEUDONYM_PREFIX + person_number.encode("utf-8"), hashlib.sha256).hexdigest()
    return "p:" + digest[:16]


def person_number_violations(
    value: str, field: str = "patient_id", *, allow_synthetic: bool, today: dt.date | None = None
) -> dict[str, str]:
    """The field violation of a person number, for INVALID_ARGUMENT; empty when it is valid."""
    try:
        validate_person_number(value, allow_synthetic=allow_synthetic, today=today)
    except InvalidIdentifier as exc:
        return {field: str(exc)}
    return {}
