"""The synthetic people who can log in at the development STS (seeds/personnel.json, patients.json)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from services.platform.ids import InvalidIdentifier, validate_hpr_number, validate_org_number, validate_person_number

from .clients import LoginKind

# Domain separation: the same key used for anything else gives unrelated values.
_SUBJECT_PREFIX = b"samhandling-sts/subject/v2\x00"
MIN_SUBJECT_KEY_BYTES = 32


class PeopleError(ValueError):
    """A people seed file is missing or malformed."""


@dataclass(frozen=True)
class Person:
    """A person who logs in: health personnel (HPR number, authorization, employer) or a patient."""

    kind: LoginKind
    pid: str
    name: str
    hpr_number: str | None = None
    authorization: str | None = None
    orgnr_parent: str | None = None
    birth_date: str | None = None
    # The STS's secret for subjects (services/sts/main.py); set by load_people.
    subject_key: bytes = field(default=b"", repr=False, compare=False)

    @property
    def subject(self) -> str:
        """The tokens' `sub`: stable per person and opaque, as HelseID's. Keyed (HMAC-SHA-256):
        an unkeyed hash of an 11-digit number is reversed by trying them all, which would hand
        out the person number an ID token leaves out when its scope was not asked for."""
        if len(self.subject_key) < MIN_SUBJECT_KEY_BYTES:
            raise ValueError("a person's subject needs the STS's subject key")
        digest = hmac.new(self.subject_key, _SUBJECT_PREFIX + self.pid.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class People:
    personnel: dict[str, Person]
    patients: dict[str, Person]

    def who_may_log_in(self, kind: LoginKind, legal_entity: str | None) -> list[Person]:
        """Patients log in anywhere; health personnel only at a client of their own employer."""
        if kind == "patient":
            return list(self.patients.values())
        return [p for p in self.personnel.values() if p.orgnr_parent == legal_entity]


def load_people(seeds_dir: Path, subject_key: bytes) -> People:
    if len(subject_key) < MIN_SUBJECT_KEY_BYTES:
        raise PeopleError(f"the subject key needs at least {MIN_SUBJECT_KEY_BYTES} bytes")
    keyed = [replace(p, subject_key=subject_key) for p in map(_personnel, _entries(Path(seeds_dir) / "personnel.json"))]
    patients = [replace(p, subject_key=subject_key) for p in map(_patient, _entries(Path(seeds_dir) / "patients.json"))]
    return People(personnel={p.pid: p for p in keyed}, patients={p.pid: p for p in patients})


def _entries(path: Path) -> list[Any]:
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PeopleError(f"cannot read {path}: {exc.__class__.__name__}") from None
    if not isinstance(entries, list):
        raise PeopleError(f"{path} must hold a JSON array")
    return entries


def _personnel(entry: Any) -> Person:
    try:
        return Person(
            kind="personnel",
            pid=validate_person_number(entry["pid"]).value,
            name=_text(entry["name"]),
            hpr_number=validate_hpr_number(entry["hpr_number"]),
            authorization=_text(entry["authorization"]),
            orgnr_parent=validate_org_number(entry["orgnr_parent"]),
        )
    except (KeyError, TypeError, InvalidIdentifier, PeopleError) as exc:
        raise PeopleError(f"invalid personnel entry {_name(entry)!r}: {exc}") from None


def _patient(entry: Any) -> Person:
    try:
        return Person(
            kind="patient",
            pid=validate_person_number(entry["patient_id"]).value,
            name=_text(entry["name"]),
            birth_date=_text(entry["birth_date"]),
        )
    except (KeyError, TypeError, InvalidIdentifier, PeopleError) as exc:
        raise PeopleError(f"invalid patient entry {_name(entry)!r}: {exc}") from None


def _name(entry: Any) -> Any:
    return entry.get("name") if isinstance(entry, dict) else None


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise PeopleError("names and codes must be non-empty strings")
    return value
