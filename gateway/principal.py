"""The typed Principal built once per call from a validated access token."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from samhandling.common.v1 import common_pb2

from . import scopes

PID = "helseid://claims/identity/pid"
SECURITY_LEVEL = "helseid://claims/identity/security_level"
HPR_NUMBER = "helseid://claims/hpr/hpr_number"
ORGNR_PARENT = "helseid://claims/client/claims/orgnr_parent"
ORGNR_CHILD = "helseid://claims/client/claims/orgnr_child"
CLIENT_NAME = "helseid://claims/client/client_name"
TRUST_FRAMEWORK = "nhn:tillitsrammeverk:parameters"


class PrincipalKind(Enum):
    SYSTEM = "SYSTEM"
    PERSONNEL = "PERSONNEL"
    PATIENT = "PATIENT"
    AUDITOR = "AUDITOR"


class Purpose(Enum):
    TREAT = "TREAT"
    ETREAT = "ETREAT"
    COC = "COC"
    BTG = "BTG"


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    client_id: str
    client_name: str
    scopes: frozenset[str]
    pid: str = ""
    hpr_number: str = ""
    orgnr_parent: str = ""
    orgnr_child: str = ""
    purpose: Purpose | None = None

    def to_actor(self) -> common_pb2.Actor:
        return common_pb2.Actor(
            kind=common_pb2.ActorKind.Value(f"ACTOR_KIND_{self.kind.value}"),
            client_id=self.client_id,
            client_name=self.client_name,
            pid=self.pid,
            hpr_number=self.hpr_number,
            orgnr_parent=self.orgnr_parent,
            orgnr_child=self.orgnr_child,
        )

    def purpose_of_use(self) -> int:
        return common_pb2.PurposeOfUse.Value(f"PURPOSE_OF_USE_{self.purpose.value}") if self.purpose else 0


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The one place that reads raw claims. Kind: a person with the patient scope is a patient,
    another person is personnel, a system holding the audit scope is an auditor."""
    granted = frozenset(str(claims.get("scope", "")).split())
    pid = str(claims.get(PID, ""))
    if pid and scopes.PATIENT in granted:
        kind = PrincipalKind.PATIENT
    elif pid:
        kind = PrincipalKind.PERSONNEL
    elif scopes.AUDIT_READ in granted:
        kind = PrincipalKind.AUDITOR
    else:
        kind = PrincipalKind.SYSTEM
    return Principal(
        kind=kind,
        client_id=str(claims.get("client_id", "")),
        client_name=str(claims.get(CLIENT_NAME, "")),
        scopes=granted,
        pid=pid,
        hpr_number=str(claims.get(HPR_NUMBER, "")),
        orgnr_parent=str(claims.get(ORGNR_PARENT, "")),
        orgnr_child=str(claims.get(ORGNR_CHILD, "")),
        purpose=_purpose(claims.get(TRUST_FRAMEWORK)),
    )


def _purpose(parameters: Any) -> Purpose | None:
    try:
        code = parameters["care_relationship"]["purpose_of_use"]["code"]
    except (KeyError, TypeError):
        return None
    return Purpose.__members__.get(code)
