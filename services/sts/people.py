"""The synthetic people who can log in at the development STS: health personnel
(seeds/personnel.json), auditors (seeds/auditors.json, personnel without an HPR number) and
patients (seeds/patients.json)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from services.platform.ids import InvalidIdentifier, validate_hpr_number, validate_org_number, validate_person_number

from .client_registry import AUDIT_SCOPE, LoginKind, RegisteredClient

# Domain separation: the same key used for anything else gives unrelated values.
_SUBJECT_PREFIX = b"samhandling-sts/subject/v2\x00"
MIN_SUBJECT_KEY_BYTES = 32
# What a member of staff logs in as: a clinician (with an HPR number) or an auditor (without).
Role = Literal["clinician", "auditor"]


class PeopleError(ValueError):
    """A people seed file is missing or malformed."""


@dataclass(frozen=True)
class Person:
    """A person who logs in: staff (a clinician with HPR number and authorization, or an
    auditor with a title; both with their employer's legal entity and point of care) or a patient."""

    kind: LoginKind
    pid: str
    name: str
    hpr_number: str | None = None
    authorization: str | None = None
    orgnr_parent: str | None = None
    orgnr_child: str | None = None
    role: Role | None = None  # staff only
    title: str | None = None  # an auditor's job title
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

    def who_may_log_in(self, client: RegisteredClient, scope: str) -> list[Person]:
        """Who may log in at `client` for `scope` (what would be granted). Patients log in at a
        patients' client. Staff log in at a client of their own employer, or at a multi-tenant
        client whatever their employer; a request for the audit scope is for auditors only, any
        other for clinicians only (people with an HPR number). So a nurse never gets the audit
        scope and an auditor never a clinical one."""
        if client.login == "patient":
            return list(self.patients.values())
        role: Role = "auditor" if AUDIT_SCOPE in scope.split() else "clinician"
        return [
            p
            for p in self.personnel.values()
            if p.role == role and (client.multi_tenant or p.orgnr_parent == client.orgnr_parent)
        ]


def load_people(seeds_dir: Path, subject_key: bytes) -> People:
    if len(subject_key) < MIN_SUBJECT_KEY_BYTES:
        raise PeopleError(f"the subject key needs at least {MIN_SUBJECT_KEY_BYTES} bytes")
    staff = [
        *map(_personnel, _entries(Path(seeds_dir) / "personnel.json")),
        *map(_auditor, _entries(Path(seeds_dir) / "auditors.json")),
    ]
    patients = list(map(_patient, _entries(Path(seeds_dir) / "patients.json")))
    for group in (staff, patients):
        if len({p.pid for p in group}) != len(group):
            # One person, one entry: otherwise a login would silently pick one of them.
            raise PeopleError(f"a person is seeded twice as {group[0].kind}")
    return People(
        personnel={p.pid: replace(p, subject_key=subject_key) for p in staff},
        patients={p.pid: replace(p, subject_key=subject_key) for p in patients},
    )


def _entries(path: Path) -> list[Any]:
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PeopleError(f"cannot read {path}: {exc.__class__.__name__}") from None
    if not isinstance(entries, list):
        raise PeopleError(f"{path} must hold a JSON array")
    return entries


def _personnel(entry: Any) -> Person:
    with _entry("personnel", entry):
        return Person(
            kind="personnel",
            pid=validate_person_number(entry["pid"]).value,
            name=_text(entry["name"]),
            hpr_number=validate_hpr_number(entry["hpr_number"]),
            authorization=_text(entry["authorization"]),
            orgnr_parent=validate_org_number(entry["orgnr_parent"]),
            orgnr_child=validate_org_number(entry["orgnr_child"]),
            role="clinician",
        )


def _auditor(entry: Any) -> Person:
    with _entry("auditor", entry):
        if "hpr_number" in entry:
            raise PeopleError("an auditor logs in without an HPR number")
        return Person(
            kind="personnel",
            pid=validate_person_number(entry["pid"]).value,
            name=_text(entry["name"]),
            title=_text(entry["title"]),
            orgnr_parent=validate_org_number(entry["orgnr_parent"]),
            orgnr_child=validate_org_number(entry["orgnr_child"]),
            role="auditor",
        )


def _patient(entry: Any) -> Person:
    with _entry("patient", entry):
        return Person(
            kind="patient",
            pid=validate_person_number(entry["patient_id"]).value,
            name=_text(entry["name"]),
            birth_date=_text(entry["birth_date"]),
        )


@contextmanager
def _entry(what: str, entry: Any) -> Iterator[None]:
    """Reads one seed entry: whatever is wrong with it becomes a PeopleError naming the entry."""
    try:
        yield
    except (KeyError, TypeError, InvalidIdentifier, PeopleError) as exc:
        raise PeopleError(f"invalid {what} entry {_name(entry)!r}: {exc}") from None


def _name(entry: Any) -> Any:
    return entry.get("name") if isinstance(entry, dict) else None


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise PeopleError("names and codes must be non-empty strings")
    return value
