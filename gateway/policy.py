"""The one declarative table of what every gateway method requires.

For each full gRPC method: which principal kinds may call it and the scope each kind needs,
where the patient id sits in the request, which data categories it touches, the audit
action, and the backend that serves it. A method missing from the table is denied.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from samhandling.audit.v1 import audit_pb2
from samhandling.common.v1 import common_pb2
from services.platform.vocabulary import ActorKind as Kind

from . import scopes

C = common_pb2


@dataclass(frozen=True)
class MethodPolicy:
    backend: str
    access: Mapping[Kind, str]
    patient_field: str | None = None
    categories: tuple[int, ...] = ()
    action: int = audit_pb2.ACTION_UNSPECIFIED

    @property
    def concerns_patient(self) -> bool:
        return self.patient_field is not None


_SUMMARY = "/samhandling.summary.v1.PatientSummaryService/"
_AUDIT = "/samhandling.audit.v1.AuditService/"
_CAPACITY = "/samhandling.capacity.v1.CapacityService/"
_CONSENT = "/samhandling.consent.v1.ConsentService/"

_PATIENT_ONLY = {Kind.PATIENT: scopes.PATIENT}

POLICIES: Mapping[str, MethodPolicy] = {
    _SUMMARY + "GetPatientSummary": MethodPolicy(
        backend="summary",
        access={Kind.SYSTEM: scopes.SUMMARY_READ, Kind.PERSONNEL: scopes.SUMMARY_READ},
        patient_field="patient_id",
        categories=(C.DATA_CATEGORY_MUNICIPAL_SERVICES, C.DATA_CATEGORY_VITAL_SIGNS),
        action=audit_pb2.ACTION_READ,
    ),
    _AUDIT + "ListEvents": MethodPolicy(
        backend="audit",
        access={Kind.AUDITOR: scopes.AUDIT_READ, Kind.PATIENT: scopes.PATIENT},
        patient_field="patient_id",
        categories=(C.DATA_CATEGORY_ACCESS_LOG,),
        action=audit_pb2.ACTION_READ,
    ),
    _CAPACITY + "GetCapacityOverview": MethodPolicy(
        backend="capacity",
        access={Kind.SYSTEM: scopes.CAPACITY_READ, Kind.PERSONNEL: scopes.CAPACITY_READ},
    ),
    _CAPACITY + "ReportCapacity": MethodPolicy(
        backend="capacity",
        access={Kind.SYSTEM: scopes.CAPACITY_REPORT, Kind.PERSONNEL: scopes.CAPACITY_REPORT},
    ),
    _CONSENT + "CreateRule": MethodPolicy(
        backend="consent", access=_PATIENT_ONLY, patient_field="patient_id",
        categories=(C.DATA_CATEGORY_CONSENT,), action=audit_pb2.ACTION_CREATE,
    ),
    _CONSENT + "ListRules": MethodPolicy(
        backend="consent", access=_PATIENT_ONLY, patient_field="patient_id",
        categories=(C.DATA_CATEGORY_CONSENT,), action=audit_pb2.ACTION_READ,
    ),
    _CONSENT + "RevokeRule": MethodPolicy(
        backend="consent", access=_PATIENT_ONLY, patient_field="patient_id",
        categories=(C.DATA_CATEGORY_CONSENT,), action=audit_pb2.ACTION_DELETE,
    ),
    _CONSENT + "ListRuleHistory": MethodPolicy(
        backend="consent", access=_PATIENT_ONLY, patient_field="patient_id",
        categories=(C.DATA_CATEGORY_CONSENT,), action=audit_pb2.ACTION_READ,
    ),
    _CONSENT + "ListNotifications": MethodPolicy(
        backend="consent", access=_PATIENT_ONLY, patient_field="patient_id",
        categories=(C.DATA_CATEGORY_CONSENT,), action=audit_pb2.ACTION_READ,
    ),
    # The log's proofs, for auditors verifying it (services/cli/audit_verify.py). They concern
    # the log, not one patient: no consent decision; GetLeaves shows event data only for the
    # auditor's own organisation's events.
    **{
        _AUDIT + name: MethodPolicy(backend="audit", access={Kind.AUDITOR: scopes.AUDIT_READ}, action=audit_pb2.ACTION_READ)
        for name in (
            "GetCheckpoint", "GetVerifierKey", "GetInclusionProof", "GetConsistencyProof", "GetLeaves", "GetEventProof"
        )
    },
    # Searches and exports over the auditor's own organisation's events; the audit service
    # scopes them by the assertion's organisation, whatever the filter says.
    _AUDIT + "SearchEvents": MethodPolicy(
        backend="audit", access={Kind.AUDITOR: scopes.AUDIT_READ}, action=audit_pb2.ACTION_SEARCH
    ),
    _AUDIT + "ListSignals": MethodPolicy(
        backend="audit", access={Kind.AUDITOR: scopes.AUDIT_READ}, action=audit_pb2.ACTION_SEARCH
    ),
    _AUDIT + "ExportEvents": MethodPolicy(
        backend="audit", access={Kind.AUDITOR: scopes.AUDIT_READ}, action=audit_pb2.ACTION_SEARCH
    ),
    # Not listed, so refused at the gateway: ConsentService/CheckAccess and
    # AuditService/AppendEvents are internal calls of the gateway itself.
}
