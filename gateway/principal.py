"""The typed Principal built once per call from a validated access token."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from samhandling.common.v1 import common_pb2
from services.platform.protomap import to_enum
from services.platform.vocabulary import ActorKind, PurposeOfUse

from . import scopes

PID = "helseid://claims/identity/pid"
HPR_NUMBER = "helseid://claims/hpr/hpr_number"
ORGNR_PARENT = "helseid://claims/client/claims/orgnr_parent"
ORGNR_CHILD = "helseid://claims/client/claims/orgnr_child"
CLIENT_NAME = "helseid://claims/client/client_name"
TRUST_FRAMEWORK = "nhn:tillitsrammeverk:parameters"


@dataclass(frozen=True)
class Principal:
    kind: ActorKind
    client_id: str
    client_name: str
    scopes: frozenset[str]
    pid: str = ""
    hpr_number: str = ""
    orgnr_parent: str = ""
    orgnr_child: str = ""
    purpose: PurposeOfUse | None = None

    def to_actor(self) -> common_pb2.Actor:
        return common_pb2.Actor(
            kind=to_enum(common_pb2.ActorKind, self.kind),
            client_id=self.client_id,
            client_name=self.client_name,
            pid=self.pid,
            hpr_number=self.hpr_number,
            orgnr_parent=self.orgnr_parent,
            orgnr_child=self.orgnr_child,
        )

    def purpose_of_use(self) -> int:
        return to_enum(common_pb2.PurposeOfUse, self.purpose)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The one place that reads raw claims. Kind: a person with the patient scope is a patient,
    another person is personnel, a system holding the audit scope is an auditor."""
    granted = frozenset(str(claims.get("scope", "")).split())
    pid = str(claims.get(PID, ""))
    if pid and scopes.PATIENT in granted:
        kind = ActorKind.PATIENT
    elif pid:
        kind = ActorKind.PERSONNEL
    elif scopes.AUDIT_READ in granted:
        kind = ActorKind.AUDITOR
    else:
        kind = ActorKind.SYSTEM
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


def _purpose(parameters: Any) -> PurposeOfUse | None:
    try:
        code = parameters["care_relationship"]["purpose_of_use"]["code"]
    except (KeyError, TypeError):
        return None
    return PurposeOfUse.__members__.get(code)
