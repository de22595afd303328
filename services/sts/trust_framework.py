"""The trust-framework attestation (`nhn:tillitsrammeverk:parameters`, docs/architecture.md "The request path", step 1). Pure.

A client attests the care situation — care relationship and patients — in its client
assertion (`authorization_details`, as HelseID takes it) or in the authorization request.
Who the practitioner is never comes from the client: the STS writes that part from the
person who logged in. Descriptions stay ASCII: they end up in OAuth error responses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.platform.helseid import PURPOSE_OF_USE_SYSTEM, TRUST_FRAMEWORK
from services.platform.ids import InvalidIdentifier, validate_org_number, validate_person_number
from services.platform.vocabulary import PurposeOfUse

DETAILS_TYPE = TRUST_FRAMEWORK  # the authorization_details type HelseID uses
HPR_AUTHORIZATION_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.9060"  # HPR code list 9060
PURPOSES_OF_USE = frozenset(p.value for p in PurposeOfUse)
ATTESTATION_LIFETIME_SECONDS = 60 * 60
MAX_PATIENTS = 10
MAX_TEXT = 200


class TrustFrameworkError(ValueError):
    """The attestation is malformed or says something not allowed."""


@dataclass(frozen=True)
class Attestation:
    """What a client attested (care_relationship, optional patients), and when."""

    parameters: Mapping[str, Any]
    attested_at: int

    def valid_through(self, moment: float) -> bool:
        """Whether it still holds at `moment` (an attestation lives at most 60 minutes)."""
        return moment <= self.attested_at + ATTESTATION_LIFETIME_SECONDS


def parse_authorization_details(value: Any) -> dict[str, Any] | None:
    """The validated trust-framework parameters in `authorization_details` (RFC 9396), or None.

    Accepts a JSON array of typed objects (RFC 9396), a single object (as HelseID also
    does), or either as a JSON string (the authorization request's query parameter).
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise TrustFrameworkError("authorization_details is not valid JSON") from None
    entries = [value] if isinstance(value, dict) else value
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise TrustFrameworkError("authorization_details must be an object or an array of objects")
    found: dict[str, Any] | None = None
    for entry in entries:
        if entry.get("type") != DETAILS_TYPE:
            raise TrustFrameworkError(f"authorization_details type must be {DETAILS_TYPE}")
        if found is not None:
            raise TrustFrameworkError(f"authorization_details holds {DETAILS_TYPE} more than once")
        found = _parameters(entry)
    return found


def default_parameters(purpose: str) -> dict[str, Any]:
    """The parameters of a client's registered default purpose of use."""
    return {"care_relationship": {"purpose_of_use": {"code": purpose, "system": PURPOSE_OF_USE_SYSTEM}}}


def practitioner(
    *, pid: str, hpr_number: str, authorization: str, legal_entity: str | None, point_of_care: str | None
) -> dict[str, Any]:
    """The practitioner part, written by the STS from the logged-in person and the client."""
    part: dict[str, Any] = {
        "identifier": pid,
        "hpr_nr": hpr_number,
        "authorization": {"code": authorization, "system": HPR_AUTHORIZATION_SYSTEM},
    }
    if legal_entity:
        part["legal_entity"] = legal_entity
    if point_of_care:
        part["point_of_care"] = point_of_care
    return part


def _parameters(entry: dict[str, Any]) -> dict[str, Any]:
    if "practitioner" in entry or "practitioner_role" in entry:
        raise TrustFrameworkError("the practitioner is taken from the person who logged in, never from the client")
    _only(entry, {"type", "care_relationship", "patients"}, "authorization_details")
    if "care_relationship" not in entry:
        raise TrustFrameworkError("care_relationship is required")
    parameters: dict[str, Any] = {"care_relationship": _care_relationship(entry["care_relationship"])}
    if "patients" in entry:
        parameters["patients"] = _patients(entry["patients"])
    return parameters


def _care_relationship(value: Any) -> dict[str, Any]:
    where = "care_relationship"
    _object(value, where)
    _only(value, {"healthcare_service", "purpose_of_use", "purpose_of_use_details", "decision_ref"}, where)
    if "purpose_of_use" not in value:
        raise TrustFrameworkError(f"{where}.purpose_of_use is required")
    purpose = _coded(value["purpose_of_use"], f"{where}.purpose_of_use", default_system=PURPOSE_OF_USE_SYSTEM)
    if purpose["code"] not in PURPOSES_OF_USE:
        raise TrustFrameworkError(f"{where}.purpose_of_use.code must be one of {', '.join(sorted(PURPOSES_OF_USE))}")
    if purpose["system"] != PURPOSE_OF_USE_SYSTEM:
        raise TrustFrameworkError(f"{where}.purpose_of_use.system must be {PURPOSE_OF_USE_SYSTEM}")
    result: dict[str, Any] = {"purpose_of_use": purpose}
    for name in ("healthcare_service", "purpose_of_use_details"):
        if name in value:
            result[name] = _coded(value[name], f"{where}.{name}")
    if "decision_ref" in value:
        result["decision_ref"] = _decision_ref(value["decision_ref"], f"{where}.decision_ref")
    return result


def _coded(value: Any, where: str, *, default_system: str | None = None) -> dict[str, str]:
    _object(value, where)
    _only(value, {"code", "system"}, where)
    system = value.get("system", default_system)
    return {"code": _short_text(value.get("code"), f"{where}.code"), "system": _short_text(system, f"{where}.system")}


def _decision_ref(value: Any, where: str) -> dict[str, Any]:
    _object(value, where)
    _only(value, {"id", "user_selected"}, where)
    selected = value.get("user_selected")
    if not isinstance(selected, bool):
        raise TrustFrameworkError(f"{where}.user_selected must be true or false")
    return {"id": _short_text(value.get("id"), f"{where}.id"), "user_selected": selected}


def _patients(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_PATIENTS:
        raise TrustFrameworkError(f"patients must be an array of 1 to {MAX_PATIENTS} objects")
    patients = []
    for index, patient in enumerate(value):
        where = f"patients[{index}]"
        _object(patient, where)
        _only(patient, {"identifier", "point_of_care", "department"}, where)
        try:
            identifier = _short_text(patient.get("identifier"), f"{where}.identifier")
            entry = {"identifier": validate_person_number(identifier).value}
            if "point_of_care" in patient:
                entry["point_of_care"] = validate_org_number(patient["point_of_care"])
        except InvalidIdentifier as exc:
            raise TrustFrameworkError(f"{where}: {exc}") from None
        if "department" in patient:
            entry["department"] = _short_text(patient["department"], f"{where}.department")
        patients.append(entry)
    return patients


def _object(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise TrustFrameworkError(f"{where} must be an object")


def _only(value: dict[str, Any], allowed: set[str], where: str) -> None:
    if unknown := set(value) - allowed:
        raise TrustFrameworkError(f"{where} has unknown members: {', '.join(sorted(map(str, unknown)))}")


def _short_text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT or not value.isprintable():
        raise TrustFrameworkError(f"{where} must be a non-empty string of at most {MAX_TEXT} characters")
    return value
