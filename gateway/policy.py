"""The one declarative table of what every gateway method requires.

For each full gRPC method: which principal kinds may call it and the scope each kind needs,
where the patient id sits in the request, which data categories it touches, the audit
action, and the backend that serves it. A method missing from the table is denied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from google.protobuf.message import Message

from samhandling.audit.v1 import audit_pb2
from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import escalation_pb2
from services.platform.vocabulary import ActorKind as Kind

from . import oauth_scopes

C = common_pb2
_WRITE_ACTIONS = frozenset({audit_pb2.ACTION_CREATE, audit_pb2.ACTION_UPDATE, audit_pb2.ACTION_DELETE})


@dataclass(frozen=True)
class PatientLookup:
    """Where the patient of a request that names only a record of the backend (an escalation) is
    learnt: the backend's internal `method`, asked with the caller's own assertion and the
    request's `field`, answers the record's `patient_id` (or, to a caller the record is not
    shared with, exactly what it answers for an id that does not exist)."""

    field: str
    method: str
    request_type: type[Message]
    response_type: type[Message]


@dataclass(frozen=True)
class MethodPolicy:
    backend: str
    access: Mapping[Kind, str]
    patient_field: str | None = None
    # The patient is the one of the record the request names, asked of the backend first.
    patient_lookup: PatientLookup | None = None
    # The patient is the calling person (a question about themselves, such as whom they
    # represent): consent decides and the audit log records it as a read of their own data.
    patient_is_caller: bool = False
    categories: tuple[common_pb2.DataCategory, ...] = ()
    action: audit_pb2.Action = audit_pb2.ACTION_UNSPECIFIED
    # The action consent decides, where it is not the audited one: acting on an escalation
    # changes the escalation (audited as an update) but is decided as the read of the patient's
    # vital signs it is (a restriction applies, as to opening it).
    decided_as: audit_pb2.Action | None = None

    @property
    def concerns_patient(self) -> bool:
        return self.patient_field is not None or self.patient_is_caller or self.patient_lookup is not None

    @property
    def writes(self) -> bool:
        """Registers or changes patient data (consent decides writes by their own rules)."""
        return (self.decided_as or self.action) in _WRITE_ACTIONS


_SUMMARY = "/samhandling.summary.v1.PatientSummaryService/"
_AUDIT = "/samhandling.audit.v1.AuditService/"
_CAPACITY = "/samhandling.capacity.v1.CapacityService/"
_CONSENT = "/samhandling.consent.v1.ConsentService/"
_ESCALATION = "/samhandling.summary.v1.EscalationService/"

_PATIENT_ONLY = {Kind.PATIENT: oauth_scopes.PATIENT}
# Patients (and their representatives) read their own summary; consent decides.
_SUMMARY_READERS = {
    Kind.SYSTEM: oauth_scopes.SUMMARY_READ,
    Kind.PERSONNEL: oauth_scopes.SUMMARY_READ,
    Kind.PATIENT: oauth_scopes.PATIENT,
}
_SUMMARY_WRITERS = {Kind.SYSTEM: oauth_scopes.SUMMARY_WRITE, Kind.PERSONNEL: oauth_scopes.SUMMARY_WRITE}
_CAPACITY_READERS = {Kind.SYSTEM: oauth_scopes.CAPACITY_READ, Kind.PERSONNEL: oauth_scopes.CAPACITY_READ}
# Care organisations reading patient data they reach by a record's id, not the patient's (no patient kind).
_CARE_READERS = {Kind.SYSTEM: oauth_scopes.SUMMARY_READ, Kind.PERSONNEL: oauth_scopes.SUMMARY_READ}
_INBOX_READERS = {Kind.SYSTEM: oauth_scopes.ESCALATION_INBOX, Kind.PERSONNEL: oauth_scopes.ESCALATION_INBOX}
# Internal, never routed from outside: the gateway's own question before it decides (below).
LOOKUP_ESCALATION_PATIENT = _ESCALATION + "LookupEscalationPatient"
ESCALATION_PATIENT = PatientLookup(
    "escalation_id",
    LOOKUP_ESCALATION_PATIENT,
    escalation_pb2.LookupEscalationPatientRequest,
    escalation_pb2.LookupEscalationPatientResponse,
)

POLICIES: Mapping[str, MethodPolicy] = {
    **{
        _SUMMARY + name: MethodPolicy(
            backend="summary",
            access=_SUMMARY_READERS,
            patient_field="patient_id",
            categories=(C.DATA_CATEGORY_MUNICIPAL_SERVICES, C.DATA_CATEGORY_VITAL_SIGNS),
            action=audit_pb2.ACTION_READ,
        )
        for name in ("GetPatientSummary", "ExportPatientBundle")
    },
    _SUMMARY + "GetMunicipalServiceStatus": MethodPolicy(
        backend="summary",
        access=_SUMMARY_READERS,
        patient_field="patient_id",
        categories=(C.DATA_CATEGORY_MUNICIPAL_SERVICES,),
        action=audit_pb2.ACTION_READ,
    ),
    _SUMMARY + "ListVitalSigns": MethodPolicy(
        backend="summary",
        access=_SUMMARY_READERS,
        patient_field="patient_id",
        categories=(C.DATA_CATEGORY_VITAL_SIGNS,),
        action=audit_pb2.ACTION_READ,
    ),
    _SUMMARY + "CreateMunicipalService": MethodPolicy(
        backend="summary",
        access=_SUMMARY_WRITERS,
        patient_field="patient_id",
        categories=(C.DATA_CATEGORY_MUNICIPAL_SERVICES,),
        action=audit_pb2.ACTION_CREATE,
    ),
    **{
        _SUMMARY + name: MethodPolicy(
            backend="summary",
            access=_SUMMARY_WRITERS,
            patient_field="patient_id",
            categories=(C.DATA_CATEGORY_MUNICIPAL_SERVICES,),
            action=audit_pb2.ACTION_UPDATE,
        )
        for name in ("UpdateMunicipalService", "EndMunicipalService", "SetMunicipalServiceOnHold")
    },
    _SUMMARY + "RecordVitalSigns": MethodPolicy(
        backend="summary",
        access=_SUMMARY_WRITERS,
        patient_field="patient_id",
        categories=(C.DATA_CATEGORY_VITAL_SIGNS,),
        action=audit_pb2.ACTION_CREATE,
    ),
    # The SpO2 scale is a clinician's choice: a health person answers for it, not a system.
    _SUMMARY + "SetSpo2Scale": MethodPolicy(
        backend="summary",
        access={Kind.PERSONNEL: oauth_scopes.SUMMARY_WRITE},
        patient_field="patient_id",
        categories=(C.DATA_CATEGORY_VITAL_SIGNS,),
        action=audit_pb2.ACTION_UPDATE,
    ),
    _AUDIT + "ListEvents": MethodPolicy(
        backend="audit",
        access={Kind.AUDITOR: oauth_scopes.AUDIT_READ, Kind.PATIENT: oauth_scopes.PATIENT},
        patient_field="patient_id",
        categories=(C.DATA_CATEGORY_ACCESS_LOG,),
        action=audit_pb2.ACTION_READ,
    ),
    # A patient's proof of one of their log's events: routed, decided and audited as ListEvents
    # (the access log category), so a representative gets it exactly when they may read the log.
    _AUDIT + "GetPatientEventProof": MethodPolicy(
        backend="audit",
        access={Kind.PATIENT: oauth_scopes.PATIENT},
        patient_field="patient_id",
        categories=(C.DATA_CATEGORY_ACCESS_LOG,),
        action=audit_pb2.ACTION_READ,
    ),
    # Capacity and alerts hold no patient data: no consent decision and no audit event. Streams
    # are authenticated when they start and closed when the token expires.
    **{
        _CAPACITY + name: MethodPolicy(backend="capacity", access=_CAPACITY_READERS)
        for name in ("GetCapacityOverview", "ListCapacityHistory", "WatchCapacity", "ListAlerts", "WatchAlerts")
    },
    _CAPACITY + "ReportCapacity": MethodPolicy(
        backend="capacity",
        access={Kind.SYSTEM: oauth_scopes.CAPACITY_REPORT, Kind.PERSONNEL: oauth_scopes.CAPACITY_REPORT},
    ),
    # Alerts are raised by the emergency chain (AMK, hospitals) holding the alerts scope; any
    # participant of the acute chain acknowledges for its organisation (the service checks it was targeted).
    _CAPACITY + "RaiseAlert": MethodPolicy(
        backend="capacity",
        access={Kind.SYSTEM: oauth_scopes.ALERTS, Kind.PERSONNEL: oauth_scopes.ALERTS},
    ),
    _CAPACITY + "AcknowledgeAlert": MethodPolicy(backend="capacity", access=_CAPACITY_READERS),
    _CONSENT + "CreateRule": MethodPolicy(
        backend="consent",
        access=_PATIENT_ONLY,
        patient_field="patient_id",
        categories=(C.DATA_CATEGORY_CONSENT,),
        action=audit_pb2.ACTION_CREATE,
    ),
    _CONSENT + "ListRules": MethodPolicy(
        backend="consent",
        access=_PATIENT_ONLY,
        patient_field="patient_id",
        categories=(C.DATA_CATEGORY_CONSENT,),
        action=audit_pb2.ACTION_READ,
    ),
    _CONSENT + "RevokeRule": MethodPolicy(
        backend="consent",
        access=_PATIENT_ONLY,
        patient_field="patient_id",
        categories=(C.DATA_CATEGORY_CONSENT,),
        action=audit_pb2.ACTION_DELETE,
    ),
    _CONSENT + "ListRuleHistory": MethodPolicy(
        backend="consent",
        access=_PATIENT_ONLY,
        patient_field="patient_id",
        categories=(C.DATA_CATEGORY_CONSENT,),
        action=audit_pb2.ACTION_READ,
    ),
    _CONSENT + "ListNotifications": MethodPolicy(
        backend="consent",
        access=_PATIENT_ONLY,
        patient_field="patient_id",
        categories=(C.DATA_CATEGORY_CONSENT,),
        action=audit_pb2.ACTION_READ,
    ),
    # Whom the caller represents: about the caller, so no request field names a patient; the
    # read is decided and audited as the caller's own consent data (patient = the caller).
    _CONSENT + "ListRepresentations": MethodPolicy(
        backend="consent",
        access=_PATIENT_ONLY,
        patient_is_caller=True,
        categories=(C.DATA_CATEGORY_CONSENT,),
        action=audit_pb2.ACTION_READ,
    ),
    # The log's proofs, for auditors verifying it (services/cli/audit_verify.py). They concern
    # the log, not one patient: no consent decision; GetLeaves shows event data only for the
    # auditor's own organisation's events.
    **{
        _AUDIT + name: MethodPolicy(
            backend="audit", access={Kind.AUDITOR: oauth_scopes.AUDIT_READ}, action=audit_pb2.ACTION_READ
        )
        for name in (
            "GetCheckpoint",
            "GetVerifierKey",
            "GetInclusionProof",
            "GetConsistencyProof",
            "GetLeaves",
            "GetEventProof",
        )
    },
    # Searches and exports over the auditor's own organisation's events; the audit service
    # scopes them by the assertion's organisation, whatever the filter says.
    _AUDIT + "SearchEvents": MethodPolicy(
        backend="audit", access={Kind.AUDITOR: oauth_scopes.AUDIT_READ}, action=audit_pb2.ACTION_SEARCH
    ),
    _AUDIT + "ListSignals": MethodPolicy(
        backend="audit", access={Kind.AUDITOR: oauth_scopes.AUDIT_READ}, action=audit_pb2.ACTION_SEARCH
    ),
    _AUDIT + "ExportEvents": MethodPolicy(
        backend="audit", access={Kind.AUDITOR: oauth_scopes.AUDIT_READ}, action=audit_pb2.ACTION_SEARCH
    ),
    # NEWS2 escalation (docs/escalation.md "Through the gateway"). The inbox and its statistics
    # hold no patient data: no consent decision and no audit event, as for capacity.
    **{
        _ESCALATION + name: MethodPolicy(backend="summary", access=_INBOX_READERS)
        for name in ("ListEscalations", "WatchEscalations", "GetEscalationStatistics")
    },
    # Opening an escalation reads the vital signs of its patient, learnt from the escalation id.
    **{
        _ESCALATION + name: MethodPolicy(
            backend="summary",
            access=_CARE_READERS,
            patient_lookup=ESCALATION_PATIENT,
            categories=(C.DATA_CATEGORY_VITAL_SIGNS,),
            action=audit_pb2.ACTION_READ,
        )
        for name in ("GetEscalation", "ExportEscalation")
    },
    # Acting on one is decided as that read (a restriction needs an emergency opening, a blocked
    # person is refused) and audited as the update it is.
    **{
        _ESCALATION + name: MethodPolicy(
            backend="summary",
            access=_CARE_READERS,
            patient_lookup=ESCALATION_PATIENT,
            categories=(C.DATA_CATEGORY_VITAL_SIGNS,),
            action=audit_pb2.ACTION_UPDATE,
            decided_as=audit_pb2.ACTION_READ,
        )
        for name in ("AcknowledgeEscalation", "DeclineEscalation", "PlanReassessment", "ResolveEscalation")
    },
    # A concern is recorded on the care relationship as a measurement is (consent's write rules).
    _ESCALATION + "RaiseConcern": MethodPolicy(
        backend="summary",
        access=_SUMMARY_WRITERS,
        patient_field="patient_id",
        categories=(C.DATA_CATEGORY_VITAL_SIGNS,),
        action=audit_pb2.ACTION_UPDATE,
    ),
    # The patient (and representatives) see their own episodes, as their other reads.
    _ESCALATION + "ListPatientEscalations": MethodPolicy(
        backend="summary",
        access=_SUMMARY_READERS,
        patient_field="patient_id",
        categories=(C.DATA_CATEGORY_VITAL_SIGNS,),
        action=audit_pb2.ACTION_READ,
    ),
    # A health person enrols (the table cannot say "hospital": the gateway knows no organisation's
    # kind; the summary service holds the enrolment to the caller's organisation).
    # Ending names the patient enrolled as enrolling does (the summary service answers another
    # patient's enrolment as an unknown id).
    **{
        _ESCALATION + name: MethodPolicy(
            backend="summary",
            access={Kind.PERSONNEL: oauth_scopes.SUMMARY_WRITE},
            patient_field="patient_id",
            categories=(C.DATA_CATEGORY_VITAL_SIGNS,),
            action=audit_pb2.ACTION_UPDATE,
        )
        for name in ("EnrolFollowUp", "EndFollowUp")
    },
    # The auditors' escalation signals (late acknowledgements, exhausted chains): an organisation's
    # auditors on the audit scope, as AuditService/ListSignals, which the summary service scopes to
    # the assertion's legal entity. No patient data: no consent decision and, as ListSignals, no
    # audit event.
    _ESCALATION + "ListEscalationSignals": MethodPolicy(
        backend="summary", access={Kind.AUDITOR: oauth_scopes.AUDIT_READ}, action=audit_pb2.ACTION_SEARCH
    ),
    # Not listed, so refused at the gateway: ConsentService/CheckAccess and
    # AuditService/AppendEvents are internal calls of the gateway itself, and
    # EscalationService/LookupEscalationPatient the gateway's own question above.
}
