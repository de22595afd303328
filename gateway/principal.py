"""The typed Principal built once per call from a validated access token (docs/architecture.md "The request path", step 1).

Kinds, decided in this order:
- PATIENT: holds the patient scope; needs a pid and security level "4" (ID-porten high).
- AUDITOR: holds the audit scope; bound to its organisation (orgnr_parent).
- PERSONNEL: any other token naming a person (pid or HPR number); needs a pid, security
  level "4", an HPR number and an organisation.
- SYSTEM: a client acting for itself; needs an organisation.
Any token naming a person (pid) needs security level "4", whatever its kind.

Status codes: a person not (strongly enough) identified is UNAUTHENTICATED; an identified
caller lacking a qualification (HPR number, organisation, a purpose we serve, an attestation
about this very person) is PERMISSION_DENIED. Malformed claims are UNAUTHENTICATED.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from samhandling.common.v1 import common_pb2
from services.platform.actor_convert import actor_message
from services.platform.actors import Actor
from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError
from services.platform.helseid import (
    CLIENT_NAME,
    HPR_NUMBER,
    ORGNR_CHILD,
    ORGNR_PARENT,
    PID,
    PURPOSE_OF_USE_SYSTEM,
    SECURITY_LEVEL,
    TRUST_FRAMEWORK,
)
from services.platform.ids import InvalidIdentifier, validate_hpr_number, validate_org_number, validate_person_number
from services.platform.numeric_date import NumericDateError, numeric_date
from services.platform.protomap import to_enum
from services.platform.text import TextField, text_problem
from services.platform.vocabulary import ActorKind, PurposeOfUse

from . import oauth_scopes

REQUIRED_SECURITY_LEVEL = "4"
_AUTHORIZATION_CODE = re.compile(r"[A-Z0-9]{1,8}")  # HPR code list 9060, e.g. LE, SP, AA


@dataclass(frozen=True)
class Principal:
    kind: ActorKind
    client_id: str
    client_name: str
    scopes: frozenset[str]
    # The access token's `exp`: a stream opened with the token is closed then (plus the token check's leeway).
    expires_at: datetime
    pid: str = ""
    hpr_number: str = ""
    # The practitioner's HPR authorization (code list 9060) from the trust-framework attestation.
    authorization: str = ""
    orgnr_parent: str = ""
    orgnr_child: str = ""
    security_level: str = ""
    purpose: PurposeOfUse | None = None
    # The caller's own words for an emergency access (`x-samhandling-justification`), if sent.
    justification: str = ""

    def actor(self) -> Actor:
        return Actor(
            kind=self.kind,
            client_id=self.client_id,
            client_name=self.client_name,
            pid=self.pid,
            hpr_number=self.hpr_number,
            authorization=self.authorization,
            orgnr_parent=self.orgnr_parent,
            orgnr_child=self.orgnr_child,
        )

    def to_actor(self) -> common_pb2.Actor:
        return actor_message(self.actor())

    def purpose_of_use(self) -> common_pb2.PurposeOfUse:
        return _PURPOSES[self.purpose]


# The proto numbers of the domain's enums, mapped once (services.platform.protomap.to_enum).
_PURPOSES = {purpose: to_enum(common_pb2.PurposeOfUse, purpose) for purpose in (*PurposeOfUse, None)}


def principal_from_claims(claims: dict[str, Any], *, allow_synthetic: bool, justification: str = "") -> Principal:
    """The one place that reads raw claims (already verified by TokenValidator)."""
    granted = frozenset(str(claims.get("scope", "")).split())
    pid = _claim(claims, PID, lambda v: validate_person_number(v, allow_synthetic=allow_synthetic))
    hpr_number = _claim(claims, HPR_NUMBER, validate_hpr_number)
    orgnr_parent = _claim(claims, ORGNR_PARENT, validate_org_number)
    orgnr_child = _claim(claims, ORGNR_CHILD, validate_org_number)
    security_level = _claim(claims, SECURITY_LEVEL)
    expires_at = _expiry(claims)
    attestation = _Attestation.read(claims.get(TRUST_FRAMEWORK))

    if oauth_scopes.PATIENT in granted:
        kind = ActorKind.PATIENT
    elif oauth_scopes.AUDIT_READ in granted:
        kind = ActorKind.AUDITOR
    elif pid or hpr_number:
        kind = ActorKind.PERSONNEL
    else:
        kind = ActorKind.SYSTEM

    if kind in (ActorKind.PATIENT, ActorKind.PERSONNEL) and not pid:
        raise Reason.PID_MISSING.error("a token for a person must carry the person's pid")
    if pid and security_level != REQUIRED_SECURITY_LEVEL:
        raise Reason.SECURITY_LEVEL_INSUFFICIENT.error(
            f"a person must be authenticated at security level {REQUIRED_SECURITY_LEVEL}"
        )
    if kind is ActorKind.PERSONNEL and not hpr_number:
        raise Reason.PERSONNEL_HPR_MISSING.error("health personnel must carry an HPR number")
    if kind is not ActorKind.PATIENT and not orgnr_parent:
        raise Reason.ORGANISATION_MISSING.error("the token names no legal entity (orgnr_parent)")
    if kind is ActorKind.PERSONNEL:
        attestation.check_practitioner(pid, hpr_number)

    return Principal(
        kind=kind,
        client_id=_claim(claims, "client_id", _text(CLIENT_ID_TEXT)),
        client_name=_claim(claims, CLIENT_NAME, _text(CLIENT_NAME_TEXT)),
        scopes=granted,
        expires_at=expires_at,
        pid=pid,
        hpr_number=hpr_number,
        authorization=attestation.authorization if kind is ActorKind.PERSONNEL else "",
        orgnr_parent=orgnr_parent,
        orgnr_child=orgnr_child,
        security_level=security_level,
        purpose=attestation.purpose,
        justification=justification,
    )


@dataclass(frozen=True)
class _Attestation:
    """What `nhn:tillitsrammeverk:parameters` says about the practitioner and the care relationship."""

    practitioner_pid: str = ""
    practitioner_hpr: str = ""
    authorization: str = ""
    purpose: PurposeOfUse | None = None

    @classmethod
    def read(cls, parameters: Any) -> _Attestation:
        if parameters is None:
            return cls()
        if not isinstance(parameters, dict):
            raise _invalid(TRUST_FRAMEWORK)
        practitioner = _object(parameters, "practitioner")
        care = _object(parameters, "care_relationship")
        authorization = _coded(practitioner, "authorization", "code")
        if authorization and not _AUTHORIZATION_CODE.fullmatch(authorization):
            raise _invalid(f"{TRUST_FRAMEWORK}.practitioner.authorization")
        return cls(
            practitioner_pid=_coded(practitioner, "identifier", "id"),
            practitioner_hpr=_coded(practitioner, "hpr_nr", "id"),
            authorization=authorization,
            purpose=_purpose(care),
        )

    def check_practitioner(self, pid: str, hpr_number: str) -> None:
        """The attestation must be about the person the token identifies, if it names one."""
        if (self.practitioner_pid and self.practitioner_pid != pid) or (
            self.practitioner_hpr and self.practitioner_hpr != hpr_number
        ):
            raise Reason.PRACTITIONER_MISMATCH.error(
                "the trust-framework attestation names another practitioner than the token"
            )


def _purpose(care: dict[str, Any]) -> PurposeOfUse | None:
    value = care.get("purpose_of_use")
    if value is None:
        return None
    code = _coded(care, "purpose_of_use", "code")
    system = value.get("system", PURPOSE_OF_USE_SYSTEM) if isinstance(value, dict) else PURPOSE_OF_USE_SYSTEM
    purpose = PurposeOfUse.__members__.get(code)
    if purpose is None or system != PURPOSE_OF_USE_SYSTEM:
        raise Reason.PURPOSE_OF_USE_UNSUPPORTED.error("the purpose of use must be TREAT, ETREAT, COC or BTG")
    return purpose


# Names and ids a token carries end up in the audit log and the backends' tables: the one text
# rule (services.platform.text) and the audit log's column widths hold for them too.
CLIENT_ID_TEXT = TextField(100, required=True)
CLIENT_NAME_TEXT = TextField(200)


def _text(spec: TextField) -> Callable[[str], None]:
    def validate(value: str) -> None:
        if (problem := text_problem(value, spec)) is not None:
            raise InvalidIdentifier(problem)

    return validate


def _claim(claims: dict[str, Any], name: str, validate: Callable[[str], object] | None = None) -> str:
    """A string claim ("" if absent); a present claim of the wrong shape is refused, not ignored."""
    value = claims.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(name)
    if validate is not None and value:
        try:
            validate(value)
        except InvalidIdentifier:
            raise _invalid(name) from None
    return value


def _expiry(claims: dict[str, Any]) -> datetime:
    try:
        exp = numeric_date(claims, "exp")
    except NumericDateError:
        raise _invalid("exp") from None
    assert exp is not None
    return datetime.fromtimestamp(exp, UTC)


def _object(parent: dict[str, Any], name: str) -> dict[str, Any]:
    value = parent.get(name, {})
    if not isinstance(value, dict):
        raise _invalid(f"{TRUST_FRAMEWORK}.{name}")
    return value


def _coded(parent: dict[str, Any], name: str, member: str) -> str:
    """A value given either plainly ("LE") or as a coding ({"code": "LE", "system": ...})."""
    value = parent.get(name)
    if isinstance(value, dict):
        value = value.get(member)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(f"{TRUST_FRAMEWORK}.{name}")
    return value


def _invalid(name: str) -> ServiceError:
    return Reason.TOKEN_CLAIM_INVALID.error(f"the token's claim {name} is malformed")
