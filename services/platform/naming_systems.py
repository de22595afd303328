"""The identifier systems the FHIR exports write, in one table, as HL7 Norway's basis profiles
(no-basis, R4) name them. Pure.

| type | what | `Identifier.system` | no-basis source |
|---|---|---|---|
| FNR | fødselsnummer | urn:oid:2.16.578.1.12.4.1.4.1 | NamingSystem Foedselsnummer; Patient.identifier:FNR |
| DNR | D-number | urn:oid:2.16.578.1.12.4.1.4.2 | NamingSystem Dnummer; Patient.identifier:DNR |
| FHN | felles hjelpenummer (FH-number, NHN) | urn:oid:2.16.578.1.12.4.1.4.3 | NamingSystem FellesHjelpenummer; Patient.identifier:FHN |
| HNR | H-number (virksomhetsinternt hjelpenummer) | HNR, type 8327#HNR, assigner required | Patient.identifier:HNR |
| HPR | HPR number | urn:oid:2.16.578.1.12.4.1.4.4 | NamingSystem HelsepersonellregisteretNummer; Practitioner.identifier:HPR |
| ENH | organisation number (Enhetsregisteret) | urn:oid:2.16.578.1.12.4.1.4.101 | Organization.identifier:ENH |
| RSH | RESH id | urn:oid:2.16.578.1.12.4.1.4.102 | Organization.identifier:RSH |

An H-number (month + 40) is an enterprise's own number, not national: ...4.3 is the national
felles hjelpenummer and must not carry it. no-basis-Patient gives a locally assigned H-number
the system "HNR", the identifier type HNR of Volven code list 8327 and a mandatory assigner,
since only the issuing enterprise makes the number mean anyone. The suite does not record which
enterprise issued an H-number, so the assigner says so rather than naming a wrong one.
RSH is listed for completeness (no export writes a RESH id today).

Synthetic test numbers (NHN month + 65, Tenor month + 80) have no system of their own: they take
the one of the kind they imitate (a D-number when the written day is the real day + 40).
"""

from __future__ import annotations

from enum import Enum

from services.platform.ids import PersonNumber, PersonNumberKind, validate_person_number

__all__ = [
    "IDENTIFIER_TYPE_CODES",
    "NAMING_SYSTEMS",
    "IdentifierType",
    "hpr_identifier",
    "organisation_identifier",
    "person_identifier",
    "person_identifier_type",
]


class IdentifierType(Enum):
    FNR = "FNR"
    DNR = "DNR"
    FHN = "FHN"
    HNR = "HNR"
    HPR = "HPR"
    ENH = "ENH"
    RSH = "RSH"


NAMING_SYSTEMS: dict[IdentifierType, str] = {
    IdentifierType.FNR: "urn:oid:2.16.578.1.12.4.1.4.1",
    IdentifierType.DNR: "urn:oid:2.16.578.1.12.4.1.4.2",
    IdentifierType.FHN: "urn:oid:2.16.578.1.12.4.1.4.3",
    IdentifierType.HNR: "HNR",  # as no-basis-Patient fixes it; see the module text
    IdentifierType.HPR: "urn:oid:2.16.578.1.12.4.1.4.4",
    IdentifierType.ENH: "urn:oid:2.16.578.1.12.4.1.4.101",
    IdentifierType.RSH: "urn:oid:2.16.578.1.12.4.1.4.102",
}
# Volven code list 8327 (types of personal identifiers), the type coding no-basis gives an H-number.
IDENTIFIER_TYPE_CODES = "urn:oid:2.16.578.1.12.4.1.1.8327"
UNRECORDED_ASSIGNER = {"display": "The enterprise that issued this H-number (not recorded by this system)"}


def person_identifier_type(number: PersonNumber) -> IdentifierType:
    """The identifier type a valid person number is exported as."""
    if number.is_synthetic:
        return IdentifierType.DNR if number.birth_date.day != int(number.value[:2]) else IdentifierType.FNR
    return {
        PersonNumberKind.FNR: IdentifierType.FNR,
        PersonNumberKind.DNR: IdentifierType.DNR,
        PersonNumberKind.HNR: IdentifierType.HNR,
    }[number.kind]


def person_identifier(value: str) -> dict:
    """A person number as a FHIR Identifier, its system by kind (an H-number with type and assigner)."""
    kind = person_identifier_type(validate_person_number(value))
    identifier: dict = {"system": NAMING_SYSTEMS[kind], "value": value}
    if kind is IdentifierType.HNR:
        identifier = {
            "type": {"coding": [{"system": IDENTIFIER_TYPE_CODES, "code": "HNR"}]},
            **identifier,
            "assigner": UNRECORDED_ASSIGNER,
        }
    return identifier


def hpr_identifier(value: str) -> dict:
    return {"system": NAMING_SYSTEMS[IdentifierType.HPR], "value": value}


def organisation_identifier(orgnr: str) -> dict:
    return {"system": NAMING_SYSTEMS[IdentifierType.ENH], "value": orgnr}
