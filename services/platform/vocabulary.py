"""The shared vocabulary of access control, pure: the domain side of the enums in
samhandling.common.v1 (member names match the proto values without their prefix, so
services.platform.protomap converts both ways). One definition for every service."""

from __future__ import annotations

from enum import Enum


class DataCategory(Enum):
    MUNICIPAL_SERVICES = "MUNICIPAL_SERVICES"
    VITAL_SIGNS = "VITAL_SIGNS"
    CONSENT = "CONSENT"
    ACCESS_LOG = "ACCESS_LOG"


class PurposeOfUse(Enum):
    TREAT = "TREAT"
    ETREAT = "ETREAT"
    COC = "COC"
    BTG = "BTG"


# The emergency chain and break-the-glass may open a restriction (never a reservation or block).
EMERGENCY_PURPOSES = frozenset({PurposeOfUse.ETREAT, PurposeOfUse.BTG})


class ActorKind(Enum):
    SYSTEM = "SYSTEM"
    PERSONNEL = "PERSONNEL"
    PATIENT = "PATIENT"
    AUDITOR = "AUDITOR"


class AccessBasis(Enum):
    CARE_RELATIONSHIP = "CARE_RELATIONSHIP"
    EXPLICIT_PERMIT = "EXPLICIT_PERMIT"
    CONSENT_AT_MOMENT = "CONSENT_AT_MOMENT"
    EMERGENCY = "EMERGENCY"
    OWN_DATA = "OWN_DATA"
    REPRESENTATIVE = "REPRESENTATIVE"
    AUDIT = "AUDIT"
    RESERVATION = "RESERVATION"
    RESTRICTION = "RESTRICTION"
    BLOCK = "BLOCK"
    NONE = "NONE"


class Decision(Enum):
    PERMIT = "PERMIT"
    DENY = "DENY"
